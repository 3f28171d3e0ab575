//! The tower middleware: [`ConsentryLayer`] makes a [`ConsentryService`] around an app, whose
//! calls return the unboxed [`ResponseFuture`] with a [`ConsentryBody`].
//!
//! This is the only module that knows every part. A request goes through them in a fixed
//! order (see `ARCHITECTURE.md` at the repository root): each part's `read` on the way in,
//! the app or the consent endpoint, then each part's `respond` on the way out.

mod body;
mod caching;
mod future;
mod layer;
#[allow(
    clippy::module_inception,
    reason = "the tower-http layout: layer, service, future"
)]
mod service;

use std::sync::Arc;

use crate::clock::Clock;

pub use body::ConsentryBody;
pub use future::ResponseFuture;
pub use layer::ConsentryLayer;
pub use service::ConsentryService;

use crate::consent::{ConsentPart, ConsentRead};
use crate::endpoint::Endpoint;
use crate::gate::{GatePart, GateRead};
use crate::purpose::Purposes;
use crate::referral::{ReferralPart, ReferralRead};
use crate::render::Renderer;
use crate::session::{Session, SessionPart};

/// The parts of one layer, side by side; what every request of the layer shares.
pub(crate) struct Shared {
    /// The one clock every part reads (through a per-request `clock::Moment`).
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) session: Option<Arc<SessionPart>>,
    pub(crate) consent: Option<ConsentSide>,
    /// Only with consent: the cookie is written only when the partner's category is granted.
    pub(crate) referral: Option<Arc<ReferralPart>>,
}

/// Consent with its response side (the gate), the renderer and the endpoint.
pub(crate) struct ConsentSide {
    pub(crate) consent: Arc<ConsentPart>,
    pub(crate) gate: Arc<GatePart>,
    pub(crate) renderer: Arc<Renderer>,
    pub(crate) endpoint: Arc<Endpoint>,
    /// Purpose decisions, handed to the app by `ConsentryLayer::purposes`.
    pub(crate) purposes: Purposes,
}

/// What each part read from one request, for its response side.
pub(crate) struct Reads {
    /// The request's time, if a part read it on the way in; the way out continues it.
    now: Option<u64>,
    session: Option<Session>,
    consent: Option<(ConsentRead, GateRead)>,
    referral: Option<ReferralRead>,
}
