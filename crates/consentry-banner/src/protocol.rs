//! The contract between a server and the banner, in one place both sides import: the
//! unsigned choice cookie, and the element ids, data attributes and form fields the banner
//! reads from the markup [`markup::render`](crate::markup::render) writes.
//!
//! # The choice cookie
//!
//! In static mode (no server) the banner keeps the visitor's choice in a first-party cookie
//! named [`CHOICE_COOKIE`], valued
//! `3.<revision>.<unix seconds>.<consent id>.<granted id>.<granted id>…` ([`choice_value`],
//! [`parse_choice`]). The consent id is random, made in the browser at the first decision
//! and kept across decisions. The older `2.<revision>.<unix seconds>.<granted id>…` and
//! `1.<revision>.<granted id>…` (without a time) are still read. Nobody signs it, so the two sides read it differently, on purpose:
//!
//! - the **banner** uses it only when its revision is the page's revision; a choice made
//!   under another revision asks the visitor again;
//! - a **server** never honours its grants (a grant counts only when the server signed
//!   it), and honours its denials only when the choice is **newer than the server's signed
//!   decision** (and not from the future). A visitor who denies on a static page after
//!   accepting on a server page is denied; a choice cookie planted by a sibling subdomain,
//!   or left over from earlier, cannot override a decision the visitor makes afterwards.
//!   A choice without a time counts only when there is no signed decision.
//!
//! ```
//! use consentry_banner::protocol::{choice_value, parse_choice};
//!
//! let value = choice_value(3, 1_800_000_000, "5f0c", &["necessary".to_owned(), "analytics".to_owned()]);
//! assert_eq!(value, "3.3.1800000000.5f0c.necessary.analytics");
//! let choice = parse_choice(&value).unwrap();
//! assert_eq!((choice.revision, choice.time, choice.id), (3, Some(1_800_000_000), Some("5f0c")));
//! assert_eq!(choice.granted().collect::<Vec<_>>(), ["necessary", "analytics"]);
//! assert_eq!(parse_choice("2.3.1800000000.analytics").unwrap().id, None);
//! assert_eq!(parse_choice("1.3.analytics").unwrap().time, None);
//! assert!(parse_choice("4.3.analytics").is_none(), "unknown format version");
//! ```

use crate::text::{SplitByte, parse_u32, push_u32, split_byte};

/// Name of the first-party cookie holding the choice in static mode.
pub const CHOICE_COOKIE: &str = "consentry_choice";

/// The `<section>` holding the banner (hidden once the visitor decided).
pub const SECTION_ID: &str = "consentry";
/// The banner's heading, which labels the section and the settings dialog.
pub const TITLE_ID: &str = "consentry-title";
/// The modal `<dialog>` the banner opens the settings in.
pub const DIALOG_ID: &str = "consentry-dialog";
/// Static mode: the `<script type="application/json">` holding the configuration.
pub const CONFIG_ID: &str = "consentry-config";
/// Prefix of each category switch's id (`consentry-<category>`).
pub const SWITCH_ID_PREFIX: &str = "consentry-";

/// On the section: the policy revision the markup was rendered for.
pub const REVISION_ATTR: &str = "data-revision";
/// On the section: the label of the "Cookie settings" control the banner adds once the
/// visitor decided (when the page has no `data-consent-open` control of its own).
///
/// ```
/// use consentry_banner::markup::{render, Banner, Texts};
/// use consentry_banner::protocol::SETTINGS_LABEL_ATTR;
///
/// let texts = Texts { settings_link: "Cookie-Einstellungen".into(), ..Texts::default() };
/// let html = render(&Banner {
///     action: "/consent", stylesheet: None, revision: 1, return_to: "/", referral: None,
///     privacy_url: "/privacy", notice: None, gpc: false, open: false, granted: &[], hidden: false,
///     categories: &[], texts: &texts, language: Some("de"), consent_id: None, decided_at: None,
/// });
/// assert!(html.contains(&format!(r#"{SETTINGS_LABEL_ATTR}="Cookie-Einstellungen""#)));
/// ```
pub const SETTINGS_LABEL_ATTR: &str = "data-settings-label";
/// On the notice shown when the server saw Global Privacy Control.
pub const GPC_ATTR: &str = "data-gpc";
/// On any element of the page: a click opens the settings.
pub const OPEN_ATTR: &str = "data-consent-open";
/// On an inert `<script type="text/plain">` or `<iframe>`: the category it needs.
pub const CATEGORY_ATTR: &str = "data-consent";
/// On an inert element: the source to load once its category is granted.
pub const SRC_ATTR: &str = "data-src";

