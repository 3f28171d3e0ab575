//! The embedded in-process store.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};

use super::{Changes, Record, SessionKey, SessionStore, StoreFuture};
use crate::clock::{Clock, SystemClock};

const SHARDS: usize = 16;
/// Every this many writes, one shard is swept of expired records.
const SWEEP_EVERY: usize = 256;

struct Entry {
    record: Record,
    deadline: u64,
}

type Shard = RwLock<HashMap<SessionKey, Entry>>;

/// An in-memory [`SessionStore`]: sharded, bounded, sweeping expired records as it goes.
///
/// Reads take one shard's read lock only; there is no global lock. When a shard is full,
/// expired records are swept first and then the record closest to its deadline is evicted,
/// so a flood of new sessions cannot grow memory without bound. Records live in this
/// process only: use a shared store (such as Redis) when several app instances serve one
/// site.
///
/// ```
/// use consentry::store::MemoryStore;
///
/// let store = MemoryStore::new().with_capacity(10_000);
/// assert_eq!(store.len(), 0);
/// ```
pub struct MemoryStore {
    shards: Box<[Shard]>,
    per_shard: usize,
    clock: Arc<dyn Clock>,
    writes: AtomicUsize,
}

impl MemoryStore {
    /// Default capacity: records kept at most.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store with [`MemoryStore::DEFAULT_CAPACITY`] and the system clock.
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            per_shard: Self::DEFAULT_CAPACITY.div_ceil(SHARDS),
            clock: Arc::new(SystemClock),
            writes: AtomicUsize::new(0),
        }
    }

    /// Keeps at most about `max_records` records (rounded up to a multiple of 16).
    #[must_use]
    pub fn with_capacity(mut self, max_records: usize) -> Self {
        self.per_shard = max_records.div_ceil(SHARDS).max(1);
        self
    }

    /// Judges deadlines by `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Records currently held, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.read().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every expired record now; returns how many were removed. Writes also sweep
    /// a shard every few hundred operations, so calling this is optional.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now();
        (0..SHARDS)
            .map(|index| sweep_shard(&mut write(&self.shards[index]), now))
            .sum()
    }

    fn shard(&self, key: &SessionKey) -> &Shard {
        &self.shards[usize::from(key.as_bytes()[0]) % SHARDS]
    }

    fn after_write(&self, now: u64) {
        let count = self.writes.fetch_add(1, Ordering::Relaxed);
        if count.is_multiple_of(SWEEP_EVERY) {
            let index = (count / SWEEP_EVERY) % SHARDS;
            sweep_shard(&mut write(&self.shards[index]), now);
        }
    }

    fn create_now(&self, key: &SessionKey, record: &Record, deadline: u64) {
        let now = self.clock.now();
        {
            let mut shard = write(self.shard(key));
            if shard.len() >= self.per_shard && !shard.contains_key(key) {
                sweep_shard(&mut shard, now);
                if shard.len() >= self.per_shard {
                    let soonest = shard
                        .iter()
                        .min_by_key(|(_, entry)| entry.deadline)
                        .map(|(key, _)| *key);
                    if let Some(victim) = soonest {
                        shard.remove(&victim);
                        tracing::debug!(
                            "memory session store full; evicted the record closest to expiry"
                        );
                    }
                }
            }
            shard.insert(
                *key,
                Entry {
                    record: record.clone(),
                    deadline,
                },
            );
        }
        self.after_write(now);
    }

    fn update_now(&self, key: &SessionKey, changes: &Changes, deadline: u64) -> bool {
        let now = self.clock.now();
        let updated = {
            let mut shard = write(self.shard(key));
            match shard.get_mut(key) {
                Some(entry) if entry.deadline > now => {
                    changes.apply_to(&mut entry.record);
                    entry.deadline = deadline;
                    true
                }
                Some(_) => {
                    shard.remove(key);
                    false
                }
                None => false,
            }
        };
        self.after_write(now);
        updated
    }
}

fn write(shard: &Shard) -> RwLockWriteGuard<'_, HashMap<SessionKey, Entry>> {
    shard.write().unwrap_or_else(PoisonError::into_inner)
}

fn sweep_shard(shard: &mut HashMap<SessionKey, Entry>, now: u64) -> usize {
    let before = shard.len();
    shard.retain(|_, entry| entry.deadline > now);
    before - shard.len()
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.len())
            .field("capacity", &(self.per_shard * SHARDS))
            .finish_non_exhaustive()
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, Option<Record>> {
        let now = self.clock.now();
        let record = self
            .shard(key)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .filter(|entry| entry.deadline > now)
            .map(|entry| entry.record.clone());
        Box::pin(std::future::ready(Ok(record)))
    }

    fn create<'a>(
        &'a self,
        key: &'a SessionKey,
        record: &'a Record,
        deadline: u64,
    ) -> StoreFuture<'a, ()> {
        self.create_now(key, record, deadline);
        Box::pin(std::future::ready(Ok(())))
    }

    fn update<'a>(
        &'a self,
        key: &'a SessionKey,
        changes: &'a Changes,
        deadline: u64,
    ) -> StoreFuture<'a, bool> {
        let updated = self.update_now(key, changes, deadline);
        Box::pin(std::future::ready(Ok(updated)))
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, ()> {
        write(self.shard(key)).remove(key);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn passes_the_conformance_suite() {
        let store = MemoryStore::new();
        block_on(consentry_store::conformance::run(&store, SystemClock.now()));
    }

    #[test]
    fn capacity_is_a_bound_and_evicts_the_soonest_deadline() {
        let clock = ManualClock::new(1_000);
        let store = MemoryStore::new()
            .with_capacity(16)
            .with_clock(clock.clone());
        // Sixteen shards of one record each; put three records into shard 0.
        let key = |n: u8| {
            let mut digest = [n; 32];
            digest[0] = 0;
            SessionKey::from_digest(digest)
        };
        block_on(async {
            store.create(&key(1), &Record::new(), 5_000).await.unwrap();
            store.create(&key(2), &Record::new(), 2_000).await.unwrap();
            assert_eq!(store.len(), 1, "one slot per shard");
            assert!(store.load(&key(1)).await.unwrap().is_none());
            store.create(&key(3), &Record::new(), 9_000).await.unwrap();
            assert!(store.load(&key(2)).await.unwrap().is_none());
            assert!(store.load(&key(3)).await.unwrap().is_some());
        });
    }

    #[test]
    fn sweep_removes_expired_records() {
        let clock = ManualClock::new(1_000);
        let store = MemoryStore::new().with_clock(clock.clone());
        block_on(async {
            for n in 0..40u8 {
                let deadline = if n % 2 == 0 { 1_100 } else { 9_000 };
                store
                    .create(&SessionKey::from_digest([n; 32]), &Record::new(), deadline)
                    .await
                    .unwrap();
            }
        });
        assert_eq!(store.sweep(), 0);
        clock.advance(std::time::Duration::from_secs(100));
        assert_eq!(store.sweep(), 20);
        assert_eq!(store.len(), 20);
    }
}
