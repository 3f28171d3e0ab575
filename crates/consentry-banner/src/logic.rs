//! What the banner decides, independent of the DOM.

use crate::markup::{Category, CookieInfo};
use crate::protocol;
use crate::text::{skip_spaces, split_byte, split_once_byte};

/// What the visitor clicked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Accept all (Global Privacy Control still denies its categories).
    AcceptAll,
    /// Reject all: only locked categories.
    RejectAll,
    /// Save the ticked switches.
    Save(Vec<String>),
}

impl Action {
    /// The action a submit button's value names, with the ticked switches for `save`.
    pub fn from_button(value: &str, ticked: Vec<String>) -> Self {
        match value {
            protocol::ACCEPT_ALL => Self::AcceptAll,
            protocol::REJECT_ALL => Self::RejectAll,
            _ => Self::Save(ticked),
        }
    }
}

/// The category part of a granted id: `analytics` of `analytics:matomo` (a service inside
/// it) and of `analytics`.
///
/// ```
/// use consentry_banner::logic::category_of;
///
/// assert_eq!(category_of("analytics:matomo"), "analytics");
/// assert_eq!(category_of("analytics"), "analytics");
/// ```
pub fn category_of(id: &str) -> &str {
    split_once_byte(id, b':').map_or(id, |(category, _)| category)
}

/// The categories (and services, `<category>:<service>`) granted by `action`, in the order
/// of `switches` (`(id, locked)` pairs), locked ones included. Unknown ids in `Save` are
/// dropped. Under Global Privacy Control (`gpc`), "Accept all" leaves the `gpc_denies`
/// categories (and their services) off; ticking them explicitly still grants them. A
/// category is granted when any of its services is; a category saved without any of its
/// services grants them all.
///
/// ```
/// use consentry_banner::logic::{granted, Action};
///
/// let switches = [("necessary", true), ("analytics", false), ("analytics:matomo", false), ("analytics:plausible", false)];
/// let save = |ids: &[&str]| granted(switches, &[], &Action::Save(ids.iter().map(|s| s.to_string()).collect()), false);
/// assert_eq!(save(&["analytics:matomo"]), ["necessary", "analytics", "analytics:matomo"]);
/// assert_eq!(save(&["analytics"]), ["necessary", "analytics", "analytics:matomo", "analytics:plausible"]);
/// assert_eq!(save(&[]), ["necessary"]);
/// ```
pub fn granted<S: AsRef<str>>(
    switches: impl IntoIterator<Item = (S, bool)>,
    gpc_denies: &[String],
    action: &Action,
    gpc: bool,
) -> Vec<String> {
    // Each switch with whether the action picked it.
    let picked: Vec<(S, bool)> = switches
        .into_iter()
        .map(|(id, locked)| {
            let on = locked
                || match action {
                    Action::AcceptAll => {
                        !(gpc && gpc_denies.iter().any(|d| d == category_of(id.as_ref())))
                    }
                    Action::RejectAll => false,
                    Action::Save(ticked) => ticked.iter().any(|t| t == id.as_ref()),
                };
            (id, on)
        })
        .collect();
    // Whether a picked switch satisfies `test`.
    let any = |test: &dyn Fn(&str) -> bool| picked.iter().any(|(id, on)| *on && test(id.as_ref()));
    let mut out = Vec::new();
    for (id, on) in &picked {
        let id = id.as_ref();
        let category = category_of(id);
        let a_service =
            |other: &str| other.len() > category.len() && category_of(other) == category;
        let granted = *on
            || if category.len() == id.len() {
                // A category with a picked service.
                any(&a_service)
            } else {
                // A service of a category picked without any of its services.
                any(&|other| other == category) && !any(&a_service)
            };
        if granted {
            out.push(id.to_owned());
        }
    }
    out
}

/// `(id, locked)` pairs of categories and their services, for [`granted`].
pub fn switches(categories: &[Category]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for category in categories {
        out.push((category.id.clone(), category.locked));
        for service in &category.services {
            out.push((category.service_id(&service.id), category.locked));
        }
    }
    out
}

