//! [`Consentry::builder`]: every part optional, every mistake a [`ConfigError`]. The builder
//! makes each part from its settings, collects the cookies each part declares for the
//! gate, and hands the endpoint the parts it uses.

use std::fmt;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::consent::ConsentPart;
use crate::cookies::{CookieSettings, SameSite};
use crate::endpoint::Endpoint;
use crate::error::{ConfigError, Part};
use crate::gate::{Csp, GatePart};
use crate::keys::Keyring;
use crate::ledger::ConsentLedger;
use crate::origin::Served;
use crate::policy::{DeclaredCookie, Policy};
use crate::purpose::Purposes;
use crate::referral::{ReferralConfig, ReferralPart};
use crate::render::{BannerTexts, Renderer};
use crate::service::{ConsentSide, ConsentryLayer, Shared};
use crate::session::{SessionConfig, SessionPart};

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

/// Everything about consent: the policy, where decisions are proven, which cookies exist
/// (the gate), the CSP, the endpoint and the banner's texts.
///
/// ```
/// use consentry::{Category, ConsentConfig, DeclaredCookie, Policy};
/// use consentry::ledger::MemoryLedger;
///
/// let consent = ConsentConfig::new(Policy::new(1))
///     .ledger(MemoryLedger::new())
///     .declare(DeclaredCookie::exact("_sa", Category::ANALYTICS)
///         .provider("Shop Analytics")
///         .purpose("Distinguishes visits")
///         .duration("1 year"))
///     .privacy_url("/privacy");
/// # let _ = consent;
/// ```
#[derive(Clone)]
pub struct ConsentConfig {
    policy: Policy,
    ledger: Option<Arc<dyn ConsentLedger>>,
    declared: Vec<DeclaredCookie>,
    strict: bool,
    csp: Option<Csp>,
    base_path: String,
    privacy_url: String,
    texts: Vec<(String, BannerTexts)>,
    record_ip: bool,
}

