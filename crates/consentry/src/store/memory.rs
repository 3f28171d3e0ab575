//! The embedded in-process store.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};

use super::packed::Packed;
use super::{Changes, ImmediateStore, Record, SessionKey, SessionStore, StoreError, StoreFuture};
use crate::clock::{Clock, SystemClock};
use crate::hashing::FoldHash;

const SHARDS: usize = 16;
/// Writes between two sweeps of one shard (in turn) at the least; at most, a shard's
/// capacity, so a sweep (a pass over one shard) costs a constant amount per write.
const SWEEP_EVERY: usize = 256;

struct Entry {
    record: Packed,
    deadline: u64,
    /// How often the session came back after it was created (loaded or updated), counted
    /// up to 2: never, once, more.
    uses: AtomicU8,
    /// It came back since the eviction clock last passed it (the second chance).
    referenced: AtomicBool,
}

impl Entry {
    fn touch(&self) {
        let _ = self
            .uses
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |uses| {
                (uses < 2).then_some(uses + 1)
            });
        self.referenced.store(true, Ordering::Relaxed);
    }

    fn is_fresh(&self) -> bool {
        self.uses.load(Ordering::Relaxed) == 0
    }

    /// On the move from the fresh queue to the clock: the one use that made the session
    /// "in use" earns no second chance; any use after it does.
    fn promote(&self) {
        let again = self.uses.load(Ordering::Relaxed) >= 2;
        self.referenced.store(again, Ordering::Relaxed);
    }
}

/// One shard: the records and two queues of their keys. `fresh` holds sessions in creation
/// order until they are evicted unused or found used; `in_use` holds the used ones for the
/// eviction clock. Keys of records removed meanwhile are skipped when popped.
struct ShardData {
    records: HashMap<SessionKey, Entry, FoldHash>,
    fresh: VecDeque<SessionKey>,
    in_use: VecDeque<SessionKey>,
}

impl ShardData {
    fn new(hash: FoldHash) -> Self {
        Self {
            records: HashMap::with_hasher(hash),
            fresh: VecDeque::new(),
            in_use: VecDeque::new(),
        }
    }

    /// Makes room for one record, in amortised constant time: the oldest session that was
    /// never used again goes first (used ones met on the way move to the in-use queue); then,
    /// round the in-use queue, the first expired record or the first not used since the clock
    /// last passed it (second chance, an approximation of least recently used).
    fn evict_one(&mut self, now: u64) {
        while let Some(key) = self.fresh.pop_front() {
            match self.records.get(&key) {
                Some(entry) if entry.is_fresh() => {
                    self.records.remove(&key);
                    tracing::debug!("memory session store full; evicted the oldest unused session");
                    return;
                }
                Some(entry) => {
                    entry.promote();
                    self.in_use.push_back(key);
                }
                None => {}
            }
        }
        // Each record gets one second chance per round, so this ends within two rounds.
        while let Some(key) = self.in_use.pop_front() {
            let Some(entry) = self.records.get(&key) else {
                continue;
            };
            if entry.deadline > now && entry.referenced.swap(false, Ordering::Relaxed) {
                self.in_use.push_back(key);
                continue;
            }
            let expired = entry.deadline <= now;
            self.records.remove(&key);
            if !expired {
                tracing::warn!(
                    "memory session store full of sessions in use; evicted the least recently used (raise the capacity)"
                );
            }
            return;
        }
    }

    /// Removes expired records; returns how many.
    fn sweep(&mut self, now: u64) -> usize {
        let before = self.records.len();
        self.records.retain(|_, entry| entry.deadline > now);
        self.compact();
        before - self.records.len()
    }

    /// Drops queued keys whose records are gone (or, in `fresh`, used since).
    fn compact(&mut self) {
        let records = &self.records;
        self.fresh
            .retain(|key| records.get(key).is_some_and(Entry::is_fresh));
        self.in_use.retain(|key| records.contains_key(key));
    }
}

type Shard = RwLock<ShardData>;

