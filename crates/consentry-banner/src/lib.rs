//! The consentry consent banner.
//!
//! Compiled to WebAssembly (feature `dom`, on by default), it enhances the banner markup on
//! the page: a server renders it (see [`markup`]), and on a static site the loader's
//! stand-in for the server (`site.js`, in the npm package) renders the same markup from the
//! page's JSON configuration ([`config`]). It records the visitor's choice, activates
//! `type="text/plain" data-consent="…"` scripts once granted and exposes
//! `window.consentry`. Without `dom` this crate is the part servers share with it: the
//! markup renderer ([`markup`]), the configuration writer ([`config`]), the decision logic
//! ([`logic`]) and the server ↔ banner contract ([`protocol`]), all plain Rust.
//!
//! ```
//! use consentry_banner::logic::{allowed, consent_mode};
//!
//! let granted = ["necessary".to_owned(), "analytics".to_owned()];
//! // `<script type="text/plain" data-consent="analytics">` runs, `!analytics` does not.
//! assert!(allowed("analytics", true, &granted) && !allowed("!analytics", true, &granted));
//! assert!(consent_mode(&granted).contains(&("analytics_storage", true)));
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
pub mod logic;
pub mod markup;
pub mod protocol;
mod text;
