//! Consent: the [`Policy`], the signed `__Host-consent` cookie, and the [`Consent`] handle
//! every request carries.
//!
//! Trust is asymmetric. A grant counts only when this server signed it; a denial counts
//! from any source: an unsigned static-mode choice cookie, Global Privacy Control, an
//! expired or tampered cookie (which leaves the visitor undecided, everything optional off).

use std::fmt::Write as _;
use std::sync::Arc;

use http::HeaderMap;

use crate::clock::Clock;
use crate::codec::Codec;
use crate::cookies::{CookieSettings, RequestCookies};
use crate::html::escape;
use crate::keys::{Keyring, Purpose};
use crate::referral::ReferralRuntime;

pub(crate) mod banner;
mod config;
mod decision;
mod policy;

pub use banner::BannerTexts;
pub use config::ConsentConfig;
pub(crate) use decision::{CHOICE_COOKIE, Decision};
pub use policy::{Category, CategoryDef, Policy, Text};

/// The visitor's consent as this request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentState {
    pub(crate) id: Option<[u8; 16]>,
    pub(crate) decided: bool,
    pub(crate) granted: u64,
    pub(crate) revision: u32,
    pub(crate) decided_at: Option<u64>,
    pub(crate) gpc: bool,
}

impl ConsentState {
    pub(crate) fn allows_in(&self, policy: &Policy, category: &Category) -> bool {
        policy
            .bit(category)
            .is_some_and(|bit| self.granted & bit != 0)
    }

    /// Whether the visitor made a choice that is still valid (same revision, not expired).
    pub fn decided(&self) -> bool {
        self.decided
    }

    /// Whether the request carried `Sec-GPC: 1`.
    pub fn gpc(&self) -> bool {
        self.gpc
    }

    /// The policy revision the state refers to.
    pub fn revision(&self) -> u32 {
        self.revision
    }

    /// When the visitor decided, in unix seconds.
    pub fn decided_at(&self) -> Option<u64> {
        self.decided_at
    }

    /// The random consent id (hex), shared by all decisions of one browser and found in the
    /// ledger; `None` before the first decision. Not linked to any account.
    pub fn id(&self) -> Option<String> {
        self.id.map(|id| hex(&id))
    }

