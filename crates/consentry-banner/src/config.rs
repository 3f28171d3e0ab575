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

use crate::markup::{Category, CookieInfo, STANDARD_CATEGORIES, Texts, primary_subtag};
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

/// Which of the `available` languages to show for the `wanted` ones (the page's `lang`,
/// then the browser's languages, in order): the first exact match of a wanted tag, else
/// the first language sharing its primary subtag; `None` when nothing matches.
///
/// ```
/// use consentry_banner::config::pick_language;
///
/// let available = ["en", "de", "pt-BR"];
/// assert_eq!(pick_language(&available, ["de-AT", "en"]), Some(1));
/// assert_eq!(pick_language(&available, ["PT-br"]), Some(2));
/// assert_eq!(pick_language(&available, ["pt"]), Some(2));
/// assert_eq!(pick_language(&available, ["fr"]), None);
/// ```
pub fn pick_language<'a>(
    available: &[&str],
    wanted: impl IntoIterator<Item = &'a str>,
) -> Option<usize> {
    wanted
        .into_iter()
        .filter(|tag| !tag.is_empty())
        .find_map(|tag| {
            available
                .iter()
                .position(|a| a.eq_ignore_ascii_case(tag))
                .or_else(|| {
                    available
                        .iter()
                        .position(|a| primary_subtag(a).eq_ignore_ascii_case(primary_subtag(tag)))
                })
        })
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

/// Each text with its JSON name ([`TEXT_NAMES`]), for writing into it (static mode reads
/// `texts` so).
pub fn text_fields_mut(t: &mut Texts) -> [(&'static str, &mut String); TEXTS] {
    let Texts {
        title,
        body,
        accept_all,
        reject_all,
        customize,
        save,
        privacy_link,
        settings_link,
        settings_title,
        always_on,
        gpc_honoured,
        cookies,
        cookie_name,
        cookie_provider,
        cookie_purpose,
        cookie_duration,
    } = t;
    [
        (TEXT_NAMES[0], title),
        (TEXT_NAMES[1], body),
        (TEXT_NAMES[2], accept_all),
        (TEXT_NAMES[3], reject_all),
        (TEXT_NAMES[4], customize),
        (TEXT_NAMES[5], save),
        (TEXT_NAMES[6], privacy_link),
        (TEXT_NAMES[7], settings_link),
        (TEXT_NAMES[8], settings_title),
        (TEXT_NAMES[9], always_on),
        (TEXT_NAMES[10], gpc_honoured),
        (TEXT_NAMES[11], cookies),
        (TEXT_NAMES[12], cookie_name),
        (TEXT_NAMES[13], cookie_provider),
        (TEXT_NAMES[14], cookie_purpose),
        (TEXT_NAMES[15], cookie_duration),
    ]
}

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

/// Makes sure `necessary` is there, first and locked, whatever the configuration says:
/// it is always granted, even by a configuration with a mistake in it.
///
/// ```
/// use consentry_banner::config::ensure_necessary;
///
/// let mut categories = Vec::new();
/// ensure_necessary(&mut categories);
/// assert_eq!((categories[0].id.as_str(), categories[0].locked), ("necessary", true));
/// ```
pub fn ensure_necessary(categories: &mut Vec<Category>) {
    let (id, label, description) = STANDARD_CATEGORIES[0];
    match categories.iter().position(|c| c.id == id) {
        Some(index) => {
            let mut necessary = categories.remove(index);
            necessary.locked = true;
            categories.insert(0, necessary);
        }
        None => categories.insert(
            0,
            Category {
                id: id.to_owned(),
                label: label.to_owned(),
                description: description.to_owned(),
                locked: true,
                ..Category::default()
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn necessary_is_always_there_first_and_locked() {
        let analytics = Category {
            id: "analytics".into(),
            ..Category::default()
        };
        let mut none = Vec::new();
        ensure_necessary(&mut none);
        assert_eq!((none[0].id.as_str(), none[0].locked), ("necessary", true));
        let mut late = vec![
            analytics,
            Category {
                id: "necessary".into(),
                label: "Needed".into(),
                description: String::new(),
                locked: false,
                ..Category::default()
            },
        ];
        ensure_necessary(&mut late);
        assert_eq!(late[0].label, "Needed");
        assert!(late[0].locked);
        assert_eq!(late.len(), 2);
    }

    #[test]
    fn both_text_field_lists_name_the_same_fields() {
        let mut texts = Texts::default();
        for (index, (_, field)) in text_fields_mut(&mut texts).into_iter().enumerate() {
            *field = index.to_string();
        }
        let mut check = Texts::default();
        let names: Vec<&str> = text_fields_mut(&mut check)
            .iter()
            .map(|(n, _)| *n)
            .collect();
        let read: Vec<(&str, &str)> = text_fields(&texts).to_vec();
        for (index, (name, value)) in read.iter().enumerate() {
            assert_eq!(*name, names[index]);
            assert_eq!(*value, index.to_string());
        }
    }
}