impl ConsentConfig {
    /// Consent under `policy`, with the endpoint at `/consent`, strict cookie gating, no
    /// CSP, English texts. A ledger must be set with [`ConsentConfig::ledger`].
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            ledger: None,
            declared: Vec::new(),
            strict: true,
            csp: None,
            base_path: "/consent".to_owned(),
            privacy_url: "/privacy".to_owned(),
            texts: vec![("en".to_owned(), BannerTexts::default())],
            record_ip: false,
        }
    }

    /// Where every decision is recorded, as proof of consent.
    #[must_use]
    pub fn ledger(mut self, ledger: impl ConsentLedger) -> Self {
        self.ledger = Some(Arc::new(ledger));
        self
    }

    /// Declares a cookie the site (or a third party on it) may set.
    #[must_use]
    pub fn declare(mut self, cookie: DeclaredCookie) -> Self {
        self.declared.push(cookie);
        self
    }

    /// Strict mode (the default) removes `Set-Cookie` headers of undeclared cookies; off,
    /// they pass and a warning is logged.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Sends a `Content-Security-Policy` with a per-request nonce, allowing each
    /// category's third-party origins only once it is granted.
    #[must_use]
    pub fn csp(mut self, csp: Csp) -> Self {
        self.csp = Some(csp);
        self
    }

    /// The endpoint's base path (default `/consent`).
    #[must_use]
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = path.into();
        self
    }

    /// The privacy policy linked from the banner (default `/privacy`).
    #[must_use]
    pub fn privacy_url(mut self, url: impl Into<String>) -> Self {
        self.privacy_url = url.into();
        self
    }

    /// Banner texts for a language (a primary tag such as `de`; `en` is built in and can
    /// be replaced).
    #[must_use]
    pub fn texts(mut self, language: impl Into<String>, texts: BannerTexts) -> Self {
        let language = language.into().to_ascii_lowercase();
        self.texts.retain(|(lang, _)| *lang != language);
        self.texts.push((language, texts));
        self
    }

    /// Records the visitor's IP address in the ledger, truncated to /24 (IPv4) or /48
    /// (IPv6). Off by default. The address is read from a
    /// [`ClientIp`](crate::ledger::ClientIp) request extension.
    #[must_use]
    pub fn record_truncated_ip(mut self, enabled: bool) -> Self {
        self.record_ip = enabled;
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn validate_endpoint(&self) -> Result<(), ConfigError> {
        let base = &self.base_path;
        if !crate::origin::is_local_path(base)
            || base.len() < 2
            || base.ends_with('/')
            || base.contains(['?', '#'])
        {
            return Err(ConfigError::invalid(
                Part::Consent,
                "base_path",
                format!("{base:?} must look like /consent (leading slash, no trailing slash)"),
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for ConsentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsentConfig")
            .field("policy", &self.policy)
            .field("declared", &self.declared)
            .field("strict", &self.strict)
            .field("csp", &self.csp)
            .field("base_path", &self.base_path)
            .finish_non_exhaustive()
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

impl fmt::Debug for ConsentryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
                if self.dev_cookies && config.scope.same_site == SameSite::None {
                    return Err(ConfigError::invalid(
                        Part::Session,
                        "same_site",
                        "SameSite::None needs the Secure attribute, which development cookies lack",
                    ));
                }
                let clock = Arc::clone(&self.clock);
                Some(Arc::new(SessionPart::new(
                    config,
                    &self.keyring,
                    cookies,
                    clock,
                )))
            }
            None => None,
        };
        let (consent, referral) = match self.consent {
            Some(config) => {
                let (side, referral) = consent_side(
                    config,
                    self.referral,
                    session.as_deref(),
                    &self.keyring,
                    cookies,
                    &self.clock,
                )?;
                (Some(side), referral)
            }
            None if self.referral.is_some() => {
                return Err(ConfigError::invalid(
                    Part::Referral,
                    "referral",
                    "needs consent (ConsentryBuilder::consent): the cookie is written only when the partner's category is granted",
                ));
            }
            None => (None, None),
        };
        Ok(ConsentryLayer::new(Shared {
            clock: self.clock,
            session,
            consent,
            referral,
        }))
    }
}

/// Consent with its gate, renderer and endpoint, and referral beside it.
fn consent_side(
    config: ConsentConfig,
    referral: Option<ReferralConfig>,
    session: Option<&SessionPart>,
    keyring: &Keyring,
    cookies: CookieSettings,
    clock: &Arc<dyn Clock>,
) -> Result<(ConsentSide, Option<Arc<ReferralPart>>), ConfigError> {
    config
        .policy
        .validate()
        .map_err(|invalid| ConfigError::invalid(Part::Consent, invalid.setting, invalid.reason))?;
    config.validate_endpoint()?;
    let ConsentConfig {
        policy,
        ledger,
        declared,
        strict,
        csp,
        base_path,
        privacy_url,
        texts,
        record_ip,
    } = config;
    let ledger = ledger.ok_or_else(|| {
        ConfigError::invalid(
            Part::Consent,
            "ledger",
            "a consent ledger is required: JsonlLedger::open(path), or MemoryLedger in tests",
        )
    })?;
    let referral = match referral {
        Some(referral) => {
            referral.validate(&policy)?;
            let clock = Arc::clone(clock);
            Some(Arc::new(ReferralPart::new(
                referral, keyring, cookies, clock,
            )))
        }
        None => None,
    };
    let consent = Arc::new(ConsentPart::new(
        policy,
        keyring,
        cookies,
        Arc::clone(clock),
    ));
    // The layer's own cookies appear in the declaration like every other; each part
    // declares its own.
    let mut managed: Vec<DeclaredCookie> = session.iter().map(|part| part.declares()).collect();
    managed.extend(consent.declares());
    managed.extend(referral.iter().flat_map(|part| part.declares()));
    let gate = Arc::new(GatePart::new(
        declared,
        managed,
        strict,
        csp,
        !cookies.dev,
        consent.policy(),
    ));
    gate.validate(consent.policy())?;
    let renderer = Arc::new(Renderer::new(
        base_path.clone(),
        privacy_url,
        texts,
        Arc::clone(&gate),
        consent.policy(),
    ));
    let served = if cookies.dev {
        Served::PlainHttp
    } else {
        Served::Secure
    };
    let endpoint = Arc::new(Endpoint::new(
        base_path,
        record_ip,
        served,
        Arc::clone(&consent),
        Arc::clone(&gate),
        referral.clone(),
        Arc::clone(&ledger),
        Arc::clone(clock),
    ));
    let purposes = Purposes::new(Arc::clone(&consent), ledger, Arc::clone(clock));
    let side = ConsentSide {
        consent,
        gate,
        renderer,
        endpoint,
        purposes,
    };
    Ok((side, referral))
}