/// Form field: one granted category per value.
pub const GRANTED_FIELD: &str = "granted";
/// Form field (the submit buttons' name): [`ACCEPT_ALL`], [`REJECT_ALL`] or [`SAVE`].
pub const ACTION_FIELD: &str = "action";
/// Form field: the policy revision the visitor saw.
pub const REVISION_FIELD: &str = "revision";
/// Form field: the relative path the no-JavaScript form comes back to.
pub const RETURN_TO_FIELD: &str = "return_to";
/// Form field: a signed referral waiting for consent.
pub const REFERRAL_FIELD: &str = "referral";

/// Action: grant every category (Global Privacy Control still denies its categories).
pub const ACCEPT_ALL: &str = "accept_all";
/// Action: only the locked (`necessary`) categories.
pub const REJECT_ALL: &str = "reject_all";
/// Action: the ticked switches.
pub const SAVE: &str = "save";

/// Selector: the Global Privacy Control notice.
pub const GPC_SELECTOR: &str = "[data-gpc]";
/// Selector: elements that open the settings.
pub const OPEN_SELECTOR: &str = "[data-consent-open]";
/// Selector: the category switches.
pub const SWITCHES_SELECTOR: &str = "input[name=granted]";
/// Selector: the pending referral field.
pub const REFERRAL_SELECTOR: &str = "input[name=referral]";
/// Selector: inert iframes waiting for a category.
pub const INERT_IFRAMES_SELECTOR: &str = "iframe[data-consent][data-src]";
/// Selector: inert scripts waiting for a category.
pub const INERT_SCRIPTS_SELECTOR: &str = "script[type='text/plain'][data-consent]";

/// A choice cookie's value, parsed.
#[derive(Debug, Clone)]
pub struct Choice<'a> {
    /// The revision the choice was made under.
    pub revision: u32,
    /// When the choice was made (unix seconds, by the browser's clock); `None` for the
    /// older format without a time.
    pub time: Option<u32>,
    /// The consent id the browser made at its first decision; `None` in older formats.
    pub id: Option<&'a str>,
    granted: SplitByte<'a>,
}

impl<'a> Choice<'a> {
    /// The category ids the choice lists as granted.
    pub fn granted(self) -> impl Iterator<Item = &'a str> {
        self.granted.filter(|id| !id.is_empty())
    }
}

/// The choice cookie's value for `granted` under `revision`, made at `time` (unix seconds)
/// by the browser whose consent id is `id` (no `.` or `;` in it).
pub fn choice_value(revision: u32, time: u32, id: &str, granted: &[String]) -> String {
    let mut out = String::from("3.");
    push_u32(&mut out, revision);
    out.push_str(".");
    push_u32(&mut out, time);
    out.push_str(".");
    out.push_str(id);
    for id in granted {
        out.push_str(".");
        out.push_str(id);
    }
    out
}

