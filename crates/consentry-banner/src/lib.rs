//! The consentry consent banner.
//!
//! Compiled to WebAssembly (feature `dom`, on by default), it enhances the banner the server
//! rendered (or, with feature `static`, builds it itself on a site without a server),
//! records the visitor's choice, activates `type="text/plain" data-consent="…"` scripts
//! once granted and exposes `window.consentry`. Without `dom` this crate is the part servers share with it: the
//! markup renderer ([`markup`]), the configuration the page carries ([`config`]), the
//! decision logic ([`logic`]) and the server ↔ banner contract ([`protocol`]), all plain Rust.
//!
//! ```
//! use consentry_banner::logic::{granted, switches, Action};
//! use consentry_banner::markup::Category;
//!
//! let categories: Vec<Category> = ["necessary", "analytics", "marketing"]
//!     .iter()
//!     .map(|id| Category {
//!         id: (*id).into(),
//!         label: (*id).into(),
//!         description: String::new(),
//!         locked: *id == "necessary",
//!         ..Category::default()
//!     })
//!     .collect();
//! // "Accept all" under Global Privacy Control leaves marketing off.
//! let gpc_denies = ["marketing".to_owned()];
//! let choice = granted(switches(&categories), &gpc_denies, &Action::AcceptAll, true);
//! assert_eq!(choice, ["necessary", "analytics"]);
//! ```

#![forbid(unsafe_code)]
// What the WebAssembly runs appends single characters with `push_str`: `String::push(char)`
// would bring the UTF-8 encoder along.
#![allow(clippy::single_char_add_str)]

/// The banner's stylesheet. Themable through the `--consentry-*` custom properties at its
/// top.
pub const CSS: &str = include_str!("banner.css");

pub mod config;
#[cfg(feature = "dom")]
pub mod dom;
#[cfg(any(test, feature = "static"))]
mod fields;
pub mod logic;
pub mod markup;
pub mod protocol;
mod text;
