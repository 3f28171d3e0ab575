//! [`ConsentryLayer`]: wraps an app in a [`ConsentryService`].

use std::sync::Arc;

use tower_layer::Layer;

use super::{ConsentryService, Shared};
use crate::purpose::Purposes;

/// The consentry middleware, built by [`Consentry::builder`](crate::Consentry::builder).
///
/// Cheap to clone; clones share configuration, stores and the ledger.
///
/// ```
/// use consentry::{Consentry, Key, Keyring, SessionConfig};
/// use consentry::store::MemoryStore;
/// use tower::Layer as _;
///
/// let layer = Consentry::builder(Keyring::new(1, Key::generate()))
///     .session(SessionConfig::new(MemoryStore::new()))
///     .build()?;
/// let app = layer.layer(tower::service_fn(|_: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("hello")))
/// }));
/// # let _ = app;
/// # Ok::<(), consentry::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ConsentryLayer {
    shared: Arc<Shared>,
}

impl ConsentryLayer {
    /// The parts, for the fuzz entry points.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Consent to the policy's purposes beyond cookies, for signed-in accounts; `None`
    /// without consent ([`ConsentryBuilder::consent`](crate::ConsentryBuilder::consent)).
    /// Keep it in the app's state.
    ///
    /// ```
    /// use consentry::ledger::MemoryLedger;
    /// use consentry::{ConsentConfig, Consentry, Key, Keyring, Policy, PurposeDef};
    ///
    /// let policy = Policy::new(1).purpose(PurposeDef::new("email_marketing", "Offers", "By email."));
    /// let layer = Consentry::builder(Keyring::new(1, Key::generate()))
    ///     .consent(ConsentConfig::new(policy).ledger(MemoryLedger::new()))
    ///     .build()?;
    /// assert_eq!(layer.purposes().unwrap().declared()[0].id(), "email_marketing");
    /// # Ok::<(), consentry::ConfigError>(())
    /// ```
    pub fn purposes(&self) -> Option<Purposes> {
        self.shared
            .consent
            .as_ref()
            .map(|side| side.purposes.clone())
    }

    pub(crate) fn new(shared: Shared) -> Self {
        Self {
            shared: Arc::new(shared),
        }
    }
}

impl std::fmt::Debug for ConsentryLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentryLayer")
            .field("sessions", &self.shared.session.is_some())
            .field("consent", &self.shared.consent.is_some())
            .field("referral", &self.shared.referral.is_some())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for ConsentryLayer {
    type Service = ConsentryService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConsentryService::new(inner, Arc::clone(&self.shared))
    }
}
