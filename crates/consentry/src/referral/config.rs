//! Partners and referral settings.

use std::time::Duration;

use crate::error::{ConfigError, Part};
use crate::policy::{Category, Policy};

/// A registered partner: links carry its id (`?ref=acme`), and its portal host names tag
/// every request made through them.
///
/// ```
/// use consentry::{Category, Partner};
///
/// let acme = Partner::new("acme", "Acme Print Partners")
///     .portal_host("acme.localhost")
///     .category(Category::NECESSARY); // portal access depends on it
/// # let _ = acme;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) portal_hosts: Vec<String>,
    pub(crate) category: Category,
}

impl Partner {
    /// A partner with a slug id (1–32 of `a-z`, `0-9`, `-`) and a display name. Its cookie
    /// is in the `marketing` category unless set otherwise.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            portal_hosts: Vec::new(),
            category: Category::MARKETING,
        }
    }

    /// A host name (no port) of the partner's portal; requests to it are tagged.
    #[must_use]
    pub fn portal_host(mut self, host: impl Into<String>) -> Self {
        self.portal_hosts.push(host.into().to_ascii_lowercase());
        self
    }

    /// The consent category the referral cookie falls under. `necessary` only when the
    /// portal's access privileges depend on it.
    #[must_use]
    pub fn category(mut self, category: Category) -> Self {
        self.category = category;
        self
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Which touch an order is attributed to when several partners referred the visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Attribution {
    /// The first partner within the window keeps the visitor.
    FirstTouch,
    /// The most recent partner wins (the default).
    #[default]
    LastTouch,
}

/// Partner referral settings.
///
/// ```
/// use std::time::Duration;
/// use consentry::{Attribution, Partner, ReferralConfig};
///
/// let referral = ReferralConfig::new()
///     .partner(Partner::new("acme", "Acme Print Partners").portal_host("acme.localhost"))
///     .partner(Partner::new("globex", "Globex Resellers"))
///     .window(Duration::from_secs(14 * 24 * 3600))
///     .attribution(Attribution::FirstTouch)
///     .clean_urls(true);
/// # let _ = referral;
/// ```
#[derive(Debug, Clone)]
pub struct ReferralConfig {
    pub(crate) partners: Vec<Partner>,
    pub(crate) window: Duration,
    pub(crate) attribution: Attribution,
    pub(crate) clean_urls: bool,
    pub(crate) param: String,
}

impl Default for ReferralConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ReferralConfig {
    /// Default attribution window: 30 days.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);

    /// No partners yet, a 30-day window, last-touch attribution, the `ref` query parameter.
    pub fn new() -> Self {
        Self {
            partners: Vec::new(),
            window: Self::DEFAULT_WINDOW,
            attribution: Attribution::default(),
            clean_urls: false,
            param: "ref".to_owned(),
        }
    }

    /// Registers a partner.
    #[must_use]
    pub fn partner(mut self, partner: Partner) -> Self {
        self.partners.push(partner);
        self
    }

    /// How long a referral counts after its touch.
    #[must_use]
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// First- or last-touch attribution.
    #[must_use]
    pub fn attribution(mut self, attribution: Attribution) -> Self {
        self.attribution = attribution;
        self
    }

    /// Answers a `GET` carrying the parameter with `303` to the same URL without it, once the
    /// referral is stored (while the visitor has not consented, the parameter stays so the
    /// referral can still be carried into the consent form).
    #[must_use]
    pub fn clean_urls(mut self, enabled: bool) -> Self {
        self.clean_urls = enabled;
        self
    }

    /// The query parameter carrying the partner id (default `ref`).
    #[must_use]
    pub fn param(mut self, name: impl Into<String>) -> Self {
        self.param = name.into();
        self
    }

    /// The registered partners.
    pub fn partners(&self) -> &[Partner] {
        &self.partners
    }

    pub(crate) fn validate(&self, policy: &Policy) -> Result<(), ConfigError> {
        let err = |setting: &'static str, reason: String| {
            Err(ConfigError::invalid(Part::Referral, setting, reason))
        };
        if self.param.is_empty()
            || !self
                .param
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return err(
                "param",
                format!("query parameter {:?} must be a plain name", self.param),
            );
        }
        if self.window.as_secs() == 0 {
            return err(
                "window",
                "the attribution window must be at least one second".into(),
            );
        }
        for (index, partner) in self.partners.iter().enumerate() {
            if !is_slug(&partner.id) {
                return err(
                    "partner",
                    format!(
                        "partner id {:?} must be 1-32 characters of a-z, 0-9 and -",
                        partner.id
                    ),
                );
            }
            if partner.name.trim().is_empty() {
                return err("partner", format!("partner {:?} needs a name", partner.id));
            }
            if self.partners[..index].iter().any(|p| p.id == partner.id) {
                return err(
                    "partner",
                    format!("partner id {:?} is registered twice", partner.id),
                );
            }
            if policy.get(&partner.category).is_none() {
                return err(
                    "partner",
                    format!(
                        "partner {:?} names unknown category {}",
                        partner.id, partner.category
                    ),
                );
            }
            for host in &partner.portal_hosts {
                if !is_host(host) {
                    return err(
                        "portal_host",
                        format!("partner {:?}: {host:?} is not a host name", partner.id),
                    );
                }
                let claimed = self.partners[..index]
                    .iter()
                    .chain(std::iter::once(partner))
                    .flat_map(|p| &p.portal_hosts)
                    .filter(|h| *h == host)
                    .count();
                if claimed > 1 {
                    return err(
                        "portal_host",
                        format!("portal host {host:?} is claimed twice"),
                    );
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn is_slug(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_registries_are_config_errors() {
        let policy = Policy::new(1);
        let bad = [
            ReferralConfig::new().partner(Partner::new("Acme", "A")),
            ReferralConfig::new().partner(Partner::new("acme", " ")),
            ReferralConfig::new()
                .partner(Partner::new("acme", "A"))
                .partner(Partner::new("acme", "B")),
            ReferralConfig::new()
                .partner(Partner::new("a", "A").portal_host("p.example"))
                .partner(Partner::new("b", "B").portal_host("P.example")),
            ReferralConfig::new().partner(
                Partner::new("a", "A")
                    .portal_host("p.example")
                    .portal_host("p.example"),
            ),
            ReferralConfig::new().partner(Partner::new("a", "A").portal_host("bad host")),
            ReferralConfig::new().partner(Partner::new("a", "A").category(Category::new("nope"))),
            ReferralConfig::new().param("r&f"),
            ReferralConfig::new().window(Duration::ZERO),
        ];
        for config in bad {
            assert!(
                matches!(
                    config.validate(&policy),
                    Err(ConfigError::Invalid {
                        part: Part::Referral,
                        ..
                    })
                ),
                "{config:?}"
            );
        }
        let good = ReferralConfig::new()
            .partner(Partner::new("acme", "Acme").portal_host("acme.localhost"))
            .partner(Partner::new("globex-2", "Globex"));
        assert!(good.validate(&policy).is_ok());
    }
}
