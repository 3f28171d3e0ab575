//! A behaviour suite every [`SessionStore`] must pass. Feature `testing`.
//!
//! Call it from a test of your store, against a real backend, with the backend's notion of
//! now (unix seconds):
//!
//! ```
//! use consentry_store::{SessionStore, conformance};
//!
//! async fn my_store_keeps_the_contract(store: &dyn SessionStore) {
//!     let now = std::time::SystemTime::now()
//!         .duration_since(std::time::UNIX_EPOCH)
//!         .unwrap()
//!         .as_secs();
//!     conformance::run(store, now).await;
//! }
//! # let _ = my_store_keeps_the_contract;
//! ```
//!
//! Keys are unique to each run (derived from `now`), so runs against a shared backend do
//! not collide. A store with a synchronous side ([`SessionStore::immediate`]) goes through
//! every check twice, once through each side, and then across them (written through one,
//! read through the other).

use super::{Changes, ImmediateStore, Record, SessionKey, SessionStore};

/// Runs every check against `store`, whose clock reads `now` (unix seconds).
///
/// # Panics
/// On the first behaviour that breaks the [`SessionStore`] contract, with a message
/// saying which. Store errors also panic: the suite needs a working backend.
pub async fn run<S: SessionStore + ?Sized>(store: &S, now: u64) {
    let sides = [None, store.immediate()];
    for (index, immediate) in sides.into_iter().enumerate() {
        if index > 0 && immediate.is_none() {
            break;
        }
        let suite = Suite {
            store,
            now,
            immediate,
        };
        suite.absent_keys().await;
        suite.create_and_load().await;
        suite.updates_merge().await;
        suite.delete_is_final().await;
        suite.deadlines().await;
    }
    if let Some(immediate) = store.immediate() {
        both_sides_agree(store, immediate, now).await;
    }
}

/// What one side writes, the other reads.
async fn both_sides_agree<S: SessionStore + ?Sized>(
    store: &S,
    immediate: &dyn ImmediateStore,
    now: u64,
) {
    let key = |n: u8| {
        let mut digest = [n; 32];
        digest[..8].copy_from_slice(&now.to_be_bytes());
        digest[8] = 0xA5;
        SessionKey::from_digest(digest)
    };
    let later = now + 3_600;
    let written = record(&[("cart", "[1]")]);
    immediate
        .create_now(&key(10), &written, later)
        .expect("create_now failed");
    assert_eq!(
        store.load(&key(10)).await.expect("load failed"),
        Some(written.clone()),
        "a record created at once must load through the future"
    );
    store
        .create(&key(11), &written, later)
        .await
        .expect("create failed");
    assert_eq!(
        immediate.load_now(&key(11)).expect("load_now failed"),
        Some(written),
        "a record created through the future must load at once"
    );
    assert!(
        immediate
            .update_now(&key(11), &changes(&[("a", "1")], &["cart"]), later)
            .expect("update_now failed")
    );
    assert_eq!(
        store.load(&key(11)).await.expect("load failed"),
        Some(record(&[("a", "1")])),
        "an update made at once must show through the future"
    );
    immediate.delete_now(&key(10)).expect("delete_now failed");
    store.delete(&key(11)).await.expect("delete failed");
    assert_eq!(
        store.load(&key(10)).await.expect("load failed"),
        None,
        "a record deleted at once must be gone"
    );
    assert_eq!(
        immediate.load_now(&key(11)).expect("load_now failed"),
        None,
        "a record deleted through the future must be gone at once"
    );
}

struct Suite<'a, S: ?Sized> {
    store: &'a S,
    now: u64,
    /// The side under test: the futures (`None`) or the synchronous side.
    immediate: Option<&'a dyn ImmediateStore>,
}

fn record(pairs: &[(&str, &str)]) -> Record {
    pairs.iter().copied().collect()
}

fn changes(set: &[(&str, &str)], removed: &[&str]) -> Changes {
    let mut changes = Changes::default();
    for (k, v) in set {
        changes.insert(*k, *v);
    }
    for k in removed {
        changes.remove(*k);
    }
    changes
}

