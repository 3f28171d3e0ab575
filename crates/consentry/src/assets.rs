//! The banner's files, served under content-hashed names with immutable caching: the
//! stylesheet always, the WebAssembly banner and its loader with feature `banner` (embedded
//! from `www/`).

use std::sync::OnceLock;

/// The stylesheet, served at `{base}/banner.<hash>.css` (and `{base}/banner.css`).
pub(crate) const CSS: &str = consentry_banner::CSS;

#[cfg(feature = "banner")]
static MODULE: &[u8] = include_bytes!("../www/server/consentry-banner.js");
#[cfg(feature = "banner")]
static WASM: &[u8] = include_bytes!("../www/server/consentry-banner.wasm");

/// The first 8 hex digits of the SHA-256 of `bytes`: content-hashed file names.
fn short_hash(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};

    Sha256::digest(bytes)
        .iter()
        .take(4)
        .fold(String::with_capacity(8), |mut out, b| {
            out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
            out
        })
}

struct Names {
    stylesheet: String,
    #[cfg(feature = "banner")]
    module: String,
    /// The module loads the WebAssembly under this name (written in by the build).
    #[cfg(feature = "banner")]
    wasm: String,
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| Names {
        stylesheet: format!("banner.{}.css", short_hash(CSS.as_bytes())),
        #[cfg(feature = "banner")]
        module: format!("banner.{}.js", short_hash(MODULE)),
        #[cfg(feature = "banner")]
        wasm: format!("banner.{}.wasm", short_hash(WASM)),
    })
}

/// The stylesheet's content-hashed file name, cached for good.
pub(crate) fn stylesheet_name() -> &'static str {
    &names().stylesheet
}

/// The banner module's file name under the endpoint's base path.
#[cfg(feature = "banner")]
pub(crate) fn loader_name() -> &'static str {
    &names().module
}

/// The file called `name`, with its media type, when it is served under a hashed name.
pub(crate) fn get(name: &str) -> Option<(&'static [u8], &'static str)> {
    let names = names();
    if name == names.stylesheet {
        return Some((CSS.as_bytes(), "text/css; charset=utf-8"));
    }
    #[cfg(feature = "banner")]
    if name == names.module {
        return Some((MODULE, "text/javascript; charset=utf-8"));
    } else if name == names.wasm {
        return Some((WASM, "application/wasm"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_resolve_and_others_do_not() {
        let css = stylesheet_name();
        assert!(css.starts_with("banner.") && css.len() == "banner.01234567.css".len());
        assert_eq!(get(css), Some((CSS.as_bytes(), "text/css; charset=utf-8")));
        assert!(
            get("banner.css").is_none(),
            "only hashed names are immutable"
        );
        assert!(get("../Cargo.toml").is_none());
    }

    #[cfg(feature = "banner")]
    #[test]
    fn the_loader_names_the_served_webassembly() {
        let module = loader_name();
        assert!(module.starts_with("banner.") && module.len() == "banner.01234567.js".len());
        assert_eq!(
            get(module),
            Some((MODULE, "text/javascript; charset=utf-8"))
        );
        let wasm = &names().wasm;
        assert_eq!(get(wasm), Some((WASM, "application/wasm")));
        assert!(WASM.starts_with(b"\0asm"), "a WebAssembly module");
        let text = std::str::from_utf8(MODULE).unwrap();
        assert!(
            text.contains(wasm.as_str()),
            "the module loads the WebAssembly under its served name"
        );
        assert!(get("banner.wasm").is_none(), "only hashed names are served");
    }
}
