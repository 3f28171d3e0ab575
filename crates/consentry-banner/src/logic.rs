//! What the banner decides, independent of the DOM.

use crate::markup::Category;
use crate::protocol;

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

/// The categories granted by `action`, in the order of `switches` (`(id, locked)` pairs),
/// locked ones included. Unknown ids in `Save` are dropped. Under Global Privacy Control
/// (`gpc`), "Accept all" leaves the `gpc_denies` categories off; ticking them explicitly
/// still grants them.
pub fn granted<'a>(
    switches: impl IntoIterator<Item = (&'a str, bool)>,
    gpc_denies: &[String],
    action: &Action,
    gpc: bool,
) -> Vec<String> {
    switches
        .into_iter()
        .filter(|(id, locked)| {
            *locked
                || match action {
                    Action::AcceptAll => !(gpc && gpc_denies.iter().any(|d| d == id)),
                    Action::RejectAll => false,
                    Action::Save(ticked) => ticked.iter().any(|t| t == id),
                }
        })
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// `(id, locked)` pairs of categories, for [`granted`].
pub fn switches(categories: &[Category]) -> impl Iterator<Item = (&str, bool)> {
    categories.iter().map(|c| (c.id.as_str(), c.locked))
}

/// Whether any category granted before is not granted any more.
pub fn withdrew(before: &[String], after: &[String]) -> bool {
    before.iter().any(|id| !after.contains(id))
}

/// The choice stored in `document.cookie` for this `revision`; `None` when absent, malformed
/// or made under another revision (which asks the visitor again). See [`protocol`].
pub fn read_choice(cookies: &str, revision: u32) -> Option<Vec<String>> {
    let value = cookies
        .split(';')
        .filter_map(|pair| pair.trim_start_matches(' ').split_once('='))
        .find(|(name, _)| *name == protocol::CHOICE_COOKIE)
        .map(|(_, value)| value)?;
    let choice = protocol::parse_choice(value).filter(|c| c.revision == revision)?;
    Some(choice.granted().map(str::to_owned).collect())
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
    use crate::markup::Texts;
    use crate::protocol::{CHOICE_COOKIE, choice_value};

    fn config() -> Config {
        let category = |id: &str, locked| Category {
            id: id.into(),
            label: id.into(),
            description: String::new(),
            locked,
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
    fn choice_cookie_round_trips_and_re_asks_on_a_new_revision() {
        let value = choice_value(4, 1_800_000_000, &["necessary".into(), "analytics".into()]);
        assert_eq!(value, "2.4.1800000000.necessary.analytics");
        let cookies = format!("a=b; {CHOICE_COOKIE}={value}; c=d");
        assert_eq!(
            read_choice(&cookies, 4),
            Some(vec!["necessary".to_owned(), "analytics".to_owned()])
        );
        assert_eq!(
            read_choice(&cookies, 5),
            None,
            "another revision asks again"
        );
        assert_eq!(read_choice("a=b", 4), None);
        assert_eq!(read_choice(&format!("{CHOICE_COOKIE}=junk"), 4), None);
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
