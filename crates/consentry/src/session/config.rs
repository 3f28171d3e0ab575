//! Session settings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use consentry_store::SessionStore;

use crate::cookies::{SameSite, Scope};
use crate::error::{ConfigError, Part};

/// How sessions behave: where records live, when they expire, and the cookie.
///
/// Both limits are enforced on every request, from the signed timestamps in the cookie:
/// a session ends after [`idle_timeout`](SessionConfig::idle_timeout) without a visit and
/// after [`absolute_lifetime`](SessionConfig::absolute_lifetime) in any case. A session a
/// handler marks with [`Session::remember_for`](crate::Session::remember_for) ("remember
/// me") has its own limits instead.
///
/// ```
/// use std::time::Duration;
/// use consentry::{SameSite, SessionConfig};
/// use consentry::store::MemoryStore;
///
/// let sessions = SessionConfig::new(MemoryStore::new())
///     .idle_timeout(Duration::from_secs(20 * 60))
///     .absolute_lifetime(Duration::from_secs(8 * 3600))
///     .cookie_name("app_session")             // sent as __Host-app_session
///     .same_site(SameSite::Strict)
///     .browser_session(true);                 // no Max-Age: gone when the browser closes
/// # let _ = sessions;
/// ```
#[derive(Clone)]
pub struct SessionConfig {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) idle_timeout: Duration,
    pub(crate) absolute_lifetime: Duration,
    pub(crate) refresh_after: Option<Duration>,
    pub(crate) retry_after: Duration,
    pub(crate) cookie_name: String,
    pub(crate) scope: Scope,
    pub(crate) browser_session: bool,
    pub(crate) max_remember: Duration,
}

impl SessionConfig {
    /// Default idle timeout: 30 minutes.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
    /// Default absolute lifetime: 12 hours.
    pub const DEFAULT_ABSOLUTE_LIFETIME: Duration = Duration::from_secs(12 * 3600);
    /// Default `Retry-After` of the 503 answer to a store failure: 5 seconds.
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
    /// Default longest "remember me" ([`SessionConfig::max_remember`]): 30 days.
    pub const DEFAULT_MAX_REMEMBER: Duration = Duration::from_secs(30 * 24 * 3600);

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
            cookie_name: "sid".to_owned(),
            scope: Scope::default(),
            browser_session: false,
            max_remember: Self::DEFAULT_MAX_REMEMBER,
        }
    }

    /// The cookie's base name (default `sid`). The layer adds the prefix the attributes
    /// allow: `__Host-<name>` without a domain, `__Secure-<name>` with one, none with
    /// development cookies.
    #[must_use]
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// Sends the cookie to `domain` and its subdomains (`Domain=`); the name then takes the
    /// `__Secure-` prefix, since `__Host-` cookies cannot have a domain. Without it (the
    /// default) the cookie is sent to this host only, which is safer: a sibling subdomain
    /// cannot read or overwrite it.
    ///
    /// ```
    /// use consentry::SessionConfig;
    /// use consentry::store::MemoryStore;
    ///
    /// // Sent as __Secure-sid to example.com and every subdomain.
    /// let sessions = SessionConfig::new(MemoryStore::new()).domain("example.com");
    /// # let _ = sessions;
    /// ```
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.scope.domain = Some(domain.into());
        self
    }

    /// The cookie's `SameSite` (default [`SameSite::Lax`]).
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.scope.same_site = same_site;
        self
    }

    /// With `true`, the cookie has no `Max-Age`: the browser drops it when it closes (the
    /// server-side limits still apply). Sessions marked with
    /// [`Session::remember_for`](crate::Session::remember_for) keep a lasting cookie.
    #[must_use]
    pub fn browser_session(mut self, enabled: bool) -> Self {
        self.browser_session = enabled;
        self
    }

    /// The longest [`Session::remember_for`](crate::Session::remember_for) may ask for
    /// (default 30 days); longer requests are cut to it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use consentry::SessionConfig;
    /// use consentry::store::MemoryStore;
    ///
    /// let sessions = SessionConfig::new(MemoryStore::new())
    ///     .max_remember(Duration::from_secs(14 * 24 * 3600));
    /// # let _ = sessions;
    /// ```
    #[must_use]
    pub fn max_remember(mut self, longest: Duration) -> Self {
        self.max_remember = longest;
        self
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
        let name_ok = !self.cookie_name.is_empty()
            && self.cookie_name.len() <= 64
            && !self.cookie_name.starts_with("__")
            && self
                .cookie_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(ConfigError::invalid(
                Part::Session,
                "cookie_name",
                format!(
                    "{:?} must be 1-64 characters of a-z, A-Z, 0-9, - and _, without a leading __ (the prefix is added for you)",
                    self.cookie_name
                ),
            ));
        }
        if let Some(domain) = &self.scope.domain {
            let host = domain.strip_prefix('.').unwrap_or(domain);
            let valid = !host.is_empty()
                && host.len() <= 253
                && host.contains('.')
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !valid {
                return Err(ConfigError::invalid(
                    Part::Session,
                    "domain",
                    format!("{domain:?} must be a host name such as example.com"),
                ));
            }
        }
        if self.max_remember.as_secs() == 0 {
            return Err(ConfigError::invalid(
                Part::Session,
                "max_remember",
                "must be at least one second",
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
            .field("cookie_name", &self.cookie_name)
            .field("domain", &self.scope.domain)
            .field("same_site", &self.scope.same_site)
            .field("browser_session", &self.browser_session)
            .field("max_remember", &self.max_remember)
            .finish_non_exhaustive()
    }
}