/// An in-memory [`SessionStore`]: sharded, bounded, sweeping expired records as it goes.
///
/// Reads take one shard's read lock only; there is no global lock. Records live in this
/// process only: use a shared store (such as Redis) when several app instances serve one
/// site.
///
/// # When it is full
///
/// The store holds at most its capacity ([`MemoryStore::DEFAULT_CAPACITY`] unless set with
/// [`MemoryStore::with_capacity`]), split over 16 shards. To make room it sheds, in order:
///
/// 1. the oldest session that was created and **never used again** (a visitor who came
///    once, or a flood of requests without cookies);
/// 2. among sessions in use, going round them like a clock: an expired record, or one not
///    used since the clock last passed it (a second chance: an approximation of **least
///    recently used**, in constant time). The one use that made a session "in use" earns no
///    second chance, so a flood of sessions that each come back once gives way to a
///    session in steady use.
///
/// So a flood of fresh sessions only ever displaces other fresh sessions: a session in
/// active use (one that came back at least once) is touched only when the whole shard is
/// sessions in use. Size the capacity above the number of sessions used within their
/// lifetime. A record costs about 190 bytes with its data when it packs into 23 bytes or
/// fewer (a user id, a counter: kept inside its entry), and its data in one allocation on
/// top of that when longer (`cargo bench -p consentry-benches --bench footprint`).
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
        let hash = FoldHash::new();
        Self {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(ShardData::new(hash)))
                .collect(),
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
            .map(|shard| {
                shard
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .records
                    .len()
            })
            .sum()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every expired record now; returns how many were removed. Writes also sweep
    /// one shard in turn, every shard's capacity of writes (at least 256), and an expired
    /// record is never loaded and is the first to make room, so calling this is optional.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now();
        (0..SHARDS)
            .map(|index| write(&self.shards[index]).sweep(now))
            .sum()
    }

    fn shard(&self, key: &SessionKey) -> &Shard {
        &self.shards[usize::from(key.as_bytes()[0]) % SHARDS]
    }

    fn after_write(&self, now: u64) {
        let count = self.writes.fetch_add(1, Ordering::Relaxed);
        let every = self.per_shard.max(SWEEP_EVERY);
        if count.is_multiple_of(every) {
            let index = (count / every) % SHARDS;
            write(&self.shards[index]).sweep(now);
        }
    }
}

fn write(shard: &Shard) -> RwLockWriteGuard<'_, ShardData> {
    shard.write().unwrap_or_else(PoisonError::into_inner)
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
        Box::pin(std::future::ready(self.load_now(key)))
    }

    fn create<'a>(
        &'a self,
        key: &'a SessionKey,
        record: &'a Record,
        deadline: u64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(self.create_now(key, record, deadline)))
    }

    fn update<'a>(
        &'a self,
        key: &'a SessionKey,
        changes: &'a Changes,
        deadline: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(std::future::ready(self.update_now(key, changes, deadline)))
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(self.delete_now(key)))
    }

    fn immediate(&self) -> Option<&dyn ImmediateStore> {
        Some(self)
    }
}

/// The store never waits (a lock held for one map operation), so the layer calls it
/// without futures.
impl ImmediateStore for MemoryStore {
    fn load_now(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        let now = self.clock.now();
        self.shard(key)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .records
            .get(key)
            .filter(|entry| entry.deadline > now)
            .map(|entry| {
                entry.touch();
                entry.record.unpack()
            })
            .transpose()
    }

    fn create_now(
        &self,
        key: &SessionKey,
        record: &Record,
        deadline: u64,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        // Packed before the lock is taken: a long record's allocation is not made under it.
        let entry = Entry {
            record: Packed::pack(record),
            deadline,
            uses: AtomicU8::new(0),
            referenced: AtomicBool::new(false),
        };
        {
            let mut shard = write(self.shard(key));
            if shard.records.len() >= self.per_shard && !shard.records.contains_key(key) {
                shard.evict_one(now);
            }
            // Keys of records removed since linger in the queues until popped; keep them
            // from outgrowing the shard.
            if shard.fresh.len() + shard.in_use.len() >= 3 * self.per_shard {
                shard.compact();
            }
            if shard.records.insert(*key, entry).is_none() {
                shard.fresh.push_back(*key);
            }
        }
        self.after_write(now);
        Ok(())
    }

