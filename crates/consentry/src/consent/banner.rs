//! Server-rendered banner markup: a plain form that posts to the consent endpoint, so the
//! choice works without JavaScript. The WASM banner enhances the same markup.

use std::fmt::Write as _;

use super::{Category, Consent};
use crate::html::escape;

/// The banner's texts in one language. `Default` is English.
///
/// ```
/// use consentry::BannerTexts;
///
/// let german = BannerTexts {
///     title: "Cookies auf dieser Website".into(),
///     accept_all: "Alle akzeptieren".into(),
///     reject_all: "Alle ablehnen".into(),
///     ..BannerTexts::default()
/// };
/// # let _ = german;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs, reason = "each field is the text its name says")]
pub struct BannerTexts {
    pub title: String,
    pub body: String,
    pub accept_all: String,
    pub reject_all: String,
    pub customize: String,
    pub save: String,
    pub privacy_link: String,
    pub settings_link: String,
    pub settings_title: String,
    pub always_on: String,
    pub gpc_honoured: String,
}

impl Default for BannerTexts {
    fn default() -> Self {
        Self {
            title: "Cookies on this site".into(),
            body: "We use strictly necessary cookies to run this site. With your consent we \
                   also use cookies for the purposes below. You can change your choice at any \
                   time under \u{201c}Cookie settings\u{201d}."
                .into(),
            accept_all: "Accept all".into(),
            reject_all: "Reject all".into(),
            customize: "Customize".into(),
            save: "Save choices".into(),
            privacy_link: "Privacy policy".into(),
            settings_link: "Cookie settings".into(),
            settings_title: "Cookie settings".into(),
            always_on: "Always on".into(),
            gpc_honoured: "Your browser sent a Global Privacy Control signal. We honour it: \
                           marketing stays off unless you switch it on here."
                .into(),
        }
    }
}

/// Renders the banner. `open` shows the per-category switches expanded, reflecting the
/// current choice (the settings page); otherwise every optional switch is unticked.
pub(crate) fn render(consent: &Consent, return_to: &str, open: bool) -> String {
    let config = &consent.runtime.config;
    let texts = config.texts_for(&consent.language);
    let base = escape(&config.base_path);
    let mut html = String::with_capacity(2048);
    let _ = write!(
        html,
        r#"<section id="consentry" class="consentry" aria-labelledby="consentry-title" data-revision="{revision}" data-endpoint="{base}">
<link rel="stylesheet" href="{base}/banner.css">
<form class="consentry-form" method="post" action="{base}">
<input type="hidden" name="return_to" value="{return_to}">
<input type="hidden" name="revision" value="{revision}">
{referral}<h2 id="consentry-title">{title}</h2>
<p>{body} <a href="{privacy}">{privacy_link}</a></p>
"#,
        revision = consent.state.revision,
        referral = consent
            .pending_referral
            .as_deref()
            .map_or_else(String::new, |token| {
                format!(
                    "<input type=\"hidden\" name=\"referral\" value=\"{}\">\n",
                    escape(token)
                )
            }),
        return_to = escape(return_to),
        title = escape(if open {
            &texts.settings_title
        } else {
            &texts.title
        }),
        body = escape(&texts.body),
        privacy = escape(&config.privacy_url),
        privacy_link = escape(&texts.privacy_link),
    );
    if consent.state.gpc {
        let _ = writeln!(
            html,
            r#"<p class="consentry-gpc" data-gpc>{}</p>"#,
            escape(&texts.gpc_honoured)
        );
    }
    let _ = write!(
        html,
        r#"<div class="consentry-actions">
<button type="submit" class="consentry-button" name="action" value="accept_all">{accept}</button>
<button type="submit" class="consentry-button" name="action" value="reject_all">{reject}</button>
</div>
<details class="consentry-customize"{open}>
<summary>{customize}</summary>
<fieldset>
<legend class="consentry-visually-hidden">{customize}</legend>
"#,
        accept = escape(&texts.accept_all),
        reject = escape(&texts.reject_all),
        customize = escape(&texts.customize),
        open = if open { " open" } else { "" },
    );
    for def in consent.policy().categories() {
        let id = escape(def.category().as_str());
        let text = def.text_for(&consent.language);
        let locked = def.category() == &Category::NECESSARY;
        let checked = locked || (open && consent.state.decided && consent.allows(def.category()));
        let _ = write!(
            html,
            r#"<div class="consentry-category">
<input type="checkbox" role="switch" id="consentry-{id}" name="granted" value="{id}"{checked}{locked} aria-describedby="consentry-{id}-desc">
<label for="consentry-{id}">{label}{always_on}</label>
<p id="consentry-{id}-desc">{description}</p>
</div>
"#,
            checked = if checked { " checked" } else { "" },
            locked = if locked { " disabled" } else { "" },
            label = escape(&text.label),
            always_on = if locked {
                format!(" <small>({})</small>", escape(&texts.always_on))
            } else {
                String::new()
            },
            description = escape(&text.description),
        );
    }
    let _ = write!(
        html,
        r#"</fieldset>
<button type="submit" class="consentry-button" name="action" value="save">{save}</button>
</details>
</form>
</section>
"#,
        save = escape(&texts.save),
    );
    html
}

/// The banner's stylesheet, served at `{base}/banner.css`. Themable through the custom
/// properties at its top.
pub(crate) const CSS: &str = include_str!("banner.css");
