//! The banner's configuration. With a server, everything the banner needs is in the markup
//! the server renders. A static site (no server) writes it as JSON inside
//! `<script type="application/json" id="consentry-config">`: `revision`, `categories`,
//! `privacy`, optionally `gpcDenies`, `texts` (English by default), `language` (the
//! language of `texts`, `en` by default) and `translations`.
//!
//! A category may list its `cookies` (`{name, prefix, provider, purpose, duration, domain,
//! path}`) and its `services` (`{id, label, description, cookies}`). `translations` maps a
//! language tag to texts in that language, plus optional `categories` (`{<id>: {label,
//! description}}`, services as `<category>:<service>`). Right-to-left languages (Arabic,
//! Hebrew, Persian, Urdu, …) are known by their tag.

use crate::markup::{Category, CookieInfo, RIGHT_TO_LEFT, STANDARD_CATEGORIES, Texts};
use crate::text::{push_json_string, push_json_strings, push_u32};

/// The texts of one more language (static mode).
///
/// ```
/// use consentry_banner::config::{Config, Translation};
/// use consentry_banner::markup::Texts;
///
/// let german = Translation {
///     language: "de".into(),
///     texts: Texts { accept_all: "Alle akzeptieren".into(), ..Texts::default() },
///     categories: vec![("analytics".into(), "Statistik".into(), "Zählt Besuche.".into())],
/// };
/// let json = Config { translations: vec![german], ..Config::default() }.to_json();
/// assert!(json.contains(r#""de":{"title":"#) && json.contains(r#""analytics":{"label":"Statistik""#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Translation {
    /// Its BCP 47 tag (`de`, `pt-BR`, `ar`).
    pub language: String,
    /// The texts; any left out are the default language's.
    pub texts: Texts,
    /// `(id, label, description)` of categories (and services, `<category>:<service>`) in
    /// this language.
    pub categories: Vec<(String, String, String)>,
}

/// The banner's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// The consent endpoint; `None` for static mode (the choice kept in a first-party cookie).
    pub endpoint: Option<String>,
    /// The policy revision.
    pub revision: u32,
    /// Whether the visitor has decided (server mode; static mode reads its cookie).
    pub decided: bool,
    /// Categories granted now, `necessary` included.
    pub granted: Vec<String>,
    /// Whether the server saw Global Privacy Control.
    pub gpc: bool,
    /// Categories Global Privacy Control denies unless ticked explicitly.
    pub gpc_denies: Vec<String>,
    /// Static mode: the categories, in policy order.
    pub categories: Vec<Category>,
    /// Static mode: the texts (English when absent).
    pub texts: Option<Texts>,
    /// Static mode: the privacy policy's URL.
    pub privacy_url: String,
    /// Static mode: the language of `texts` (empty: `en`).
    pub language: String,
    /// Static mode: more languages, picked from the page's `lang` or the browser's.
    pub translations: Vec<Translation>,
}