impl<S: SessionStore + ?Sized> Suite<'_, S> {
    /// A key unique to this run and check, so runs against a shared backend don't collide.
    fn key(&self, n: u8) -> SessionKey {
        let mut digest = [n; 32];
        digest[..8].copy_from_slice(&self.now.to_be_bytes());
        digest[8] = u8::from(self.immediate.is_some());
        SessionKey::from_digest(digest)
    }

    fn later(&self) -> u64 {
        self.now + 3_600
    }

    async fn load(&self, n: u8) -> Option<Record> {
        let key = self.key(n);
        match self.immediate {
            Some(side) => side.load_now(&key),
            None => self.store.load(&key).await,
        }
        .expect("load failed")
    }

    async fn update(&self, n: u8, changes: &Changes, deadline: u64) -> bool {
        let key = self.key(n);
        match self.immediate {
            Some(side) => side.update_now(&key, changes, deadline),
            None => self.store.update(&key, changes, deadline).await,
        }
        .expect("update failed")
    }

    async fn create(&self, n: u8, record: &Record, deadline: u64) {
        let key = self.key(n);
        match self.immediate {
            Some(side) => side.create_now(&key, record, deadline),
            None => self.store.create(&key, record, deadline).await,
        }
        .expect("create failed");
    }

    async fn delete(&self, n: u8) {
        let key = self.key(n);
        match self.immediate {
            Some(side) => side.delete_now(&key),
            None => self.store.delete(&key).await,
        }
        .expect("delete failed");
    }

    async fn absent_keys(&self) {
        assert_eq!(
            self.load(1).await,
            None,
            "a key never written must load as None"
        );
        assert!(
            !self
                .update(1, &changes(&[("a", "1")], &[]), self.later())
                .await,
            "update of an absent record must return false"
        );
        assert_eq!(
            self.load(1).await,
            None,
            "update must never create a record"
        );
    }

    async fn create_and_load(&self) {
        let big = "x".repeat(64 * 1024);
        let original = record(&[
            ("cart", "[1,2,3]"),
            ("name", "\"Zoë ☃\""),
            ("empty", ""),
            ("big", &big),
        ]);
        self.create(2, &original, self.later()).await;
        assert_eq!(
            self.load(2).await,
            Some(original),
            "create then load must round-trip"
        );
        assert_eq!(
            self.load(3).await,
            None,
            "records must not leak between keys"
        );
        self.create(2, &record(&[("fresh", "true")]), self.later())
            .await;
        assert_eq!(
            self.load(2).await,
            Some(record(&[("fresh", "true")])),
            "create must replace an existing record"
        );
        self.delete(2).await;
    }

    async fn updates_merge(&self) {
        let original = record(&[("cart", "[1]"), ("keep", "1")]);
        self.create(4, &original, self.later()).await;
        // Two writers that loaded the same record change different keys.
        let first = changes(&[("a", "1")], &["cart"]);
        let second = changes(&[("b", "2")], &[]);
        assert!(self.update(4, &first, self.later()).await);
        assert!(self.update(4, &second, self.later()).await);
        let mut expected = original;
        first.apply_to(&mut expected);
        second.apply_to(&mut expected);
        assert_eq!(
            self.load(4).await,
            Some(expected.clone()),
            "updates must merge, not overwrite"
        );
        assert!(
            self.update(4, &Changes::default(), self.later() + 60).await,
            "empty changes must succeed on a live record"
        );
        assert_eq!(
            self.load(4).await,
            Some(expected),
            "empty changes must change no data"
        );
        self.delete(4).await;
    }

    async fn delete_is_final(&self) {
        self.create(5, &record(&[("user", "1")]), self.later())
            .await;
        self.delete(5).await;
        assert_eq!(self.load(5).await, None, "a deleted record must be gone");
        assert!(
            !self
                .update(5, &changes(&[("a", "1")], &[]), self.later())
                .await,
            "update after delete must return false"
        );
        assert_eq!(
            self.load(5).await,
            None,
            "update after delete must not resurrect the record"
        );
        self.delete(5).await;
    }

    async fn deadlines(&self) {
        self.create(6, &record(&[("a", "1")]), self.now.saturating_sub(1))
            .await;
        assert_eq!(
            self.load(6).await,
            None,
            "a record past its deadline must load as None"
        );
        assert!(
            !self.update(6, &Changes::default(), self.later()).await,
            "a record past its deadline must not be updated"
        );
        self.create(7, &record(&[("a", "1")]), self.later()).await;
        assert!(
            self.update(7, &Changes::default(), self.now.saturating_sub(1))
                .await
        );
        assert_eq!(
            self.load(7).await,
            None,
            "update must move the deadline, also backwards"
        );
        self.delete(6).await;
        self.delete(7).await;
    }
}
