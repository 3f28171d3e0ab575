//! Inkwell Print Shop: the example server for consentry.
//!
//! [`app`] builds the whole site as an axum [`Router`], so tests can drive it with
//! `tower::ServiceExt::oneshot` and `main` can serve it.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use consentry::store::{MemoryStore, SessionStore};
use consentry::{Clock, ConfigError, Consentry, Key, Keyring, SessionConfig, SystemClock};

pub mod accounts;
pub mod catalog;
pub mod html;
mod routes;

/// Everything the shop is built from.
pub struct ShopConfig {
    /// The master secret for cookie signing.
    pub key: Key,
    /// Where sessions live.
    pub store: Arc<dyn SessionStore>,
    /// The time source (tests move it).
    pub clock: Arc<dyn Clock>,
}

impl ShopConfig {
    /// Embedded defaults: memory store, system clock.
    pub fn new(key: Key) -> Self {
        Self {
            key,
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(SystemClock),
        }
    }
}

struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> u64 {
        self.0.now()
    }
}

/// The shop, with the consentry layer in front of every route.
///
/// # Errors
/// A [`ConfigError`] when the consentry configuration is invalid.
pub fn app(config: ShopConfig) -> Result<Router, ConfigError> {
    let layer = Consentry::builder(Keyring::new(1, config.key))
        .session(SessionConfig::with_shared_store(Arc::clone(&config.store)))
        .clock(SharedClock(config.clock))
        .build()?;
    Ok(Router::new()
        .route("/", get(routes::catalogue))
        .route("/cart", get(routes::cart).post(routes::add_to_cart))
        .route("/login", get(routes::login_page).post(routes::login))
        .route("/account", get(routes::account))
        .route("/logout", post(routes::logout))
        .route("/static/shop.css", get(routes::stylesheet))
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn(routes::same_origin_only))
        .layer(layer))
}
