//! The banner's configuration. With a server, everything the banner needs is in the markup
//! the server renders. A static site (no server) writes it as JSON inside
//! `<script type="application/json" id="consentry-config">`: `revision`, `categories`,
//! `privacy`, optionally `gpcDenies` and `texts` (English by default).

use crate::markup::{Category, Texts};
use crate::text::{push_json_string, push_json_strings, push_u32};

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
                out.push('}');
            }
            out.push(']');
        }
        if let Some(t) = &self.texts {
            out.push_str(",\"texts\":{");
            for (index, (name, value)) in text_fields(t).iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                push_json_string(&mut out, name);
                out.push(':');
                push_json_string(&mut out, value);
            }
            out.push('}');
        }
        if !self.privacy_url.is_empty() {
            out.push_str(",\"privacy\":");
            push_json_string(&mut out, &self.privacy_url);
        }
        out.push('}');
        out
    }
}

/// Each text with its JSON name, for writing into it (static mode reads `texts` so).
pub fn text_fields_mut(t: &mut Texts) -> [(&'static str, &mut String); 11] {
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
    } = t;
    [
        ("title", title),
        ("body", body),
        ("acceptAll", accept_all),
        ("rejectAll", reject_all),
        ("customize", customize),
        ("save", save),
        ("privacyLink", privacy_link),
        ("settingsLink", settings_link),
        ("settingsTitle", settings_title),
        ("alwaysOn", always_on),
        ("gpcHonoured", gpc_honoured),
    ]
}

/// Each text with its JSON name (the same order and names as [`text_fields_mut`]).
pub fn text_fields(t: &Texts) -> [(&'static str, &str); 11] {
    [
        ("title", &t.title),
        ("body", &t.body),
        ("acceptAll", &t.accept_all),
        ("rejectAll", &t.reject_all),
        ("customize", &t.customize),
        ("save", &t.save),
        ("privacyLink", &t.privacy_link),
        ("settingsLink", &t.settings_link),
        ("settingsTitle", &t.settings_title),
        ("alwaysOn", &t.always_on),
        ("gpcHonoured", &t.gpc_honoured),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

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
