//! Consent-aware session middleware for [`tower`](https://docs.rs/tower) services.
//!
//! One layer gives a web app signed first-party session cookies that carry no personal
//! data (a random id and two timestamps), with everything about the visitor kept
//! server-side in a [`SessionStore`](store::SessionStore); consent per category, proven in
//! a ledger and enforced on the server (a `Set-Cookie` gate and an optional CSP); and
//! partner referral.
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
//! Each request passes every part twice: its `read` on the way in (the `Cookie` header is
//! parsed once), its `respond` on the way out. Handlers find [`Session`], [`Consent`],
//! [`Page`] (rendering) and [`Referral`] in the request extensions, or extract them with
//! the `axum` feature.
//!
//! # Features
//! - `banner` (default): the WebAssembly consent banner, embedded and served by the layer.
//! - `axum`: [`Session`], [`Consent`], [`Page`] and `Option<Referral>` as extractors,
//!   [`SessionError`] as a response.
//! - `testing`: `testing::Client`, an in-process client with a cookie jar, and
//!   `store::conformance`, the behaviour suite for store implementations.
//! - `maud`, `askama`: [`Html`], what the rendering helpers return, is safe markup in
//!   those template engines (no `|safe` or `PreEscaped` needed).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The layers of the crate, top to bottom; a module imports only from layers below it
// (checked by tests/architecture.rs). See ARCHITECTURE.md.
//
// service, builder, axum, testing,  the only modules that know every part
// fuzzing, internals
#[cfg(feature = "axum")]
mod axum;
mod builder;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals;
mod service;
#[cfg(feature = "testing")]
pub mod testing;
// endpoint, purpose, render         the /consent routes, purposes, page rendering
mod endpoint;
mod purpose;
mod render;
// session, consent, gate, referral, ledger, store     features: never each other
mod consent;
mod gate;
pub mod ledger;
mod referral;
mod session;
pub mod store;
// keys, codec, cookies, clock, assets, origin, random, html, error     mechanisms
mod assets;
mod clock;
mod codec;
mod cookies;
mod error;
mod hashing;
pub mod html;
mod keys;
mod origin;
mod random;
// policy                            the shared vocabulary: imports nothing of the crate
mod policy;

#[cfg(feature = "axum")]
pub use crate::axum::MissingLayer;
pub use crate::builder::{ConsentConfig, Consentry, ConsentryBuilder};
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::consent::{Consent, ConsentState};
pub use crate::cookies::SameSite;
pub use crate::error::{ConfigError, Part, PurposeError, SessionError};
pub use crate::gate::Csp;
pub use crate::html::Html;
pub use crate::keys::{Key, Keyring};
pub use crate::policy::{
    Category, CategoryDef, DeclaredCookie, Policy, PurposeDef, RevisionNote, Text,
};
pub use crate::purpose::{PurposeChange, PurposeDecision, Purposes};
pub use crate::referral::{Attribution, Partner, Referral, ReferralConfig, Via};
pub use crate::render::{BannerTexts, Page};
pub use crate::service::{ConsentryBody, ConsentryLayer, ConsentryService, ResponseFuture};
pub use crate::session::{Session, SessionConfig};
pub use consentry_store::BoxError;

/// The README's examples, compiled and run as doc tests.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
