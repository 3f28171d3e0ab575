//! Typed errors: configuration problems are found at build time, store problems at
//! request time.

use std::error::Error as StdError;

/// A boxed error from a store backend.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A configuration mistake, reported by a builder instead of a panic at request time.
///
/// ```
/// use consentry::{ConfigError, Key};
///
/// let err = Key::from_bytes(&[7; 16]).unwrap_err();
/// assert!(matches!(err, ConfigError::SecretTooShort { len: 16 }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The secret has fewer than [`Key::MIN_LEN`](crate::Key::MIN_LEN) bytes.
    #[error("secret is {len} bytes long; at least 32 random bytes are required")]
    SecretTooShort {
        /// The length of the rejected secret, in bytes.
        len: usize,
    },
    /// The secret text is neither hex nor base64.
    #[error("secret is neither hex nor base64 (standard or URL-safe alphabet)")]
    SecretEncoding,
    /// Two keys in one [`Keyring`](crate::Keyring) share an id.
    #[error("key id {0} appears more than once in the keyring")]
    DuplicateKeyId(u8),
    /// A session setting is out of range.
    #[error("invalid session setting: {0}")]
    Session(&'static str),
    /// The consent policy, cookie registry or endpoint settings are inconsistent.
    #[error("invalid consent setting: {0}")]
    Consent(String),
    /// The partner registry or referral settings are inconsistent.
    #[error("invalid referral setting: {0}")]
    Referral(String),
    /// The consent ledger could not be opened.
    #[error("consent ledger: {0}")]
    Ledger(#[source] std::io::Error),
}

/// A session store could not do what was asked.
///
/// The layer answers `503 Service Unavailable` with `Retry-After` when a request needed
/// the store and it failed; it never starts a fresh session silently.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend is unreachable or refused the operation.
    #[error("session store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The backend did not answer in time.
    #[error("session store timed out")]
    Timeout,
    /// The backend returned data that is not a session record.
    #[error("corrupt session record: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Wraps any backend error as [`StoreError::Unavailable`].
    ///
    /// ```
    /// use consentry::StoreError;
    ///
    /// let err = StoreError::unavailable(std::io::Error::other("connection refused"));
    /// assert!(err.to_string().contains("connection refused"));
    /// ```
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::Unavailable(source.into())
    }
}

/// The consent ledger could not record a decision.
///
/// Grants are then not applied (the endpoint answers 503); denials still are.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// Writing or syncing the record failed.
    #[error("consent ledger write failed: {0}")]
    Io(#[from] std::io::Error),
    /// The ledger is shut down or its writer stopped.
    #[error("consent ledger is closed")]
    Closed,
    /// Another backend failure.
    #[error("consent ledger unavailable: {0}")]
    Unavailable(#[source] BoxError),
}

/// An error from a [`Session`](crate::Session) operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store failed; the layer will answer 503 for this request.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value could not be serialized for storage.
    #[error("session value for key {key:?} could not be serialized: {source}")]
    Serialize {
        /// The session key being written.
        key: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// A stored value does not deserialize into the requested type.
    #[error("session value for key {key:?} does not have the requested type: {source}")]
    Deserialize {
        /// The session key being read.
        key: String,
        /// The deserializer's error.
        #[source]
        source: serde_json::Error,
    },
}
