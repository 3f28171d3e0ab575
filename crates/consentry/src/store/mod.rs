//! Where session data lives: the store contract (re-exported from `consentry-store`) and
//! the embedded [`MemoryStore`].
//!
//! The cookie carries only a random id and timestamps. The store holds the data, keyed by
//! a SHA-256 hash of the id ([`SessionKey`]), so a dump of the store contains no value a
//! browser could present. Changes are applied as patches ([`Changes`]) so that concurrent
//! requests of one session that change different keys both persist. Store crates depend
//! on `consentry-store` alone; apps find everything here.
//!
//! ```
//! use consentry::store::{Changes, MemoryStore, Record, SessionKey, SessionStore};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let key = SessionKey::from_digest([1; 32]);
//! let far = u64::MAX / 2;
//! store.create(&key, &Record::new(), far).await?;
//! let mut changes = Changes::default();
//! changes.insert("cart", "[1,2]");
//! assert!(store.update(&key, &changes, far).await?);
//! assert_eq!(store.load(&key).await?.unwrap().get("cart"), Some("[1,2]"));
//! # Ok::<(), consentry::store::StoreError>(())
//! # }).unwrap();
//! ```

mod memory;
mod packed;

pub use consentry_store::{
    Changes, Fields, ImmediateStore, Record, SessionKey, SessionStore, StoreError, StoreFuture,
};
#[cfg(feature = "testing")]
pub use consentry_store::{conformance, servers};
pub use memory::MemoryStore;