/// Parses a choice cookie's value; `None` when it is not one.
pub fn parse_choice(value: &str) -> Option<Choice<'_>> {
    let mut parts = split_byte(value, b'.');
    let version = match parts.next()? {
        "1" => 1,
        "2" => 2,
        "3" => 3,
        _ => return None,
    };
    let revision = parse_u32(parts.next()?)?;
    let time = if version > 1 {
        Some(parse_u32(parts.next()?)?)
    } else {
        None
    };
    let id = if version > 2 {
        Some(parts.next().filter(|id| !id.is_empty())?)
    } else {
        None
    };
    Some(Choice {
        revision,
        time,
        id,
        granted: parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markup::{Banner, Category, Texts, render};

    #[test]
    fn choice_values_parse_leniently_but_safely() {
        fn ids(value: &str) -> Option<Vec<&str>> {
            parse_choice(value).map(|c| c.granted().collect())
        }
        assert_eq!(
            ids("1.3.analytics.preferences"),
            Some(vec!["analytics", "preferences"])
        );
        assert_eq!(ids("1.3."), Some(vec![]));
        assert_eq!(ids("1.3"), Some(vec![]));
        assert_eq!(parse_choice("1.3").unwrap().revision, 3);
        assert_eq!(ids("2.3.analytics"), None, "a timed choice needs its time");
        assert_eq!(ids("2.3.17"), Some(vec![]));
        assert_eq!(ids("4.3.1800000000.abc.analytics"), None);
        assert_eq!(ids("1.x.analytics"), None);
        assert_eq!(ids("1."), None);
        assert_eq!(ids(""), None);
        assert_eq!(ids("3.3.17"), None, "a version 3 choice needs its id");
        assert_eq!(ids("3.3.17."), None, "and a non-empty one");
        assert_eq!(ids("3.3.17.abc"), Some(vec![]));
        let round = choice_value(7, 1_800_000_000, "abc", &["a".into(), "b-c".into()]);
        assert_eq!(ids(&round), Some(vec!["a", "b-c"]));
        assert_eq!(parse_choice(&round).unwrap().time, Some(1_800_000_000));
        assert_eq!(parse_choice(&round).unwrap().id, Some("abc"));
    }

    #[test]
    fn selectors_name_the_attributes_and_fields_above() {
        for (selector, name) in [
            (GPC_SELECTOR, GPC_ATTR),
            (OPEN_SELECTOR, OPEN_ATTR),
            (SWITCHES_SELECTOR, GRANTED_FIELD),
            (REFERRAL_SELECTOR, REFERRAL_FIELD),
            (INERT_IFRAMES_SELECTOR, CATEGORY_ATTR),
            (INERT_IFRAMES_SELECTOR, SRC_ATTR),
            (INERT_SCRIPTS_SELECTOR, CATEGORY_ATTR),
        ] {
            assert!(
                selector.contains(&format!("[{name}]")) || selector.contains(&format!("={name}]")),
                "{selector} names {name}"
            );
        }
    }

    /// The markup the server renders carries every id, attribute and field named here.
    #[test]
    fn the_markup_writes_what_the_banner_reads() {
        let categories = [Category {
            id: "analytics".into(),
            label: "Analytics".into(),
            description: "Counts".into(),
            locked: false,
            ..Category::default()
        }];
        let html = render(&Banner {
            action: "/consent",
            stylesheet: None,
            revision: 4,
            return_to: "/",
            referral: Some("token"),
            privacy_url: "/privacy",
            notice: None,
            gpc: true,
            open: false,
            granted: &[],
            hidden: false,
            categories: &categories,
            texts: &Texts::default(),
            language: None,
            consent_id: None,
            decided_at: None,
        });
        for id in [SECTION_ID, TITLE_ID] {
            assert!(html.contains(&format!(r#"id="{id}""#)), "{id}");
        }
        assert!(html.contains(&format!(r#"id="{SWITCH_ID_PREFIX}analytics""#)));
        assert!(html.contains(&format!(r#"{REVISION_ATTR}="4""#)));
        assert!(html.contains(&format!("{GPC_ATTR}>")));
        for field in [
            GRANTED_FIELD,
            ACTION_FIELD,
            REVISION_FIELD,
            RETURN_TO_FIELD,
            REFERRAL_FIELD,
        ] {
            assert!(html.contains(&format!(r#"name="{field}""#)), "{field}");
        }
        for action in [ACCEPT_ALL, REJECT_ALL, SAVE] {
            assert!(html.contains(&format!(r#"value="{action}""#)), "{action}");
        }
    }
}
