//! The WebAssembly banner's files, embedded from `www/` and served under content-hashed
//! names with immutable caching (feature `banner`).

use std::sync::OnceLock;

use crate::consent::banner::short_hash;

static MODULE: &[u8] = include_bytes!("../www/server/consentry-banner.js");
static WASM: &[u8] = include_bytes!("../www/server/consentry-banner.wasm");

struct Names {
    module: String,
    wasm: String,
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| Names {
        module: format!("banner.{}.js", short_hash(MODULE)),
        // The module loads the WebAssembly under this name (written in by the build).
        wasm: format!("banner.{}.wasm", short_hash(WASM)),
    })
}

/// The banner module's file name under the endpoint's base path.
pub(crate) fn loader_name() -> &'static str {
    &names().module
}

/// The file called `name`, with its media type.
pub(crate) fn get(name: &str) -> Option<(&'static [u8], &'static str)> {
    let names = names();
    if name == names.module {
        Some((MODULE, "text/javascript; charset=utf-8"))
    } else if name == names.wasm {
        Some((WASM, "application/wasm"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_resolve_and_others_do_not() {
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
        assert!(get("../Cargo.toml").is_none());
    }
}
