//! [`Consentry::builder`]: every part optional, every mistake a [`ConfigError`].

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::consent::{ConsentConfig, ConsentRuntime};
use crate::cookies::CookieSettings;
use crate::error::ConfigError;
use crate::keys::Keyring;
use crate::layer::{ConsentryLayer, Shared};
use crate::referral::{ReferralConfig, ReferralRuntime};
use crate::session::{SessionConfig, SessionRuntime};

/// The entry point: `Consentry::builder(keyring)…build()` gives a [`ConsentryLayer`].
///
/// ```
/// use consentry::{Consentry, Key, Keyring, SessionConfig};
/// use consentry::store::MemoryStore;
///
/// let layer = Consentry::builder(Keyring::new(1, Key::generate()))
///     .session(SessionConfig::new(MemoryStore::new()))
///     .build()?;
/// # let _ = layer;
/// # Ok::<(), consentry::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Consentry {
    _private: (),
}

impl Consentry {
    /// Starts configuring a layer that signs with `keyring`.
    pub fn builder(keyring: Keyring) -> ConsentryBuilder {
        ConsentryBuilder {
            keyring,
            session: None,
            consent: None,
            referral: None,
            clock: Arc::new(SystemClock),
            dev_cookies: false,
        }
    }
}

/// Configures a [`ConsentryLayer`]; see [`Consentry::builder`].
#[must_use]
pub struct ConsentryBuilder {
    keyring: Keyring,
    session: Option<SessionConfig>,
    consent: Option<ConsentConfig>,
    referral: Option<ReferralConfig>,
    clock: Arc<dyn Clock>,
    dev_cookies: bool,
}

impl std::fmt::Debug for ConsentryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentryBuilder")
            .field("keyring", &self.keyring)
            .field("session", &self.session)
            .field("consent", &self.consent)
            .field("referral", &self.referral)
            .field("dev_cookies", &self.dev_cookies)
            .finish_non_exhaustive()
    }
}

impl ConsentryBuilder {
    /// Enables sessions.
    pub fn session(mut self, config: SessionConfig) -> Self {
        self.session = Some(config);
        self
    }

    /// Enables consent: the policy, the ledger, the cookie gate and the endpoint.
    pub fn consent(mut self, config: ConsentConfig) -> Self {
        self.consent = Some(config);
        self
    }

    /// Enables partner referral. Needs consent: the referral cookie is written only when
    /// the partner's category is granted.
    pub fn referral(mut self, config: ReferralConfig) -> Self {
        self.referral = Some(config);
        self
    }

    /// Reads time from `clock` instead of the system clock (for tests of expiry).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// For development over plain `http://` on a host other than `localhost`: cookies lose
    /// the `Secure` attribute and the `__Host-` prefix (`sid` instead of `__Host-sid`).
    /// Browsers treat `http://localhost` as secure, so local development does not need it.
    /// Never enable it in production.
    pub fn dev_cookies(mut self, enabled: bool) -> Self {
        self.dev_cookies = enabled;
        self
    }

    /// Checks the configuration and builds the layer.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first setting that is wrong.
    pub fn build(self) -> Result<ConsentryLayer, ConfigError> {
        self.keyring.validate()?;
        if self.dev_cookies {
            tracing::warn!(
                "dev cookies: no Secure attribute and no __Host- prefix; not for production"
            );
        }
        let cookies = CookieSettings {
            dev: self.dev_cookies,
        };
        let session = match self.session {
            Some(config) => {
                config.validate()?;
                Some(Arc::new(SessionRuntime::new(
                    config,
                    &self.keyring,
                    cookies,
                    Arc::clone(&self.clock),
                )))
            }
            None => None,
        };
        let consent = match self.consent {
            Some(mut config) => {
                config.validate()?;
                let referral = match self.referral {
                    Some(referral) => {
                        referral.validate(&config.policy)?;
                        Some(Arc::new(ReferralRuntime::new(
                            referral,
                            &self.keyring,
                            cookies,
                            Arc::clone(&self.clock),
                        )))
                    }
                    None => None,
                };
                declare_own_cookies(&mut config, cookies, session.is_some(), referral.as_deref());
                Some(Arc::new(ConsentRuntime::new(
                    config,
                    &self.keyring,
                    cookies,
                    Arc::clone(&self.clock),
                    referral,
                )))
            }
            None if self.referral.is_some() => {
                return Err(ConfigError::Referral(
                    "referral needs consent: the cookie is written only when the partner's category is granted".into(),
                ));
            }
            None => None,
        };
        Ok(ConsentryLayer {
            shared: Arc::new(Shared { session, consent }),
        })
    }
}

/// The layer's own cookies appear in the declaration like every other.
fn declare_own_cookies(
    config: &mut ConsentConfig,
    cookies: CookieSettings,
    sessions: bool,
    referral: Option<&ReferralRuntime>,
) {
    use crate::consent::Category;
    use crate::gate::DeclaredCookie;

    if sessions {
        config.registry.declare(
            DeclaredCookie::exact(cookies.name("sid"), Category::NECESSARY)
                .purpose("Keeps your session (cart, login) on this site; holds only a random id and timestamps")
                .duration("until the session ends (idle or absolute timeout)"),
        );
    }
    let days = config.policy.max_age.as_secs() / 86_400;
    config.registry.declare(
        DeclaredCookie::exact(cookies.name("consent"), Category::NECESSARY)
            .purpose("Remembers your cookie choices, signed so nobody else can change them")
            .duration(format!("{days} days")),
    );
    config.registry.declare(
        DeclaredCookie::exact(crate::consent::CHOICE_COOKIE, Category::NECESSARY)
            .purpose("Remembers your cookie choices where the banner runs without the server")
            .duration(format!("{days} days")),
    );
    if let Some(referral) = referral {
        let window = referral.config.window.as_secs() / 86_400;
        let partners = &referral.config.partners;
        for (index, partner) in partners.iter().enumerate() {
            if partners[..index]
                .iter()
                .any(|p| p.category == partner.category)
            {
                continue;
            }
            let names: Vec<&str> = partners
                .iter()
                .filter(|p| p.category == partner.category)
                .map(|p| p.name.as_str())
                .collect();
            let mut cookie = DeclaredCookie::exact(referral.cookie_name.clone(), partner.category.clone())
                .purpose(format!(
                    "Recognises a visitor referred by a partner ({}) so orders can be attributed; holds only the partner id and two dates",
                    names.join(", ")
                ))
                .duration(format!("{window} days"));
            cookie.managed = true;
            config.registry.declare(cookie);
        }
    }
}
