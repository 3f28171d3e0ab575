//! The server-rendered banner: the shared markup renderer fed from the request's consent,
//! plus (feature `banner`) the configuration element and the WebAssembly loader.

use consentry_banner::markup::{self, Banner, Category as BannerCategory};

use super::{Category, Consent};

pub use consentry_banner::markup::Texts as BannerTexts;

/// The stylesheet served at `{base}/banner.css`.
pub(crate) const CSS: &str = consentry_banner::CSS;

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
    let stylesheet = format!("{}/banner.css", config.base_path);
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
