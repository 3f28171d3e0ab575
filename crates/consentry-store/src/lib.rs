//! The session store contract of consentry.
//!
//! A session cookie carries only a random id and timestamps; the data lives server-side in
//! a [`SessionStore`]. This crate is that contract, so store crates depend on it alone:
//!
//! - [`SessionKey`]: the store's name for a session, a SHA-256 of the id, never the id, so
//!   a dump of the store holds no value a browser could present;
//! - [`Record`] and [`Changes`]: a session's data (its fields packed into one string) and
//!   one request's patch to it, applied as a merge so concurrent requests that change
//!   different keys both persist;
//! - [`StoreError`]: what a backend reports; the layer answers it with `503` and
//!   `Retry-After`, never with a silently fresh session;
//! - [`ImmediateStore`]: the synchronous side of a store that never waits (in process
//!   memory), which the layer calls without a future ([`SessionStore::immediate`]);
//! - `conformance::run` (feature `testing`): the contract as a runnable suite;
//! - `servers` (feature `testing`): a loopback port and a scratch folder for a real server
//!   started beside a test, never handed out twice in one process.
//!
//! ```
//! use consentry_store::{Changes, Record, SessionKey, SessionStore, StoreError, StoreFuture};
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//!
//! /// A toy store: no deadlines, one lock. Real stores honour deadlines.
//! #[derive(Default)]
//! struct Toy(Mutex<HashMap<SessionKey, Record>>);
//!
//! impl SessionStore for Toy {
//!     fn load<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, Option<Record>> {
//!         let found = self.0.lock().unwrap().get(key).cloned();
//!         Box::pin(async move { Ok(found) })
//!     }
//!     fn create<'a>(&'a self, key: &'a SessionKey, record: &'a Record, _: u64) -> StoreFuture<'a, ()> {
//!         self.0.lock().unwrap().insert(*key, record.clone());
//!         Box::pin(async { Ok(()) })
//!     }
//!     fn update<'a>(&'a self, key: &'a SessionKey, changes: &'a Changes, _: u64) -> StoreFuture<'a, bool> {
//!         let found = self.0.lock().unwrap().get_mut(key).map(|record| changes.apply_to(record)).is_some();
//!         Box::pin(async move { Ok(found) })
//!     }
//!     fn delete<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, ()> {
//!         self.0.lock().unwrap().remove(key);
//!         Box::pin(async { Ok(()) })
//!     }
//! }
//! # let _ = Toy::default();
//! # let _: Option<StoreError> = None;
//! ```
//!
//! # Features
//! - `testing`: `conformance`, the behaviour suite for store implementations, and `servers`.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::collections::BTreeSet;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
mod record;
#[cfg(any(test, feature = "testing"))]
pub mod servers;

pub use record::{Fields, Record};

/// A boxed error from a store backend.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

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
    /// use consentry_store::StoreError;
    ///
    /// let err = StoreError::unavailable(std::io::Error::other("connection refused"));
    /// assert!(err.to_string().contains("connection refused"));
    /// ```
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::Unavailable(source.into())
    }
}

/// The future every store method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The store's name for a session: the SHA-256 of its id. Never the id itself.
///
/// ```
/// use consentry_store::SessionKey;
///
/// let key = SessionKey::from_digest([0xAB; 32]);
/// assert_eq!(key.to_string().len(), 64);
/// assert!(key.to_string().starts_with("abab"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// A key from a digest, for store implementations and their tests.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// The 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Lowercase hex, 64 characters: a safe name for the record in any backend.
impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({self})")
    }
}

/// The changes one request made to a session: keys set and keys removed.
///
/// ```
/// use consentry_store::{Changes, Record};
///
/// let mut record = Record::from([("cart", "[]"), ("theme", "\"dark\"")]);
/// let mut changes = Changes::default();
/// changes.insert("user", "42");
/// changes.remove("theme");
/// changes.apply_to(&mut record);
/// assert_eq!(record.keys().collect::<Vec<_>>(), ["cart", "user"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    set: Record,
    removed: BTreeSet<String>,
}

impl Changes {
    /// Records that `key` now holds `json`.
    pub fn insert(&mut self, key: impl AsRef<str>, json: impl AsRef<str>) {
        let key = key.as_ref();
        self.removed.remove(key);
        self.set.insert(key, json.as_ref());
    }

    /// Records that `key` was removed.
    pub fn remove(&mut self, key: impl AsRef<str>) {
        let key = key.as_ref();
        self.set.remove(key);
        if !self.removed.contains(key) {
            self.removed.insert(key.to_owned());
        }
    }

    /// Keys set, with their JSON values, in key order.
    pub fn set(&self) -> impl Iterator<Item = (&str, &str)> {
        self.set.iter()
    }

    /// Keys removed.
    pub fn removed(&self) -> impl Iterator<Item = &str> {
        self.removed.iter().map(String::as_str)
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.removed.is_empty()
    }

    /// Applies the changes to a record.
    pub fn apply_to(&self, record: &mut Record) {
        for key in &self.removed {
            record.remove(key);
        }
        for (key, value) in &self.set {
            record.insert(key, value);
        }
    }

    /// Applies the changes to a record; into an empty record, they move without a copy.
    ///
    /// ```
    /// use consentry_store::{Changes, Record};
    ///
    /// let mut record = Record::from([("theme", "\"dark\"")]);
    /// let mut changes = Changes::default();
    /// changes.insert("cart", "[1]");
    /// changes.remove("theme");
    /// changes.merge_into(&mut record);
    /// assert_eq!(record, Record::from([("cart", "[1]")]));
    /// ```
    pub fn merge_into(self, record: &mut Record) {
        for key in &self.removed {
            record.remove(key);
        }
        if record.is_empty() {
            *record = self.set;
        } else {
            record.extend(&self.set);
        }
    }