/// Whether an inert element marked `data-consent="<condition>"` may run: the condition
/// names a granted category or service, or, as `!<id>`, one the visitor decided against.
///
/// ```
/// use consentry_banner::logic::allowed;
///
/// let granted = ["necessary".to_owned(), "analytics".to_owned()];
/// assert!(allowed("analytics", true, &granted));
/// assert!(allowed("!marketing", true, &granted));
/// assert!(!allowed("!marketing", false, &granted), "nothing is rejected before a decision");
/// assert!(!allowed("!analytics", true, &granted));
/// ```
pub fn allowed(condition: &str, decided: bool, granted: &[String]) -> bool {
    match condition.strip_prefix('!') {
        Some(id) => decided && !granted.iter().any(|g| g == id),
        None => granted.iter().any(|g| g == condition),
    }
}

/// The `document.cookie` assignments that delete the declared cookies of every category
/// and service not granted. A cookie declared by exact name is deleted whether or not the
/// page sees it (one set for another path is not in `document.cookie`); a prefix deletes
/// the matching cookies among those the page has now (`cookies`, as `document.cookie`
/// gives them). Locked categories are never touched. A cookie with a declared domain is
/// deleted both with that domain and host-only.
///
/// ```
/// use consentry_banner::logic::deletions;
/// use consentry_banner::markup::{Category, CookieInfo};
///
/// let analytics = Category {
///     id: "analytics".into(),
///     cookies: vec![
///         CookieInfo { name: "_ga".into(), prefix: true, ..CookieInfo::default() },
///         CookieInfo { name: "_sa".into(), path: "/shop".into(), ..CookieInfo::default() },
///     ],
///     ..Category::default()
/// };
/// let gone = deletions("_ga=1; _ga_X=2; lang=en", &[analytics], &["necessary".to_owned()]);
/// assert_eq!(gone, ["_ga=;max-age=0;path=/", "_ga_X=;max-age=0;path=/", "_sa=;max-age=0;path=/shop"]);
/// ```
pub fn deletions(cookies: &str, categories: &[Category], granted: &[String]) -> Vec<String> {
    let not_granted = |id: &str| !granted.iter().any(|g| g == id);
    let mut out = Vec::new();
    for category in categories.iter().filter(|c| !c.locked) {
        if not_granted(&category.id) {
            delete_declared(&mut out, cookies, &category.cookies);
        }
        for service in &category.services {
            if not_granted(&category.id) || not_granted(&category.service_id(&service.id)) {
                delete_declared(&mut out, cookies, &service.cookies);
            }
        }
    }
    out
}

/// [`deletions`] of the `declared` cookies.
fn delete_declared(out: &mut Vec<String>, cookies: &str, declared: &[CookieInfo]) {
    for cookie in declared.iter().filter(|c| !c.name.is_empty()) {
        if cookie.prefix {
            for (name, _) in
                cookie_pairs(cookies).filter(|(name, _)| name.starts_with(&cookie.name))
            {
                delete(out, name, cookie);
            }
        } else {
            delete(out, &cookie.name, cookie);
        }
    }
}

/// The deletion of the cookie `name` as `declared` sets it: host-only, and with its domain
/// when it has one.
fn delete(out: &mut Vec<String>, name: &str, declared: &CookieInfo) {
    let mut deletion = String::from(name);
    deletion.push_str("=;max-age=0;path=");
    deletion.push_str(if declared.path.is_empty() {
        "/"
    } else {
        &declared.path
    });
    if let Some(domain) = &declared.domain {
        let host_only = deletion.clone();
        out.push(host_only);
        deletion.push_str(";domain=");
        deletion.push_str(domain);
    }
    out.push(deletion);
}

/// Whether any category granted before is not granted any more.
pub fn withdrew(before: &[String], after: &[String]) -> bool {
    before.iter().any(|id| !after.contains(id))
}

