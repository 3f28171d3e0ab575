//! The server-rendered banner: the shared markup renderer fed from the request's consent,
//! plus (feature `banner`) the configuration element and the WebAssembly loader.

use consentry_banner::markup::{self, Banner, Category as BannerCategory};

use super::{Category, Consent};

pub use consentry_banner::markup::Texts as BannerTexts;

/// The stylesheet served at `{base}/banner.<hash>.css` (and `{base}/banner.css`).
pub(crate) const CSS: &str = consentry_banner::CSS;

/// The first 8 hex digits of the SHA-256 of `bytes`: content-hashed file names.
pub(crate) fn short_hash(bytes: &[u8]) -> String {
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

/// The stylesheet's content-hashed file name, cached for good.
pub(crate) fn stylesheet_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| format!("banner.{}.css", short_hash(CSS.as_bytes())))
}

fn categories(consent: &Consent) -> Vec<BannerCategory> {
    consent
        .policy()
        .categories()
        .iter()
        .map(|def| {
            let text = def.text_for(&consent.language);
            BannerCategory {
                id: def.category().as_str().to_owned(),
                label: text.label.clone(),
                description: text.description.clone(),
                locked: def.category() == &Category::NECESSARY,
            }
        })
        .collect()
}

/// Renders the banner markup. `open` shows the settings view reflecting the current choice;
/// `hidden` renders it for the WebAssembly banner to open in place later.
pub(crate) fn render(consent: &Consent, return_to: &str, open: bool, hidden: bool) -> String {
    let config = &consent.runtime.config;
    let categories = categories(consent);
    let stylesheet = format!("{}/{}", config.base_path, stylesheet_name());
    let policy = consent.runtime.policy();
    let gpc_denies: Vec<String> = policy
        .names(policy.gpc_mask())
        .map(|c| c.as_str().to_owned())
        .collect();
    let granted: Vec<String> = if consent.state.decided {
        consent
            .granted()
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect()
    } else {
        Vec::new()
    };
    markup::render(&Banner {
        action: &config.base_path,
        stylesheet: Some(&stylesheet),
        revision: consent.state.revision,
        return_to,
        referral: consent.pending_referral.as_deref(),
        privacy_url: &config.privacy_url,
        gpc: consent.state.gpc,
        gpc_denies: &gpc_denies,
        open,
        granted: &granted,
        hidden,
        categories: &categories,
        texts: config.texts_for(&consent.language),
    })
}

/// The WebAssembly banner's loader. It reads everything it needs from the markup.
#[cfg(feature = "banner")]
pub(crate) fn script(consent: &Consent) -> String {
    let nonce = consent.nonce().map_or_else(String::new, |n| {
        format!(r#" nonce="{}""#, crate::html::escape(n))
    });
    format!(
        "<script type=\"module\" src=\"{}/{}\"{nonce}></script>\n",
        crate::html::escape(&consent.runtime.config.base_path),
        crate::assets::loader_name(),
    )
}
