//! Consent-aware session middleware for [`tower`] services.
//!
//! One layer gives a web app signed first-party session cookies that carry no personal
//! data (a random id and two timestamps), with everything about the visitor kept
//! server-side in a [`SessionStore`](store::SessionStore).
//!
//! ```
//! use consentry::{Consentry, Key, Keyring, Session, SessionConfig, SessionError};
//! use consentry::store::MemoryStore;
//! use http::{Request, Response};
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = Key::from_env("CONSENTRY_SECRET")?.unwrap_or_else(Key::generate);
//! let layer = Consentry::builder(Keyring::new(1, key))
//!     .session(SessionConfig::new(MemoryStore::new()))
//!     .build()?;
//!
//! let app = layer.layer(service_fn(|request: Request<String>| async move {
//!     let session = request.extensions().get::<Session>().cloned().expect("layer installed");
//!     let visits: u64 = session.get("visits").await?.unwrap_or(0) + 1;
//!     session.insert("visits", &visits).await?;
//!     Ok::<_, SessionError>(Response::new(format!("visit number {visits}")))
//! }));
//!
//! let response = app.oneshot(Request::new(String::new())).await?;
//! let cookie = response.headers()["set-cookie"].to_str()?;
//! assert!(cookie.starts_with("__Host-sid=") && cookie.contains("HttpOnly"));
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//! - `banner` (default): the WebAssembly consent banner, embedded and served by the layer.
//! - `axum`: [`Session`] as an extractor and [`SessionError`] as a response.
//! - `testing`: [`store::conformance`], the behaviour suite for store implementations.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "banner")]
mod assets;
#[cfg(feature = "axum")]
mod axum;
mod body;
mod builder;
mod clock;
mod codec;
mod consent;
mod cookies;
mod endpoint;
mod error;
mod gate;
pub mod html;
mod keys;
mod layer;
pub mod ledger;
pub mod origin;
mod referral;
mod session;
pub mod store;

#[cfg(feature = "axum")]
pub use crate::axum::MissingLayer;
pub use crate::body::ConsentryBody;
pub use crate::builder::{Consentry, ConsentryBuilder};
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::consent::{
    BannerTexts, Category, CategoryDef, Consent, ConsentConfig, ConsentState, Policy, Text,
};
pub use crate::error::{BoxError, ConfigError, LedgerError, SessionError, StoreError};
pub use crate::gate::{Csp, DeclaredCookie};
pub use crate::keys::{Key, Keyring};
pub use crate::layer::{ConsentryLayer, ConsentryService, ResponseFuture};
pub use crate::ledger::{ClientIp, ConsentLedger, JsonlLedger, LedgerRecord, MemoryLedger, Source};
pub use crate::referral::{Attribution, Partner, Referral, ReferralConfig, Via};
pub use crate::session::{Session, SessionConfig};

/// The README's examples, compiled and run as doc tests.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