/// The `(name, value)` pairs of a `document.cookie` string.
///
/// ```
/// use consentry_banner::logic::cookie_pairs;
///
/// let pairs: Vec<_> = cookie_pairs("a=1; b=x=y; junk").collect();
/// assert_eq!(pairs, [("a", "1"), ("b", "x=y")]);
/// ```
pub fn cookie_pairs(cookies: &str) -> impl Iterator<Item = (&str, &str)> {
    split_byte(cookies, b';').filter_map(|pair| split_once_byte(skip_spaces(pair), b'='))
}

/// The choice stored in `document.cookie`; `None` when absent or malformed. The banner uses
/// it only when its revision is the page's (another revision asks the visitor again). See
/// [`protocol`].
///
/// ```
/// use consentry_banner::logic::stored_choice;
///
/// let choice = stored_choice("lang=de; consentry_choice=3.2.1800000000.ab12.necessary").unwrap();
/// assert_eq!((choice.revision, choice.id), (2, Some("ab12")));
/// assert!(stored_choice("lang=de").is_none());
/// ```
pub fn stored_choice(cookies: &str) -> Option<protocol::Choice<'_>> {
    cookie_pairs(cookies)
        .find(|(name, _)| *name == protocol::CHOICE_COOKIE)
        .and_then(|(_, value)| protocol::parse_choice(value))
}

