//! The static configuration as the static build's loader hands it to the WebAssembly.
//! The loader parses and checks the page's JSON (JSON is native there, and each mistake is
//! named on the console), then writes the fields the banner reads, in a fixed order.

use crate::config::{Config, Translation, text_fields_mut};
use crate::markup::{Category, CookieInfo, Service, Texts};
use crate::text::{parse_u32, split_once_byte};

/// The static configuration as the loader hands it over: having parsed and checked the
/// page's JSON (`configure` in `loader.js`), it writes the fields in a fixed order, joined
/// by NUL (`\0`, dropped from the texts themselves):
///
/// ```text
/// revision gpc privacy |gpcDenies| id… language texts×16
/// |translations| (tag texts×16 |labels| (id label description)…)…
/// |categories| (id label description locked cookies |services| (id label description cookies)…)…
/// cookies = |cookies| (name prefix provider purpose duration domain path)…
/// ```
///
/// `|x|` is a count in decimal, a flag is `1` or empty, and texts follow
/// [`TEXT_NAMES`](crate::config::TEXT_NAMES); an empty text keeps the configured language's
/// (English by default). Whatever the input, reading ends with the fields: a count beyond
/// them reads nothing more.
pub(crate) fn read(flat: &str) -> Config {
    let mut fields = Fields(Some(flat));
    let revision = parse_u32(fields.next()).unwrap_or(0);
    let gpc = fields.flag();
    let privacy_url = fields.text();
    let gpc_denies = fields.list(Fields::text);
    let language = fields.text();
    let texts = fields.texts(&Texts::default());
    let translations = fields.list(|fields| Translation {
        language: fields.text(),
        texts: fields.texts(&texts),
        categories: fields.list(|fields| (fields.text(), fields.text(), fields.text())),
    });
    let categories = fields.list(|fields| Category {
        id: fields.text(),
        label: fields.text(),
        description: fields.text(),
        locked: fields.flag(),
        cookies: fields.cookies(),
        services: fields.list(|fields| Service {
            id: fields.text(),
            label: fields.text(),
            description: fields.text(),
            cookies: fields.cookies(),
        }),
    });
    Config {
        revision,
        gpc,
        gpc_denies,
        categories,
        texts: Some(texts),
        privacy_url,
        language,
        translations,
        ..Config::default()
    }
}

/// The fields [`read`] reads, front to back; `None` once they are used up.
struct Fields<'a>(Option<&'a str>);

impl<'a> Fields<'a> {
    fn next(&mut self) -> &'a str {
        let rest = self.0.unwrap_or_default();
        if let Some((field, tail)) = split_once_byte(rest, 0) {
            self.0 = Some(tail);
            field
        } else {
            self.0 = None;
            rest
        }
    }

    fn text(&mut self) -> String {
        self.next().to_owned()
    }

    fn flag(&mut self) -> bool {
        !self.next().is_empty()
    }

    /// A count, then that many items (fewer when the fields end first).
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> T) -> Vec<T> {
        let mut items = Vec::new();
        self.each(&mut |fields| items.push(item(fields)));
        items
    }

    /// Reads a count, then calls `item` that many times, or until the fields end. One
    /// function for every kind of list (not one copy per item type in the WebAssembly).
    #[inline(never)]
    fn each(&mut self, item: &mut dyn FnMut(&mut Self)) {
        let count = parse_u32(self.next()).unwrap_or(0);
        for _ in 0..count {
            if self.0.is_none() {
                break;
            }
            item(self);
        }
    }

    /// The texts, each over `base`'s when empty.
    fn texts(&mut self, base: &Texts) -> Texts {
        let mut texts = base.clone();
        for (_, field) in text_fields_mut(&mut texts) {
            let given = self.next();
            if !given.is_empty() {
                given.clone_into(field);
            }
        }
        texts
    }

    fn cookies(&mut self) -> Vec<CookieInfo> {
        self.list(|fields| CookieInfo {
            name: fields.text(),
            prefix: fields.flag(),
            provider: fields.text(),
            purpose: fields.text(),
            duration: fields.text(),
            domain: Some(fields.text()).filter(|domain| !domain.is_empty()),
            path: fields.text(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TEXTS;
    use proptest::prelude::*;

    /// The fields of a configuration, as the loader writes them.
    fn flat(fields: &[&str]) -> String {
        fields.join("\0")
    }

    #[test]
    fn the_loaders_fields_read_back_into_a_configuration() {
        let mut texts = vec![""; TEXTS];
        texts[2] = "Alle akzeptieren";
        let mut german = vec!["de"];
        german.extend(&texts);
        let fields: Vec<&str> = [
            &["7", "1", "/privacy", "1", "marketing", "en"][..],
            &[""; TEXTS],
            &["1"],
            &german,
            &["1", "analytics", "Statistik", "Zählt Besuche."],
            &["2"],
            &["analytics", "Analytics", "Counts visits.", "", "1"],
            &[
                "_ga",
                "1",
                "Google",
                "Counts",
                "2 years",
                ".example.com",
                "/",
            ],
            &["1", "matomo", "Matomo", "", "0"],
            &["necessary", "Needed", "", "1", "0", "0"],
        ]
        .concat();
        let config = read(&flat(&fields));
        assert_eq!((config.revision, config.gpc), (7, true));
        assert_eq!(config.privacy_url, "/privacy");
        assert_eq!(config.gpc_denies, ["marketing"]);
        assert_eq!(config.language, "en");
        assert_eq!(
            config.texts,
            Some(Texts::default()),
            "empty texts keep English"
        );
        let german = &config.translations[0];
        assert_eq!(german.language, "de");
        assert_eq!(german.texts.accept_all, "Alle akzeptieren");
        assert_eq!(german.texts.save, "Save choices");
        assert_eq!(
            german.categories,
            [(
                "analytics".into(),
                "Statistik".into(),
                "Zählt Besuche.".into()
            )]
        );
        let analytics = &config.categories[0];
        assert_eq!(
            (analytics.id.as_str(), analytics.locked),
            ("analytics", false)
        );
        assert_eq!(
            analytics.cookies,
            [CookieInfo {
                name: "_ga".into(),
                prefix: true,
                provider: "Google".into(),
                purpose: "Counts".into(),
                duration: "2 years".into(),
                domain: Some(".example.com".into()),
                path: "/".into(),
            }]
        );
        assert_eq!(analytics.services[0].id, "matomo");
        assert!(analytics.services[0].cookies.is_empty());
        assert!(config.categories[1].locked);
        assert_eq!(config.categories.len(), 2);
    }

    #[test]
    fn fields_that_end_early_or_lie_about_counts_read_safely() {
        assert_eq!(
            read(""),
            Config {
                texts: Some(Texts::default()),
                ..Config::default()
            }
        );
        let huge = flat(&["1", "", "", "4294967295", "a"]);
        let config = read(&huge);
        assert_eq!(
            config.gpc_denies,
            ["a"],
            "a count beyond the fields reads what is there"
        );
        assert!(config.categories.is_empty());
        let junk = flat(&["x", "yes", "", "-1"]);
        assert_eq!(read(&junk).revision, 0);
    }

    proptest! {
        /// Any text at all reads without a panic, and never into more items than it has
        /// fields.
        #[test]
        fn any_fields_read_safely(fields in proptest::collection::vec("[0-9a-z]{0,3}", 0..40)) {
            let text = flat(&fields.iter().map(String::as_str).collect::<Vec<_>>());
            let config = read(&text);
            let items = config.categories.len() + config.translations.len() + config.gpc_denies.len();
            prop_assert!(items <= fields.len());
        }
    }
}
