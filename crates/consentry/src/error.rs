//! Typed errors: configuration problems are found at build time, store and ledger problems
//! at request time.

use std::fmt;
use std::time::Duration;

use consentry_store::StoreError;

/// The part of the layer a setting belongs to, named in [`ConfigError::Invalid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// [`Keyring`](crate::Keyring) and keys.
    Keys,
    /// [`SessionConfig`](crate::SessionConfig).
    Session,
    /// The consent [`Policy`](crate::Policy) and [`ConsentConfig`](crate::ConsentConfig).
    Consent,
    /// The cookie gate: [`DeclaredCookie`](crate::DeclaredCookie)s, strict mode, the CSP.
    Gate,
    /// [`ReferralConfig`](crate::ReferralConfig) and its partners.
    Referral,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Keys => "keys",
            Self::Session => "session",
            Self::Consent => "consent",
            Self::Gate => "gate",
            Self::Referral => "referral",
        })
    }
}

/// A configuration mistake, reported by a builder instead of a panic at request time.
///
/// ```
/// use consentry::{ConfigError, Key, Part, SessionConfig};
/// use consentry::store::MemoryStore;
///
/// let err = Key::from_bytes(&[7; 16]).unwrap_err();
/// assert!(matches!(err, ConfigError::SecretTooShort { len: 16 }));
///
/// let sessions = SessionConfig::new(MemoryStore::new()).idle_timeout(std::time::Duration::ZERO);
/// let err = consentry::Consentry::builder(consentry::Keyring::new(1, consentry::Key::generate()))
///     .session(sessions)
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, ConfigError::Invalid { part: Part::Session, setting: "idle_timeout", .. }));
/// assert_eq!(
///     err.to_string(),
///     "invalid session setting `idle_timeout`: must be at least one second"
/// );
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
    #[error(
        "key id {0} appears more than once in the keyring (the same secret twice, or two secrets whose derived ids collide: generate another)"
    )]
    DuplicateKeyId(u8),
    /// A setting cannot work: which part, which setting (named as its builder method), and
    /// what to change.
    #[error("invalid {part} setting `{setting}`: {reason}")]
    Invalid {
        /// The part the setting belongs to.
        part: Part,
        /// The setting, as its builder method is named.
        setting: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(part: Part, setting: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            part,
            setting,
            reason: reason.into(),
        }
    }
}

/// The consent ledger could not open or record a decision.
///
/// At request time, grants are then not applied (the endpoint answers 503); denials still
/// are.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// Opening, writing or syncing the ledger failed.
    #[error("consent ledger I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The ledger is shut down or its writer stopped.
    #[error("consent ledger is closed")]
    Closed,
    /// Another backend failure.
    #[error("consent ledger unavailable: {0}")]
    Unavailable(#[source] consentry_store::BoxError),
    /// This ledger does not answer the named query.
    #[error("this consent ledger cannot answer `{0}`")]
    Unsupported(&'static str),
}

/// A purpose decision could not be recorded or read ([`Purposes`](crate::Purposes)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PurposeError {
    /// The policy declares no purpose of this id ([`Policy::purpose`](crate::Policy::purpose)).
    #[error("unknown purpose {0:?}: declare it with Policy::purpose")]
    UnknownPurpose(String),
    /// The subject is not an opaque account id.
    #[error(
        "a subject is 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-': the app's opaque account id, never an email address"
    )]
    InvalidSubject,
    /// The ledger failed; nothing was recorded.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// An error from a [`Session`](crate::Session) operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store failed; the layer will answer 503 for this request.
    #[error("{source}")]
    Store {
        /// What the store reported.
        #[source]
        source: StoreError,
        /// The configured [`SessionConfig::retry_after`](crate::SessionConfig::retry_after),
        /// for the 503 answer.
        retry_after: Duration,
    },
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
