//! Session settings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use consentry_store::SessionStore;

use crate::error::{ConfigError, Part};

/// How sessions behave: where records live and when they expire.
///
/// Both limits are enforced on every request, from the signed timestamps in the cookie:
/// a session ends after [`idle_timeout`](SessionConfig::idle_timeout) without a visit and
/// after [`absolute_lifetime`](SessionConfig::absolute_lifetime) in any case.
///
/// ```
/// use std::time::Duration;
/// use consentry::SessionConfig;
/// use consentry::store::MemoryStore;
///
/// let sessions = SessionConfig::new(MemoryStore::new())
///     .idle_timeout(Duration::from_secs(20 * 60))
///     .absolute_lifetime(Duration::from_secs(8 * 3600));
/// # let _ = sessions;
/// ```
#[derive(Clone)]
pub struct SessionConfig {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) idle_timeout: Duration,
    pub(crate) absolute_lifetime: Duration,
    pub(crate) refresh_after: Option<Duration>,
    pub(crate) retry_after: Duration,
}

impl SessionConfig {
    /// Default idle timeout: 30 minutes.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
    /// Default absolute lifetime: 12 hours.
    pub const DEFAULT_ABSOLUTE_LIFETIME: Duration = Duration::from_secs(12 * 3600);
    /// Default `Retry-After` of the 503 answer to a store failure: 5 seconds.
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

    /// Sessions kept in `store`, with the default limits.
    pub fn new(store: impl SessionStore) -> Self {
        Self::with_shared_store(Arc::new(store))
    }

    /// Sessions kept in a store shared with other code.
    pub fn with_shared_store(store: Arc<dyn SessionStore>) -> Self {
        Self {
            store,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            absolute_lifetime: Self::DEFAULT_ABSOLUTE_LIFETIME,
            refresh_after: None,
            retry_after: Self::DEFAULT_RETRY_AFTER,
        }
    }

    /// Ends a session after this long without a request that carries it.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Ends a session this long after it began, however active.
    #[must_use]
    pub fn absolute_lifetime(mut self, lifetime: Duration) -> Self {
        self.absolute_lifetime = lifetime;
        self
    }

    /// How old the cookie's last-seen time may get before a request renews it (and the
    /// store's deadline). Default: a quarter of the idle timeout. Renewing costs one store
    /// write, so this bounds store traffic from requests that do not use the session.
    #[must_use]
    pub fn refresh_after(mut self, after: Duration) -> Self {
        self.refresh_after = Some(after);
        self
    }

    /// The `Retry-After` sent with the 503 answer when the store fails.
    #[must_use]
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = after;
        self
    }

    pub(crate) fn refresh_interval(&self) -> u64 {
        self.refresh_after
            .unwrap_or(self.idle_timeout / 4)
            .as_secs()
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.idle_timeout.as_secs() == 0 {
            return Err(ConfigError::invalid(
                Part::Session,
                "idle_timeout",
                "must be at least one second",
            ));
        }
        if self.absolute_lifetime < self.idle_timeout {
            return Err(ConfigError::invalid(
                Part::Session,
                "absolute_lifetime",
                "must not be shorter than idle_timeout",
            ));
        }
        if self
            .refresh_after
            .is_some_and(|after| after >= self.idle_timeout)
        {
            return Err(ConfigError::invalid(
                Part::Session,
                "refresh_after",
                "must be shorter than idle_timeout",
            ));
        }
        if self.retry_after.as_secs() == 0 {
            return Err(ConfigError::invalid(
                Part::Session,
                "retry_after",
                "must be at least one second",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_lifetime", &self.absolute_lifetime)
            .field("refresh_after", &self.refresh_after)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}