    fn update_now(
        &self,
        key: &SessionKey,
        changes: &Changes,
        deadline: u64,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let updated = {
            let mut shard = write(self.shard(key));
            match shard.records.get_mut(key) {
                Some(entry) if entry.deadline > now => {
                    entry.record.apply(changes)?;
                    entry.deadline = deadline;
                    entry.touch();
                    true
                }
                Some(_) => {
                    shard.records.remove(key);
                    false
                }
                None => false,
            }
        };
        self.after_write(now);
        Ok(updated)
    }

    fn delete_now(&self, key: &SessionKey) -> Result<(), StoreError> {
        write(self.shard(key)).records.remove(key);
        Ok(())
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

    /// A key in shard 0, so a capacity of 16 × n gives that shard n slots.
    fn shard0_key(n: u32) -> SessionKey {
        let mut digest = [0; 32];
        digest[1..5].copy_from_slice(&n.to_be_bytes());
        SessionKey::from_digest(digest)
    }

    /// A store with ten records a shard, on a clock that stands still.
    fn ten_per_shard() -> MemoryStore {
        MemoryStore::new()
            .with_capacity(16 * 10)
            .with_clock(ManualClock::new(1_000))
    }

    #[test]
    fn a_flood_of_fresh_sessions_never_evicts_one_in_use() {
        let store = ten_per_shard();
        let active = SessionKey::from_digest([0; 32]);
        block_on(async {
            // The active session is the oldest and the closest to its deadline.
            store.create(&active, &Record::new(), 2_000).await.unwrap();
            assert!(store.load(&active).await.unwrap().is_some());
            for n in 1..=100_000 {
                store
                    .create(&shard0_key(n), &Record::new(), 9_000)
                    .await
                    .unwrap();
            }
            assert!(store.load(&active).await.unwrap().is_some());
            // The shard stayed within its bound, holding the newest fresh sessions.
            assert_eq!(store.len(), 10);
            assert!(store.load(&shard0_key(100_000)).await.unwrap().is_some());
            assert!(store.load(&shard0_key(99_990)).await.unwrap().is_none());
        });
    }

    #[test]
    fn sessions_reused_once_give_way_to_one_in_steady_use() {
        let store = ten_per_shard();
        let active = SessionKey::from_digest([0; 32]);
        block_on(async {
            store.create(&active, &Record::new(), 9_000).await.unwrap();
            for n in 1..=20_000 {
                // A flood whose every session comes back once (so none is "fresh")...
                let key = shard0_key(n);
                store.create(&key, &Record::new(), 9_000).await.unwrap();
                assert!(store.load(&key).await.unwrap().is_some());
                // ...while the visitor keeps using theirs.
                if n % 4 == 0 {
                    assert!(
                        store.load(&active).await.unwrap().is_some(),
                        "evicted after {n}"
                    );
                }
            }
            assert_eq!(store.len(), 10);
        });
    }

    #[test]
    fn a_shard_of_sessions_in_use_sheds_expired_then_the_least_recently_used() {
        let clock = ManualClock::new(1_000);
        let store = MemoryStore::new()
            .with_capacity(16 * 3)
            .with_clock(clock.clone());
        let held = |n| {
            let store = &store;
            async move { store.load(&shard0_key(n)).await.unwrap().is_some() }
        };
        block_on(async {
            for n in 1..=3 {
                let deadline = if n == 1 { 1_050 } else { 9_000 };
                store
                    .create(&shard0_key(n), &Record::new(), deadline)
                    .await
                    .unwrap();
            }
            for n in [1, 2, 3] {
                clock.advance(std::time::Duration::from_secs(10));
                assert!(held(n).await);
            }
            // Record 1 has expired by now: it goes, though used.
            clock.advance(std::time::Duration::from_secs(30));
            store
                .create(&shard0_key(4), &Record::new(), 9_000)
                .await
                .unwrap();
            assert!(!held(1).await);
            assert!(held(2).await && held(4).await);
            // All three in use now; 3 was used least recently.
            store
                .create(&shard0_key(5), &Record::new(), 9_000)
                .await
                .unwrap();
            assert!(!held(3).await);
            assert!(held(2).await && held(4).await && held(5).await);
            assert_eq!(store.len(), 3);
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
