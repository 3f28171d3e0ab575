//! Consent settings.

use std::fmt;
use std::sync::Arc;

use super::banner::BannerTexts;
use super::policy::Policy;
use crate::error::ConfigError;
use crate::gate::{CookieRegistry, Csp};
use crate::ledger::ConsentLedger;

/// Everything about consent: the policy, where decisions are proven, which cookies exist,
/// the CSP and the endpoint.
///
/// ```
/// use consentry::{Category, ConsentConfig, DeclaredCookie, MemoryLedger, Policy};
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
    pub(crate) policy: Policy,
    pub(crate) ledger: Option<Arc<dyn ConsentLedger>>,
    pub(crate) registry: CookieRegistry,
    pub(crate) strict: bool,
    pub(crate) csp: Option<Csp>,
    pub(crate) base_path: String,
    pub(crate) privacy_url: String,
    pub(crate) texts: Vec<(String, BannerTexts)>,
    pub(crate) record_ip: bool,
}

impl ConsentConfig {
    /// Consent under `policy`, with the endpoint at `/consent`, strict cookie gating, no
    /// CSP, English texts. A ledger must be set with [`ConsentConfig::ledger`].
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            ledger: None,
            registry: CookieRegistry::default(),
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
    pub fn declare(mut self, cookie: crate::gate::DeclaredCookie) -> Self {
        self.registry.declare(cookie);
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

    /// Banner texts for a language (`en` is built in and can be replaced).
    #[must_use]
    pub fn texts(mut self, language: impl Into<String>, texts: BannerTexts) -> Self {
        let language = language.into().to_ascii_lowercase();
        self.texts.retain(|(lang, _)| *lang != language);
        self.texts.push((language, texts));
        self
    }

    /// Records the visitor's IP address in the ledger, truncated to /24 (IPv4) or /48
    /// (IPv6). Off by default. The address is read from a [`ClientIp`](crate::ClientIp)
    /// request extension.
    #[must_use]
    pub fn record_truncated_ip(mut self, enabled: bool) -> Self {
        self.record_ip = enabled;
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(crate) fn texts_for(&self, language: &str) -> &BannerTexts {
        let primary = language.split('-').next().unwrap_or_default();
        self.texts
            .iter()
            .find(|(lang, _)| lang.eq_ignore_ascii_case(primary))
            .or_else(|| self.texts.iter().find(|(lang, _)| lang == "en"))
            .map(|(_, texts)| texts)
            .expect("English texts are always present")
    }

    /// The first supported language named in `Accept-Language`, else `en`.
    pub(crate) fn negotiate(&self, accept_language: Option<&str>) -> String {
        accept_language
            .into_iter()
            .flat_map(|header| header.split(','))
            .filter_map(|item| item.split(';').next())
            .map(str::trim)
            .find(|tag| {
                let primary = tag.split('-').next().unwrap_or_default();
                self.texts
                    .iter()
                    .any(|(lang, _)| lang.eq_ignore_ascii_case(primary))
            })
            .map_or_else(
                || "en".to_owned(),
                |tag| tag.split('-').next().unwrap_or("en").to_ascii_lowercase(),
            )
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.policy.validate()?;
        if self.ledger.is_none() {
            return Err(ConfigError::Consent(
                "a consent ledger is required: JsonlLedger::open(path), or MemoryLedger in tests"
                    .into(),
            ));
        }
        let base = &self.base_path;
        if !base.starts_with('/')
            || base.len() < 2
            || base.ends_with('/')
            || base.contains(['?', '#'])
        {
            return Err(ConfigError::Consent(format!(
                "base_path {base:?} must look like /consent (leading slash, no trailing slash)"
            )));
        }
        self.registry.validate(&self.policy)
    }
}

impl fmt::Debug for ConsentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsentConfig")
            .field("policy", &self.policy)
            .field("registry", &self.registry)
            .field("strict", &self.strict)
            .field("csp", &self.csp)
            .field("base_path", &self.base_path)
            .finish_non_exhaustive()
    }
}
