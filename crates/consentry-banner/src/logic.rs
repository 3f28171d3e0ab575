//! What the banner decides, independent of the DOM.

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

/// Whether any category granted before is not granted any more.
pub fn withdrew(before: &[String], after: &[String]) -> bool {
    before.iter().any(|id| !after.contains(id))
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
    use crate::markup::{Category, Texts};

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