impl Config {
    /// The JSON the banner reads, safe to place inside a `<script>` element. Empty static-mode
    /// fields are left out.
    ///
    /// ```
    /// use consentry_banner::config::Config;
    ///
    /// let config = Config {
    ///     endpoint: Some("/consent".into()),
    ///     revision: 3,
    ///     granted: vec!["necessary".into()],
    ///     gpc_denies: vec!["marketing".into()],
    ///     ..Config::default()
    /// };
    /// assert_eq!(
    ///     config.to_json(),
    ///     r#"{"endpoint":"/consent","revision":3,"decided":false,"granted":["necessary"],"gpc":false,"gpcDenies":["marketing"]}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"endpoint\":");
        match &self.endpoint {
            Some(endpoint) => push_json_string(&mut out, endpoint),
            None => out.push_str("null"),
        }
        out.push_str(",\"revision\":");
        push_u32(&mut out, self.revision);
        out.push_str(",\"decided\":");
        out.push_str(if self.decided { "true" } else { "false" });
        out.push_str(",\"granted\":");
        push_json_strings(&mut out, &self.granted);
        out.push_str(",\"gpc\":");
        out.push_str(if self.gpc { "true" } else { "false" });
        out.push_str(",\"gpcDenies\":");
        push_json_strings(&mut out, &self.gpc_denies);
        if !self.categories.is_empty() {
            out.push_str(",\"categories\":[");
            for (index, category) in self.categories.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str("{\"id\":");
                push_json_string(&mut out, &category.id);
                out.push_str(",\"label\":");
                push_json_string(&mut out, &category.label);
                out.push_str(",\"description\":");
                push_json_string(&mut out, &category.description);
                out.push_str(",\"locked\":");
                out.push_str(if category.locked { "true" } else { "false" });
                push_cookies(&mut out, &category.cookies);
                if !category.services.is_empty() {
                    out.push_str(",\"services\":[");
                    for (index, service) in category.services.iter().enumerate() {
                        if index > 0 {
                            out.push(',');
                        }
                        out.push_str("{\"id\":");
                        push_json_string(&mut out, &service.id);
                        out.push_str(",\"label\":");
                        push_json_string(&mut out, &service.label);
                        out.push_str(",\"description\":");
                        push_json_string(&mut out, &service.description);
                        push_cookies(&mut out, &service.cookies);
                        out.push('}');
                    }
                    out.push(']');
                }
                out.push('}');
            }
            out.push(']');
        }
        if let Some(t) = &self.texts {
            out.push_str(",\"texts\":");
            push_texts(&mut out, t, None);
        }
        if !self.privacy_url.is_empty() {
            out.push_str(",\"privacy\":");
            push_json_string(&mut out, &self.privacy_url);
        }
        if !self.language.is_empty() {
            out.push_str(",\"language\":");
            push_json_string(&mut out, &self.language);
        }
        if !self.translations.is_empty() {
            out.push_str(",\"translations\":{");
            for (index, translation) in self.translations.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                push_json_string(&mut out, &translation.language);
                out.push(':');
                push_texts(&mut out, &translation.texts, Some(translation));
            }
            out.push('}');
        }
        out.push('}');
        out
    }
}

/// `{"title":…,…}`, with a translation's `categories`.
fn push_texts(out: &mut String, texts: &Texts, translation: Option<&Translation>) {
    out.push('{');
    for (index, (name, value)) in text_fields(texts).iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        push_json_string(out, name);
        out.push(':');
        push_json_string(out, value);
    }
    if let Some(translation) = translation
        && !translation.categories.is_empty()
    {
        out.push_str(",\"categories\":{");
        for (index, (id, label, description)) in translation.categories.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            push_json_string(out, id);
            out.push_str(":{\"label\":");
            push_json_string(out, label);
            out.push_str(",\"description\":");
            push_json_string(out, description);
            out.push('}');
        }
        out.push('}');
    }
    out.push('}');
}

/// `,"cookies":[…]` when there are any.
fn push_cookies(out: &mut String, cookies: &[CookieInfo]) {
    if cookies.is_empty() {
        return;
    }
    out.push_str(",\"cookies\":[");
    for (index, cookie) in cookies.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        push_json_string(out, &cookie.name);
        if cookie.prefix {
            out.push_str(",\"prefix\":true");
        }
        for (key, value) in [
            ("provider", &cookie.provider),
            ("purpose", &cookie.purpose),
            ("duration", &cookie.duration),
            ("path", &cookie.path),
        ] {
            if !value.is_empty() {
                out.push_str(",\"");
                out.push_str(key);
                out.push_str("\":");
                push_json_string(out, value);
            }
        }
        if let Some(domain) = &cookie.domain {
            out.push_str(",\"domain\":");
            push_json_string(out, domain);
        }
        out.push('}');
    }
    out.push(']');
}

/// How many texts [`Texts`] has.
pub const TEXTS: usize = 16;

/// The JSON name of each text, in [`Texts`]' field order: what `texts` and each translation
/// may hold.
///
/// ```
/// use consentry_banner::config::{TEXT_NAMES, text_fields};
/// use consentry_banner::markup::Texts;
///
/// assert_eq!(TEXT_NAMES[2], "acceptAll");
/// assert_eq!(text_fields(&Texts::default())[2], ("acceptAll", "Accept all"));
/// ```
pub const TEXT_NAMES: [&str; TEXTS] = [
    "title",
    "body",
    "acceptAll",
    "rejectAll",
    "customize",
    "save",
    "privacyLink",
    "settingsLink",
    "settingsTitle",
    "alwaysOn",
    "gpcHonoured",
    "cookies",
    "cookieName",
    "cookieProvider",
    "cookiePurpose",
    "cookieDuration",
];