    /// The JSON the endpoint returns: `{decided, granted[], revision, gpc, id}`.
    pub(crate) fn to_json(&self, policy: &Policy) -> serde_json::Value {
        serde_json::json!({
            "decided": self.decided,
            "granted": policy.names(self.granted).map(Category::as_str).collect::<Vec<_>>(),
            "revision": self.revision,
            "gpc": self.gpc,
            "id": self.id(),
        })
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Per-layer consent machinery.
pub(crate) struct ConsentRuntime {
    pub(crate) config: ConsentConfig,
    codec: Codec,
    pub(crate) cookie_name: String,
    pub(crate) cookies: CookieSettings,
    pub(crate) clock: Arc<dyn Clock>,
    fingerprint: u32,
    pub(crate) referral: Option<Arc<ReferralRuntime>>,
}

/// What the request said about consent, beyond the state itself.
pub(crate) struct Evaluation {
    pub(crate) state: ConsentState,
    /// The request carried the unsigned static-mode choice cookie.
    pub(crate) choice_cookie: bool,
}

impl ConsentRuntime {
    pub(crate) fn new(
        config: ConsentConfig,
        keyring: &Keyring,
        cookies: CookieSettings,
        clock: Arc<dyn Clock>,
        referral: Option<Arc<ReferralRuntime>>,
    ) -> Self {
        let fingerprint = config.policy.fingerprint();
        Self {
            codec: Codec::new(keyring, Purpose::Consent),
            cookie_name: cookies.name("consent"),
            cookies,
            clock,
            fingerprint,
            config,
            referral,
        }
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.config.policy
    }

    /// Reads the consent cookies and headers of a request.
    pub(crate) fn evaluate(&self, cookies: &RequestCookies<'_>, headers: &HeaderMap) -> Evaluation {
        let now = self.clock.now();
        let policy = self.policy();
        let gpc = headers
            .get("sec-gpc")
            .is_some_and(|value| value.as_bytes().trim_ascii() == b"1");
        let mut id = None;
        let mut decision = None;
        for value in cookies.values(&self.cookie_name) {
            let Ok(opened) = self.codec.open(&self.cookie_name, value, now) else {
                continue;
            };
            let Some(candidate) = Decision::decode(&opened.body) else {
                continue;
            };
            id.get_or_insert(candidate.id);
            if candidate.revision == policy.revision
                && candidate.fingerprint == self.fingerprint
                && candidate.decided_at <= now
            {
                decision = Some(candidate);
                break;
            }
        }
        let necessary = policy.necessary_mask();
        let mut granted = decision.map_or(0, |d| d.granted) & policy.all_mask();
        // Denials from unsigned sources.
        let mut choice_cookie = false;
        for value in cookies.values(CHOICE_COOKIE) {
            choice_cookie = true;
            let listed = decision::parse_choice(value).unwrap_or_default();
            let allowed = listed
                .iter()
                .filter_map(|id| policy.bit_of(id))
                .fold(necessary, |mask, bit| mask | bit);
            granted &= allowed;
        }
        if gpc && !decision.is_some_and(|d| d.gpc) {
            granted &= !policy.gpc_mask();
        }
        Evaluation {
            state: ConsentState {
                id: decision.map(|d| d.id).or(id),
                decided: decision.is_some(),
                granted: granted | necessary,
                revision: policy.revision,
                decided_at: decision.map(|d| d.decided_at),
                gpc,
            },
            choice_cookie,
        }
    }

    /// A signed cookie recording `state` as decided now.
    pub(crate) fn seal(&self, state: &ConsentState, gpc_at_decision: bool) -> http::HeaderValue {
        let decision = Decision {
            id: state.id.unwrap_or_default(),
            granted: state.granted,
            revision: self.policy().revision,
            fingerprint: self.fingerprint,
            decided_at: state.decided_at.unwrap_or_else(|| self.clock.now()),
            gpc: gpc_at_decision,
        };
        let max_age = self.policy().max_age;
        let expires_at = decision.decided_at.saturating_add(max_age.as_secs());
        let value = self
            .codec
            .seal(&self.cookie_name, expires_at, &decision.encode());
        self.cookies.set(&self.cookie_name, value, max_age)
    }
}

/// The visitor's consent, found in the request extensions (or extracted with the `axum`
/// feature). Use it to decide what to render.
///
/// ```
/// use consentry::{Category, Consent};
///
/// fn analytics_tag(consent: &Consent) -> String {
///     // Live when granted, inert (and activated by the banner later) when not.
///     consent.script_tag(&Category::ANALYTICS, "https://stats.example/a.js")
/// }
/// ```
#[derive(Clone)]
pub struct Consent {
    pub(crate) runtime: Arc<ConsentRuntime>,
    pub(crate) state: ConsentState,
    pub(crate) nonce: Option<Arc<str>>,
    pub(crate) language: Arc<str>,
    /// A signed referral waiting for consent, carried by the banner's form.
    pub(crate) pending_referral: Option<Arc<str>>,
}

impl std::fmt::Debug for Consent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consent")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Consent {
    /// Whether `category` may be used for this visitor. `necessary` always may.
    pub fn allows(&self, category: &Category) -> bool {
        self.state.allows_in(self.runtime.policy(), category)
    }

    /// Whether the visitor decided (if not, render the banner).
    pub fn decided(&self) -> bool {
        self.state.decided
    }

    /// The full state.
    pub fn state(&self) -> &ConsentState {
        &self.state
    }

    /// The granted categories, in policy order, `necessary` included.
    pub fn granted(&self) -> Vec<Category> {
        self.runtime
            .policy()
            .names(self.state.granted)
            .cloned()
            .collect()
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        self.runtime.policy()
    }

    /// This response's CSP nonce, when the CSP is enabled. Put it on every inline script.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The language the banner is rendered in (from `Accept-Language`).
    pub fn language(&self) -> &str {
        &self.language
    }

    fn nonce_attr(&self) -> String {
        self.nonce.as_deref().map_or_else(String::new, |nonce| {
            format!(r#" nonce="{}""#, escape(nonce))
        })
    }

    /// A `<script>` for `src` in `category`: live when granted, otherwise inert
    /// (`type="text/plain" data-consent="…"`), so the banner can activate it on consent
    /// and no request reaches the third party before.
    pub fn script_tag(&self, category: &Category, src: &str) -> String {
        if self.allows(category) {
            format!(
                r#"<script src="{}"{}></script>"#,
                escape(src),
                self.nonce_attr()
            )
        } else {
            format!(
                r#"<script type="text/plain" data-consent="{}" data-src="{}"{}></script>"#,
                escape(category.as_str()),
                escape(src),
                self.nonce_attr()
            )
        }
    }

    /// Google Consent Mode v2: an inline script that sets every purpose to `denied` by
    /// default and then, if the visitor decided, to what they chose. Put it before any
    /// tag; the banner sends `update` when the choice changes.
    pub fn consent_mode_snippet(&self) -> String {
        let mut script = format!(
            "<script{}>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}\
             gtag('consent','default',{{ad_storage:'denied',ad_user_data:'denied',ad_personalization:'denied',\
             analytics_storage:'denied',functionality_storage:'denied',personalization_storage:'denied',\
             security_storage:'granted',wait_for_update:500}});",
            self.nonce_attr()
        );
        if self.state.decided {
            let _ = write!(
                script,
                "gtag('consent','update',{});",
                self.consent_mode_update()
            );
        }
        script.push_str("</script>");
        script
    }

    /// The Consent Mode `update` object for this state, as a JavaScript object literal.
    pub fn consent_mode_update(&self) -> String {
        let word = |category: &Category| {
            if self.allows(category) {
                "granted"
            } else {
                "denied"
            }
        };
        let ads = word(&Category::MARKETING);
        let analytics = word(&Category::ANALYTICS);
        let preferences = word(&Category::PREFERENCES);
        format!(
            "{{ad_storage:'{ads}',ad_user_data:'{ads}',ad_personalization:'{ads}',analytics_storage:'{analytics}',\
             functionality_storage:'{preferences}',personalization_storage:'{preferences}'}}"
        )
    }

    /// The banner for this page: the first layer (Accept all, Reject all, Customize) while
    /// the visitor is undecided, as a plain form that posts to the consent endpoint so it
    /// works without JavaScript. With the `banner` feature (the default) it also carries the
    /// configuration element and the WebAssembly banner's loader, and once the visitor has
    /// decided, the settings view rendered `hidden` (so "Cookie settings" opens it in
    /// place); without the feature it is empty once decided. `return_to` is the path to
    /// come back to (use the current path).
    pub fn banner_html(&self, return_to: &str) -> String {
        #[cfg(feature = "banner")]
        {
            // Decided visitors get the settings view hidden, for "Cookie settings" to open
            // in place.
            let decided = self.state.decided;
            banner::render(self, return_to, decided, decided) + &banner::script(self)
        }
        #[cfg(not(feature = "banner"))]
        if self.state.decided {
            String::new()
        } else {
            banner::render(self, return_to, false, false)
        }
    }

    /// The consent form with the per-category switches open, showing the current choice.
    /// The endpoint serves it at `GET /consent` to browsers, for the "Cookie settings" link.
    pub fn settings_html(&self, return_to: &str) -> String {
        banner::render(self, return_to, true, false)
    }

    /// Every declared cookie as an HTML table, for the privacy page. Generated from the
    /// same registry that drives the gate, so the policy cannot drift from reality.
    pub fn declaration_html(&self) -> String {
        self.runtime
            .config
            .registry
            .declaration_html(self.policy(), &self.language)
    }

    /// The cookie declaration as JSON (what `GET /consent/declaration` returns).
    pub fn declaration_json(&self) -> serde_json::Value {
        self.runtime
            .config
            .registry
            .declaration_json(self.policy(), &self.language)
    }

    /// A "Cookie settings" link: opens the settings page without JavaScript, and the
    /// banner's dialog with it.
    pub fn settings_link(&self) -> String {
        let texts = self.runtime.config.texts_for(&self.language);
        format!(
            r#"<a href="{}" data-consent-open>{}</a>"#,
            escape(&self.runtime.config.base_path),
            escape(&texts.settings_link)
        )
    }
}