/// Google Consent Mode v2 purposes and whether each is granted.
pub fn consent_mode(granted: &[String]) -> [(&'static str, bool); 6] {
    let has = |id: &str| granted.iter().any(|g| g == id);
    let (ads, analytics, preferences) = (has("marketing"), has("analytics"), has("preferences"));
    [
        ("ad_storage", ads),
        ("ad_user_data", ads),
        ("ad_personalization", ads),
        ("analytics_storage", analytics),
        ("functionality_storage", preferences),
        ("personalization_storage", preferences),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::markup::{Service, Texts};
    use crate::protocol::{CHOICE_COOKIE, choice_value};

    fn config() -> Config {
        let category = |id: &str, locked| Category {
            id: id.into(),
            label: id.into(),
            description: String::new(),
            locked,
            ..Category::default()
        };
        Config {
            endpoint: Some("/consent".into()),
            revision: 4,
            granted: vec!["necessary".into()],
            gpc_denies: vec!["marketing".into()],
            categories: vec![
                category("necessary", true),
                category("preferences", false),
                category("analytics", false),
                category("marketing", false),
            ],
            texts: Some(Texts::default()),
            privacy_url: "/privacy".into(),
            ..Config::default()
        }
    }

    #[test]
    fn actions_map_to_granted_lists() {
        let c = config();
        let all = granted(
            switches(&c.categories),
            &c.gpc_denies,
            &Action::AcceptAll,
            false,
        );
        assert_eq!(all, ["necessary", "preferences", "analytics", "marketing"]);
        let gpc = granted(
            switches(&c.categories),
            &c.gpc_denies,
            &Action::AcceptAll,
            true,
        );
        assert_eq!(gpc, ["necessary", "preferences", "analytics"], "GPC");
        assert_eq!(
            granted(
                switches(&c.categories),
                &c.gpc_denies,
                &Action::RejectAll,
                false
            ),
            ["necessary"]
        );
        let ticked = Action::from_button("save", vec!["marketing".into(), "bogus".into()]);
        assert_eq!(
            granted(switches(&c.categories), &c.gpc_denies, &ticked, true),
            ["necessary", "marketing"],
            "an explicit tick beats GPC"
        );
        assert_eq!(Action::from_button("reject_all", vec![]), Action::RejectAll);
    }

    #[test]
    fn withdrawal_is_any_loss() {
        let v = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(withdrew(
            &v(&["necessary", "analytics"]),
            &v(&["necessary"])
        ));
        assert!(!withdrew(
            &v(&["necessary"]),
            &v(&["necessary", "analytics"])
        ));
    }

    #[test]
    fn choice_cookie_round_trips() {
        let value = choice_value(
            4,
            1_800_000_000,
            "c1d",
            &["necessary".into(), "analytics".into()],
        );
        let cookies = format!("a=b; {CHOICE_COOKIE}={value}; c=d");
        let choice = stored_choice(&cookies).expect("found");
        assert_eq!((choice.revision, choice.id), (4, Some("c1d")));
        assert_eq!(
            choice.granted().collect::<Vec<_>>(),
            ["necessary", "analytics"]
        );
        assert!(stored_choice("a=b").is_none());
        assert!(stored_choice(&format!("{CHOICE_COOKIE}=junk")).is_none());
    }

    #[test]
    fn deletions_cover_services_domains_and_spare_what_is_granted_or_locked() {
        let cookie = |name: &str, prefix: bool, domain: Option<&str>| CookieInfo {
            name: name.into(),
            prefix,
            domain: domain.map(Into::into),
            ..CookieInfo::default()
        };
        let categories = [
            Category {
                id: "necessary".into(),
                locked: true,
                cookies: vec![cookie("sid", false, None)],
                ..Category::default()
            },
            Category {
                id: "analytics".into(),
                cookies: vec![
                    cookie("_ga", true, Some(".example.com")),
                    cookie("", false, None),
                ],
                services: vec![
                    Service {
                        id: "matomo".into(),
                        cookies: vec![cookie("_pk", true, None)],
                        ..Service::default()
                    },
                    Service {
                        id: "plausible".into(),
                        cookies: vec![cookie("plausible", false, None)],
                        ..Service::default()
                    },
                ],
                ..Category::default()
            },
        ];
        let jar = "sid=1; _ga=2; _ga_X=3; _pk_id=4; other=5";
        // Only one service granted: the category's own cookies and the other service's go.
        let granted = ["analytics".to_owned(), "analytics:plausible".to_owned()];
        assert_eq!(
            deletions(jar, &categories, &granted),
            ["_pk_id=;max-age=0;path=/"]
        );
        // Nothing granted: every declared cookie but the locked category's, each domain
        // cookie also host-only, exact names even when the page does not see them.
        assert_eq!(
            deletions(jar, &categories, &[]),
            [
                "_ga=;max-age=0;path=/",
                "_ga=;max-age=0;path=/;domain=.example.com",
                "_ga_X=;max-age=0;path=/",
                "_ga_X=;max-age=0;path=/;domain=.example.com",
                "_pk_id=;max-age=0;path=/",
                "plausible=;max-age=0;path=/",
            ]
        );
        assert!(
            deletions(
                jar,
                &categories,
                &[
                    "analytics".to_owned(),
                    "analytics:matomo".to_owned(),
                    "analytics:plausible".to_owned()
                ]
            )
            .is_empty()
        );
    }

    #[test]
    fn consent_mode_mapping() {
        let mode = consent_mode(&["necessary".into(), "analytics".into()]);
        assert!(mode.contains(&("analytics_storage", true)));
        assert!(mode.contains(&("ad_storage", false)));
        assert!(mode.contains(&("functionality_storage", false)));
    }

    #[test]
    fn config_json_is_valid_json_with_every_field() {
        let mut config = config();
        config.privacy_url = "/privacy?x=</script>".into();
        config.texts.as_mut().unwrap().title = "Quote \" and \\ and é".into();
        let json = config.to_json();
        assert!(!json.contains("</script>"), "script-safe");
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(value["endpoint"], "/consent");
        assert_eq!(value["revision"], 4);
        assert_eq!(value["decided"], false);
        assert_eq!(value["granted"][0], "necessary");
        assert_eq!(value["gpcDenies"][0], "marketing");
        assert_eq!(value["categories"][0]["locked"], true);
        assert_eq!(value["categories"][3]["id"], "marketing");
        assert_eq!(value["texts"]["title"], "Quote \" and \\ and é");
        assert_eq!(value["texts"]["gpcHonoured"], Texts::default().gpc_honoured);
        assert_eq!(value["privacy"], "/privacy?x=</script>");
        config.endpoint = None;
        config.categories.clear();
        config.texts = None;
        let value: serde_json::Value = serde_json::from_str(&config.to_json()).unwrap();
        assert!(value["endpoint"].is_null());
        assert!(value.get("categories").is_none() && value.get("texts").is_none());
    }
}
