//! Inkwell Print Shop: the example server for consentry.
//!
//! [`app`] builds the whole site as an axum [`Router`], so tests can drive it with
//! `tower::ServiceExt::oneshot` and `main` can serve it; [`analytics::app`] is the
//! stand-in third-party analytics provider.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use consentry::ledger::{ConsentLedger, MemoryLedger};
use consentry::store::{MemoryStore, SessionStore};
use consentry::{
    Category, CategoryDef, Clock, ConfigError, ConsentConfig, Consentry, Csp, DeclaredCookie, Key,
    Keyring, Partner, Policy, PurposeDef, Purposes, ReferralConfig, SessionConfig, SystemClock,
};
use tower_http::csrf::CsrfLayer;

pub mod accounts;
pub mod analytics;
pub mod catalog;
pub mod charts;
mod hashing;
pub mod html;
pub mod orders;
mod routes;

pub use routes::UNITS_COOKIE;

/// The purpose a customer agrees to with "Send me offers by email".
pub const OFFERS: &str = "email_marketing";

/// Everything the shop is built from.
pub struct ShopConfig {
    /// The secrets that sign cookies (one signing key, any verify-only previous keys).
    pub keyring: Keyring,
    /// Where sessions live.
    pub store: Arc<dyn SessionStore>,
    /// Where consent decisions are proven.
    pub ledger: Arc<dyn ConsentLedger>,
    /// The consent policy revision; bump it to ask every visitor again.
    pub policy_revision: u32,
    /// The analytics provider's origin, e.g. `http://127.0.0.1:3001`.
    pub analytics_origin: String,
    /// The time source (tests move it).
    pub clock: Arc<dyn Clock>,
    /// Where registered accounts live (memory unless the shop has a database).
    pub accounts: accounts::Accounts,
}

impl ShopConfig {
    /// Defaults for tests and demos: `key` signs (no previous keys), memory store, memory
    /// ledger, revision 1, analytics on `http://127.0.0.1:3001`, system clock, accounts in
    /// memory.
    pub fn new(key: Key) -> Self {
        Self::with_keyring(Keyring::from_keys(key, []))
    }

    /// [`ShopConfig::new`] with a whole keyring (a rotation in progress).
    pub fn with_keyring(keyring: Keyring) -> Self {
        Self {
            keyring,
            store: Arc::new(MemoryStore::new()),
            ledger: Arc::new(MemoryLedger::new()),
            policy_revision: 1,
            analytics_origin: "http://127.0.0.1:3001".to_owned(),
            clock: Arc::new(SystemClock),
            accounts: accounts::Accounts::with_demo_accounts(),
        }
    }
}

/// Per-app state the handlers read: one shared allocation, so the router's clone of it for
/// each request is one reference count.
#[derive(Clone)]
pub(crate) struct Shop(Arc<ShopData>);

impl std::ops::Deref for Shop {
    type Target = ShopData;

    fn deref(&self) -> &ShopData {
        &self.0
    }
}

/// What [`Shop`] shares.
pub(crate) struct ShopData {
    pub(crate) analytics_origin: String,
    pub(crate) orders: orders::Orders,
    pub(crate) accounts: accounts::Accounts,
    /// The proof of consent, for the consent report.
    pub(crate) ledger: Arc<dyn ConsentLedger>,
    /// The time source (tests move it).
    pub(crate) clock: Arc<dyn Clock>,
    /// Consent to purposes beyond cookies (offers by email), proven in the ledger.
    pub(crate) purposes: Purposes,
    /// `(id, name)` of every partner, for the report.
    pub(crate) partners: Vec<(String, String)>,
}

/// The shop's partners: Acme (links and the `acme.localhost` portal) and Globex (links).
pub fn referral_config() -> ReferralConfig {
    ReferralConfig::new()
        .partner(Partner::new("acme", "Acme Print Partners").portal_host("acme.localhost"))
        .partner(Partner::new("globex", "Globex Resellers"))
}

/// What changed in each revision of the shop's policy (`--policy-revision 1` to `3`).
const REVISIONS: [(u32, &str, &str); 3] = [
    (1, "2026-01-15", "First version of this policy."),
    (
        2,
        "2026-06-01",
        "Visits are now counted by our own analytics provider instead of a third party's.",
    ),
    (
        3,
        "2026-11-30",
        "Partner referrals now last 30 days, and you can see every cookie we use on the privacy page.",
    ),
];

