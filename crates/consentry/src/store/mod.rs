//! Where session data lives: the [`SessionStore`] trait and the embedded [`MemoryStore`].
//!
//! The cookie carries only a random id and timestamps. The store holds the data, keyed by
//! a SHA-256 hash of the id ([`SessionKey`]), so a dump of the store contains no value a
//! browser could present. Changes are applied as patches ([`Changes`]) so that concurrent
//! requests of one session that change different keys both persist.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use crate::error::StoreError;

mod memory;
pub use memory::MemoryStore;

#[cfg(any(test, feature = "testing"))]
pub mod conformance;

/// The data of one session: keys to JSON-encoded values.
pub type Record = BTreeMap<String, String>;

/// The future every store method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The store's name for a session: the SHA-256 of its id. Never the id itself.
///
/// ```
/// use consentry::store::SessionKey;
///
/// let key = SessionKey::from_digest([0xAB; 32]);
/// assert_eq!(key.to_string().len(), 64);
/// assert!(key.to_string().starts_with("abab"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    pub(crate) fn for_id(id: &[u8; 16]) -> Self {
        Self(Sha256::digest(id).into())
    }

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
/// use consentry::store::{Changes, Record};
///
/// let mut record = Record::from([("cart".into(), "[]".into()), ("theme".into(), "\"dark\"".into())]);
/// let mut changes = Changes::default();
/// changes.insert("user", "42");
/// changes.remove("theme");
/// changes.apply_to(&mut record);
/// assert_eq!(record.keys().collect::<Vec<_>>(), ["cart", "user"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    set: BTreeMap<String, String>,
    removed: BTreeSet<String>,
}

impl Changes {
    /// Records that `key` now holds `json`.
    pub fn insert(&mut self, key: impl Into<String>, json: impl Into<String>) {
        let key = key.into();
        self.removed.remove(&key);
        self.set.insert(key, json.into());
    }

    /// Records that `key` was removed.
    pub fn remove(&mut self, key: impl Into<String>) {
        let key = key.into();
        self.set.remove(&key);
        self.removed.insert(key);
    }

    /// Keys set, with their JSON values.
    pub fn set(&self) -> impl Iterator<Item = (&str, &str)> {
        self.set.iter().map(|(k, v)| (k.as_str(), v.as_str()))
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
            record.insert(key.clone(), value.clone());
        }
    }

    /// The value of `key` once these changes are applied to `base`.
    pub(crate) fn resolve<'a>(&'a self, key: &str, base: Option<&'a Record>) -> Option<&'a str> {
        if let Some(value) = self.set.get(key) {
            Some(value)
        } else if self.removed.contains(key) {
            None
        } else {
            base.and_then(|record| record.get(key)).map(String::as_str)
        }
    }
}

/// Server-side storage for session records.
///
/// Deadlines are unix seconds: a record whose deadline has passed must behave as absent.
/// Implementations must apply [`SessionStore::update`] as a merge into the stored record,
/// never as a whole-record overwrite, and must not create a record there.
/// `consentry::store::conformance` (feature `testing`) checks all of this against any
/// implementation.
///
/// ```
/// use consentry::store::{Changes, MemoryStore, Record, SessionKey, SessionStore};
///
/// # tokio_test(async {
/// let store = MemoryStore::new();
/// let key = SessionKey::from_digest([1; 32]);
/// let far = u64::MAX / 2;
/// store.create(&key, &Record::new(), far).await?;
/// let mut changes = Changes::default();
/// changes.insert("cart", "[1,2]");
/// assert!(store.update(&key, &changes, far).await?);
/// assert_eq!(store.load(&key).await?.unwrap()["cart"], "[1,2]");
/// # Ok::<(), consentry::StoreError>(())
/// # });
/// # fn tokio_test<F: std::future::Future<Output = Result<(), consentry::StoreError>>>(f: F) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f).unwrap()
/// # }
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
}