    /// The value of `key` once these changes are applied to `base`.
    ///
    /// ```
    /// use consentry_store::{Changes, Record};
    ///
    /// let base = Record::from([("a", "1"), ("b", "2")]);
    /// let mut changes = Changes::default();
    /// changes.insert("a", "3");
    /// changes.remove("b");
    /// assert_eq!(changes.resolve("a", Some(&base)), Some("3"));
    /// assert_eq!(changes.resolve("b", Some(&base)), None);
    /// assert_eq!(changes.resolve("c", None), None);
    /// ```
    pub fn resolve<'a>(&'a self, key: &str, base: Option<&'a Record>) -> Option<&'a str> {
        if let Some(value) = self.set.get(key) {
            Some(value)
        } else if self.removed.contains(key) {
            None
        } else {
            base.and_then(|record| record.get(key))
        }
    }
}

/// Server-side storage for session records.
///
/// Deadlines are unix seconds: a record whose deadline has passed must behave as absent.
/// Implementations must apply [`SessionStore::update`] as a merge into the stored record,
/// never as a whole-record overwrite, and must not create a record there.
/// [`conformance`](crate#features) (feature `testing`) checks all of this against any
/// implementation.
///
/// Code that uses a store sees only this trait:
///
/// ```
/// use consentry_store::{Changes, SessionKey, SessionStore, StoreError};
///
/// /// Puts `sku` in the cart of an existing session; `false` when the session is gone.
/// async fn add_to_cart(store: &dyn SessionStore, key: &SessionKey, cart_json: &str, deadline: u64)
///     -> Result<bool, StoreError>
/// {
///     let mut changes = Changes::default();
///     changes.insert("cart", cart_json);
///     store.update(key, &changes, deadline).await
/// }
/// # let _ = add_to_cart;
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The record stored under `key`, or `None` when absent or past its deadline.
    fn load<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, Option<Record>>;

    /// Stores a whole new record under `key` until `deadline`.
    fn create<'a>(
        &'a self,
        key: &'a SessionKey,
        record: &'a Record,
        deadline: u64,
    ) -> StoreFuture<'a, ()>;

    /// Merges `changes` into the existing record and moves its deadline to `deadline`.
    /// Returns `false`, changing nothing, when there is no live record under `key`.
    /// Empty `changes` only extend the deadline.
    fn update<'a>(
        &'a self,
        key: &'a SessionKey,
        changes: &'a Changes,
        deadline: u64,
    ) -> StoreFuture<'a, bool>;

    /// Removes the record under `key`, if any.
    fn delete<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, ()>;

    /// This store's synchronous side, when it answers without waiting (a store in
    /// process memory): the layer then calls it directly instead of boxing and polling a
    /// future per operation. `None`, the default, for stores that do I/O.
    ///
    /// ```
    /// use consentry_store::{ImmediateStore, SessionStore};
    ///
    /// fn describe(store: &dyn SessionStore) -> &'static str {
    ///     match store.immediate() {
    ///         Some(_) => "answers at once",
    ///         None => "answers through futures",
    ///     }
    /// }
    /// # let _ = describe;
    /// ```
    fn immediate(&self) -> Option<&dyn ImmediateStore> {
        None
    }
}

/// The synchronous side of a store that never waits ([`SessionStore::immediate`]). Each
/// method must do exactly what its asynchronous counterpart does; `conformance::run`
/// (feature `testing`) runs its checks through both sides and across them.
///
/// ```
/// use consentry_store::{Changes, ImmediateStore, Record, SessionKey, StoreError};
///
/// /// Adds to the cart of a session, in a store that answers at once.
/// fn add(store: &dyn ImmediateStore, key: &SessionKey, cart: &str, deadline: u64) -> Result<bool, StoreError> {
///     let mut changes = Changes::default();
///     changes.insert("cart", cart);
///     store.update_now(key, &changes, deadline)
/// }
/// # let _ = add;
/// ```
pub trait ImmediateStore: Send + Sync {
    /// [`SessionStore::load`], at once.
    ///
    /// # Errors
    /// As [`SessionStore::load`].
    fn load_now(&self, key: &SessionKey) -> Result<Option<Record>, StoreError>;

    /// [`SessionStore::create`], at once.
    ///
    /// # Errors
    /// As [`SessionStore::create`].
    fn create_now(
        &self,
        key: &SessionKey,
        record: &Record,
        deadline: u64,
    ) -> Result<(), StoreError>;

    /// [`SessionStore::update`], at once.
    ///
    /// # Errors
    /// As [`SessionStore::update`].
    fn update_now(
        &self,
        key: &SessionKey,
        changes: &Changes,
        deadline: u64,
    ) -> Result<bool, StoreError>;

    /// [`SessionStore::delete`], at once.
    ///
    /// # Errors
    /// As [`SessionStore::delete`].
    fn delete_now(&self, key: &SessionKey) -> Result<(), StoreError>;
}

impl<S: SessionStore + ?Sized> SessionStore for Arc<S> {
    fn load<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, Option<Record>> {
        (**self).load(key)
    }

    fn create<'a>(
        &'a self,
        key: &'a SessionKey,
        record: &'a Record,
        deadline: u64,
    ) -> StoreFuture<'a, ()> {
        (**self).create(key, record, deadline)
    }

    fn update<'a>(
        &'a self,
        key: &'a SessionKey,
        changes: &'a Changes,
        deadline: u64,
    ) -> StoreFuture<'a, bool> {
        (**self).update(key, changes, deadline)
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, ()> {
        (**self).delete(key)
    }

    fn immediate(&self) -> Option<&dyn ImmediateStore> {
        (**self).immediate()
    }
}