/// The shop's consent policy: the standard categories, analytics served from
/// `analytics_origin`, and what changed in each revision up to the current one.
pub fn consent_config(config: &ShopConfig) -> ConsentConfig {
    let mut policy = Policy::new(config.policy_revision);
    for (revision, date, text) in REVISIONS
        .iter()
        .filter(|(revision, _, _)| *revision <= config.policy_revision)
    {
        policy = policy.revision_note(*revision, *date, *text);
    }
    let policy = policy
        .category(
            CategoryDef::new(
                Category::ANALYTICS,
                "Analytics",
                "Count visits and measure how the shop is used, in aggregate, with our analytics provider.",
            )
            .allow_origin(config.analytics_origin.clone()),
        )
        .purpose(PurposeDef::new(
            OFFERS,
            "Send me offers by email",
            "At most two emails a month with our offers. You can stop them at any time on your account page.",
        ));
    ConsentConfig::new(policy)
        .ledger(Arc::clone(&config.ledger))
        .declare(
            DeclaredCookie::exact(routes::UNITS_COOKIE, Category::PREFERENCES)
                .purpose("Remembers whether sizes are shown in millimetres or inches")
                .duration("1 year"),
        )
        .declare(
            DeclaredCookie::exact("_sa", Category::ANALYTICS)
                .provider("Inkwell Analytics")
                .purpose("Distinguishes visits for aggregate statistics")
                .duration("1 year"),
        )
        .csp(Csp::new())
        .privacy_url("/privacy")
}

/// The shop, with the consentry layer in front of every route.
///
/// # Errors
/// A [`ConfigError`] when the consentry configuration is invalid.
pub fn app(config: ShopConfig) -> Result<Router, ConfigError> {
    let (routes, layer) = routes(config)?;
    Ok(routes.layer(layer))
}

/// The same router with no consentry layer in front: what `scripts/bench-shop` compares
/// the shop with, on a route that needs no layer (`/static/shop.css`), to measure the
/// layer's cost. Every page that needs the layer answers `500` here.
///
/// # Errors
/// A [`ConfigError`] when the consentry configuration is invalid.
pub fn app_without_consentry(config: ShopConfig) -> Result<Router, ConfigError> {
    Ok(routes(config)?.0)
}

/// The shop's routes and state, and the consentry layer to put in front of them.
fn routes(config: ShopConfig) -> Result<(Router, consentry::ConsentryLayer), ConfigError> {
    let consent = consent_config(&config);
    let referral = referral_config();
    let partners = referral
        .partners()
        .iter()
        .map(|p| (p.id().to_owned(), p.name().to_owned()))
        .collect();
    let layer = Consentry::builder(config.keyring)
        .session(SessionConfig::with_shared_store(Arc::clone(&config.store)))
        .consent(consent)
        .referral(referral)
        .clock(Arc::clone(&config.clock))
        .build()?;
    let shop = Shop(Arc::new(ShopData {
        analytics_origin: config.analytics_origin,
        orders: orders::Orders::default(),
        accounts: config.accounts,
        ledger: Arc::clone(&config.ledger),
        clock: config.clock,
        purposes: layer.purposes().ok_or_else(|| ConfigError::Invalid {
            part: consentry::Part::Consent,
            setting: "consent",
            reason: "the shop records purpose decisions, so it needs consent".to_owned(),
        })?,
        partners,
    }));
    let routes = Router::new()
        .route("/", get(routes::catalogue))
        .route("/cart", get(routes::cart).post(routes::add_to_cart))
        .route("/login", get(routes::login_page).post(routes::login))
        .route(
            "/register",
            get(routes::register_page).post(routes::register),
        )
        .route("/account", get(routes::account))
        .route("/account/offers", post(routes::set_offers))
        .route("/logout", post(routes::logout))
        .route("/privacy", get(routes::privacy))
        .route("/preferences", post(routes::set_preferences))
        .route("/checkout", post(routes::checkout))
        .route("/orders/{id}", get(routes::order))
        .route("/admin/partners", get(routes::partner_report))
        .route("/admin/consent", get(routes::consent_report))
        .route("/admin/consent/export", get(routes::consent_export))
        .route("/static/shop.css", get(routes::stylesheet))
        .fallback(routes::not_found)
        .with_state(shop)
        // The shop's own state-changing routes refuse cross-site requests; the consent
        // endpoint, inside the consentry layer, keeps its own (stricter) check.
        .layer(CsrfLayer::new().with_rejection_response(routes::cross_site_refused as fn(_) -> _));
    Ok((routes, layer))
}
