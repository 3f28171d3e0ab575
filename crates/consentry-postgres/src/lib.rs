//! PostgreSQL for consentry: [`PgStore`], a session store, and [`PgLedger`], the consent
//! ledger, for sites that run several app instances and want one queryable proof of
//! consent.
//!
//! ```no_run
//! use std::time::Duration;
//! use consentry_postgres::Postgres;
//!
//! # #[tokio::main] async fn main() -> Result<(), consentry_postgres::Error> {
//! let db = Postgres::builder("postgres://shop@db.internal/shop")
//!     .timeout(Duration::from_millis(500))
//!     .connect()
//!     .await?; // creates or migrates the schema
//! let store = db.store(); // consentry::SessionConfig::new(store)
//! let ledger = db.ledger(); // consentry::ConsentConfig::ledger(ledger)
//! # let _ = (store, ledger); Ok(()) }
//! ```
//!
//! The crate depends on the store contract (`consentry-store`) and on the ledger trait of
//! `consentry` (without its default features).
//!
//! - **Sessions** live in `consentry_sessions` (the SHA-256 of the session id as key, a
//!   deadline) and `consentry_session_fields` (one row per key of the record), so
//!   concurrent requests that change different keys both persist and a deleted session is
//!   never brought back. Expiry is enforced in every query by the database's clock and swept
//!   in the background.
//! - **Decisions** are appended to `consentry_ledger` with group commit: decisions that
//!   arrive together are inserted in one transaction, and each is acknowledged only after
//!   its `COMMIT`. Indexes serve lookups by consent id, by subject and by time; daily
//!   figures are computed in SQL; records older than the retention are deleted daily.
//! - **Faults**: every operation is bounded by the timeout. While PostgreSQL is down, session
//!   requests get `503` with `Retry-After` and grants are refused while denials apply (the
//!   layer's rules for any store and ledger); connections are re-made when it returns,
//!   without a restart.
//!
//! Connections are plain TCP (or a Unix socket): run PostgreSQL on the same host or a
//! private network, or put a TLS tunnel in front.

#![forbid(unsafe_code)]

mod ledger;
mod schema;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

use std::fmt;
use std::future::Future;
use std::str::FromStr as _;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

pub use ledger::{PgLedger, PgLedgerBuilder};
pub use store::PgStore;

/// Connecting to PostgreSQL or preparing its schema failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a PostgreSQL connection string.
    #[error("invalid PostgreSQL URL: {0}")]
    InvalidUrl(#[source] tokio_postgres::Error),
    /// A setting cannot work.
    #[error("invalid PostgreSQL setting `{setting}`: {reason}")]
    Invalid {
        /// The setting, as its builder method is named.
        setting: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The database could not be reached in time, or refused a query.
    #[error("PostgreSQL unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The schema in the database is newer than this version of the crate knows.
    #[error(
        "the database's consentry schema is version {found}, newer than this build's {known}: upgrade consentry-postgres"
    )]
    SchemaTooNew {
        /// The version found.
        found: i32,
        /// The newest version this build knows.
        known: i32,
    },
}

/// A pool of connections with the consentry schema in place; hands out the store and the
/// ledger. Cheap to clone.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    timeout: Duration,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Postgres")
            .field("timeout", &self.timeout)
            .field("status", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// Default per-operation timeout: 1 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
    /// Default pool size: 16 connections.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

    /// Starts configuring a connection to `url`
    /// (`postgres://user[:password]@host[:port]/database`, or the key-value form).
    pub fn builder(url: &str) -> PostgresBuilder {
        PostgresBuilder {
            url: url.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// A session store on this database, sweeping expired sessions every five minutes.
    /// Call inside a Tokio runtime.
    pub fn store(&self) -> PgStore {
        PgStore::new(self.clone())
    }

    /// The consent ledger on this database, with the default retention. Call inside a Tokio
    /// runtime.
    pub fn ledger(&self) -> PgLedger {
        self.ledger_builder().build()
    }

    /// The consent ledger with other settings (retention, batch size).
    pub fn ledger_builder(&self) -> PgLedgerBuilder {
        PgLedgerBuilder::new(self.clone())
    }

    /// A connection from the pool, within the timeout.
    async fn connection(&self) -> Result<Object, Failure> {
        self.bounded(async { self.pool.get().await.map_err(Failure::from) })
            .await
    }

    /// Runs `operation`, failing with [`Failure::Timeout`] past the timeout.
    async fn bounded<T>(
        &self,
        operation: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        tokio::time::timeout(self.timeout, operation)
            .await
            .unwrap_or(Err(Failure::Timeout))
    }
}

/// Configures a [`Postgres`]; see [`Postgres::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct PostgresBuilder {
    url: String,
    timeout: Duration,
    max_connections: usize,
}

impl PostgresBuilder {
    /// Bounds every operation, waiting for a connection included (default 1 s): a slower
    /// answer is a failure the layer answers with `503`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most connections kept open (default 16).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Connects and creates or migrates the schema (under an advisory lock, so instances
    /// starting together take turns). Call inside a Tokio runtime.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`], [`Error::Invalid`] for a zero timeout or pool size,
    /// [`Error::Unavailable`] when the database cannot be reached or refuses the schema,
    /// [`Error::SchemaTooNew`].
    pub async fn connect(self) -> Result<Postgres, Error> {
        if self.timeout.is_zero() {
            return Err(Error::Invalid {
                setting: "timeout",
                reason: "must be longer than zero",
            });
        }
        if self.max_connections == 0 {
            return Err(Error::Invalid {
                setting: "max_connections",
                reason: "must be at least 1",
            });
        }
        let mut config = tokio_postgres::Config::from_str(&self.url).map_err(Error::InvalidUrl)?;
        config.connect_timeout(self.timeout);
        if config.get_application_name().is_none() {
            config.application_name("consentry");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(self.max_connections)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.timeout))
            .create_timeout(Some(self.timeout))
            .recycle_timeout(Some(self.timeout))
            .build()
            .map_err(|error| Error::Unavailable(Box::new(error)))?;
        let db = Postgres {
            pool,
            timeout: self.timeout,
        };
        schema::migrate(&db).await?;
        Ok(db)
    }
}

/// What went wrong in one operation, before it becomes the caller's error type.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("timed out")]
    Timeout,
    #[error(transparent)]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Query(#[from] tokio_postgres::Error),
    #[error("stored data is not what consentry wrote: {0}")]
    Data(String),
}

impl From<Failure> for consentry_store::StoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Timeout | Failure::Pool(deadpool_postgres::PoolError::Timeout(_)) => {
                Self::Timeout
            }
            other => {
                tracing::warn!(error = %other, "postgres session store operation failed");
                Self::unavailable(other)
            }
        }
    }
}

impl From<Failure> for consentry::ledger::LedgerError {
    fn from(failure: Failure) -> Self {
        tracing::warn!(error = %failure, "postgres consent ledger operation failed");
        Self::Unavailable(Box::new(failure))
    }
}
