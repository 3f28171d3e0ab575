//! A Redis [`SessionStore`] for consentry, for sites that run several app instances.
//!
//! ```no_run
//! use std::time::Duration;
//! use consentry_redis::RedisStore;
//!
//! # #[tokio::main] async fn main() -> Result<(), consentry_redis::ConfigError> {
//! let store = RedisStore::builder("redis://127.0.0.1:6379/")
//!     .prefix("shop:session:")
//!     .timeout(Duration::from_millis(300))
//!     .build()?;
//! // Then: consentry::SessionConfig::new(store)
//! # let _ = store; Ok(()) }
//! ```
//!
//! The crate depends on the store contract (`consentry-store`) alone, not on the layer.
//!
//! Each session is one Redis hash under `<prefix><sha-256 of the id>`, expiring with
//! `EXPIREAT` at the session's deadline. Updates run as one Lua script that merges the
//! changed fields into an existing hash only, so concurrent requests that change different
//! keys both persist and a deleted session is never brought back. Every call is bounded by
//! a timeout; failures become [`StoreError`]s, which the layer answers with `503`.

#![forbid(unsafe_code)]

#[cfg(feature = "testing")]
pub mod testing;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use consentry_store::{Changes, Record, SessionKey, SessionStore, StoreError, StoreFuture};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, Client, RedisError, Script};

/// The hash field that keeps an empty session's hash in existence. User keys never start
/// with a NUL byte in practice; it is filtered out on load.
const MARKER: &str = "\u{0}consentry";

/// Applies changes to an existing session hash only, then moves its expiry.
/// KEYS[1] = hash; ARGV[1] = deadline; ARGV[2] = number of removed fields;
/// then the removed fields; then field/value pairs to set.
const UPDATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local removed = tonumber(ARGV[2])
for i = 3, 2 + removed do redis.call('HDEL', KEYS[1], ARGV[i]) end
local i = 3 + removed
while i < #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('EXPIREAT', KEYS[1], ARGV[1])
return 1
";

/// The store cannot be built as configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL is not a Redis URL (`redis://[user:password@]host[:port][/db]`).
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(#[source] RedisError),
    /// The timeout is zero: every operation would time out.
    #[error("the Redis timeout must be longer than zero")]
    ZeroTimeout,
    /// The Redis client refused the connection settings.
    #[error("invalid Redis connection settings: {0}")]
    Client(#[source] RedisError),
}

/// A [`SessionStore`] on Redis.
///
/// The connection is made on first use and re-made automatically after failures, so the
/// store recovers by itself when Redis comes back.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    update: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Default per-operation timeout: 500 ms.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
    /// Default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "consentry:session:";

    /// A store for the Redis at `url` (`redis://[user:password@]host[:port][/db]`) with
    /// the default prefix and timeout. No connection is made yet. Must be called inside a
    /// Tokio runtime.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] when the URL is invalid.
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        Self::builder(url).build()
    }

    /// Starts configuring a store for the Redis at `url`.
    pub fn builder(url: &str) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.to_owned(),
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    fn key(&self, key: &SessionKey) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn bounded<T>(
        &self,
        operation: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, operation).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if error.is_timeout() => Err(StoreError::Timeout),
            Ok(Err(error)) => {
                tracing::warn!(%error, "redis session store operation failed");
                Err(StoreError::unavailable(error))
            }
            Err(_) => Err(StoreError::Timeout),
        }
    }
}

/// Configures a [`RedisStore`]; see [`RedisStore::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
}

impl RedisStoreBuilder {
    /// Stores keys under `prefix` instead of `consentry:session:`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Bounds every operation, connecting included (default 500 ms); a slower answer is a
    /// [`StoreError::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the store. No connection is made yet; call inside a Tokio runtime.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] when the URL is invalid, [`ConfigError::ZeroTimeout`]
    /// for a zero timeout.
    pub fn build(self) -> Result<RedisStore, ConfigError> {
        if self.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        let client = Client::open(self.url.as_str()).map_err(ConfigError::InvalidUrl)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(ConfigError::Client)?;
        Ok(RedisStore {
            connection,
            prefix: self.prefix,
            timeout: self.timeout,
            update: Script::new(UPDATE),
        })
    }
}

impl SessionStore for RedisStore {
    fn load<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, Option<Record>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let key = self.key(key);
            let fields: Vec<(String, String)> = self.bounded(connection.hgetall(&key)).await?;
            // A record exists when its marker does, even with no field of its own.
            if fields.is_empty() {
                return Ok(None);
            }
            Ok(Some(
                fields
                    .into_iter()
                    .filter(|(field, _)| field != MARKER)
                    .collect(),
            ))
        })
    }

    fn create<'a>(
        &'a self,
        key: &'a SessionKey,
        record: &'a Record,
        deadline: u64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let key = self.key(key);
            let mut pipe = redis::pipe();
            pipe.atomic()
                .del(&key)
                .ignore()
                .hset(&key, MARKER, "1")
                .ignore();
            for (field, value) in record {
                pipe.hset(&key, field, value).ignore();
            }
            pipe.cmd("EXPIREAT").arg(&key).arg(deadline).ignore();
            self.bounded(pipe.query_async::<()>(&mut connection)).await
        })
    }

    fn update<'a>(
        &'a self,
        key: &'a SessionKey,
        changes: &'a Changes,
        deadline: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let removed: Vec<&str> = changes.removed().collect();
            let mut invocation = self.update.key(self.key(key));
            invocation.arg(deadline).arg(removed.len());
            for field in &removed {
                invocation.arg(*field);
            }
            for (field, value) in changes.set() {
                invocation.arg(field).arg(value);
            }
            let updated: i64 = self
                .bounded(invocation.invoke_async(&mut connection))
                .await?;
            Ok(updated == 1)
        })
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let key = self.key(key);
            self.bounded(connection.del::<_, ()>(&key)).await
        })
    }
}