/// Each text with its JSON name ([`TEXT_NAMES`]).
pub fn text_fields(t: &Texts) -> [(&'static str, &str); TEXTS] {
    [
        (TEXT_NAMES[0], &t.title),
        (TEXT_NAMES[1], &t.body),
        (TEXT_NAMES[2], &t.accept_all),
        (TEXT_NAMES[3], &t.reject_all),
        (TEXT_NAMES[4], &t.customize),
        (TEXT_NAMES[5], &t.save),
        (TEXT_NAMES[6], &t.privacy_link),
        (TEXT_NAMES[7], &t.settings_link),
        (TEXT_NAMES[8], &t.settings_title),
        (TEXT_NAMES[9], &t.always_on),
        (TEXT_NAMES[10], &t.gpc_honoured),
        (TEXT_NAMES[11], &t.cookies),
        (TEXT_NAMES[12], &t.cookie_name),
        (TEXT_NAMES[13], &t.cookie_provider),
        (TEXT_NAMES[14], &t.cookie_purpose),
        (TEXT_NAMES[15], &t.cookie_duration),
    ]
}

/// The keys a static configuration may hold (what [`Config::to_json`] writes; the static
/// build's loader names any other on the console).
pub const KEYS: [&str; 11] = [
    "endpoint",
    "revision",
    "decided",
    "granted",
    "gpc",
    "gpcDenies",
    "categories",
    "texts",
    "privacy",
    "language",
    "translations",
];

/// What the static site's script (`site.js`, in the npm package's loader) takes from this
/// crate at build time, so these lists live in one place: `(name, JSON)` pairs for the
/// configuration's keys, the text names, the English texts (in [`TEXT_NAMES`] order), the
/// `necessary` category (id, label, description), the right-to-left languages and the
/// choice cookie's name.
///
/// ```
/// let constants = consentry_banner::config::site_constants();
/// assert!(constants.contains(&("CHOICE_COOKIE", r#""consentry_choice""#.to_owned())));
/// ```
pub fn site_constants() -> [(&'static str, String); 6] {
    let json = |items: &[&str]| {
        let mut out = String::new();
        push_json_strings(&mut out, items);
        out
    };
    let texts = Texts::default();
    let english = text_fields(&texts).map(|(_, text)| text);
    let (id, label, description) = STANDARD_CATEGORIES[0];
    let mut cookie = String::new();
    push_json_string(&mut cookie, crate::protocol::CHOICE_COOKIE);
    [
        ("CONFIG_KEYS", json(&KEYS)),
        ("TEXT_NAMES", json(&TEXT_NAMES)),
        ("DEFAULT_TEXTS", json(&english)),
        ("NECESSARY", json(&[id, label, description])),
        ("RTL", json(&RIGHT_TO_LEFT)),
        ("CHOICE_COOKIE", cookie),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_constants_are_json_in_the_crates_order() {
        let constants = site_constants();
        let value = |name: &str| -> serde_json::Value {
            let (_, json) = constants.iter().find(|(n, _)| *n == name).expect(name);
            serde_json::from_str(json).expect("valid JSON")
        };
        let english = value("DEFAULT_TEXTS");
        assert_eq!(english.as_array().map(Vec::len), Some(TEXTS));
        assert_eq!(english[2], Texts::default().accept_all);
        assert_eq!(
            english[1],
            Texts::default().body,
            "the curly quotes survive"
        );
        assert_eq!(value("TEXT_NAMES")[7], "settingsLink");
        assert_eq!(value("NECESSARY")[0], "necessary");
        assert_eq!(value("RTL")[0], "ar");
        assert_eq!(
            value("CONFIG_KEYS").as_array().map(Vec::len),
            Some(KEYS.len())
        );
    }
}
