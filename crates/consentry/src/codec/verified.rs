//! A small, bounded cache of cookie values that verified.
//!
//! A returning visitor sends the same signed values on every request, and checking a tag
//! costs an HMAC (three SHA-256 compressions). [`Verified`] remembers what a value opened
//! to, so the next request carrying the very same value skips the MAC:
//!
//! - **Only verified values go in.** A value is inserted after its tag checked out, so
//!   forged or garbage values can never fill the cache; they always miss and are verified
//!   in full.
//! - **Exact match, in constant time.** A hit needs the same cookie name and every byte of
//!   the value; the value is compared without an early exit, so timing does not tell how
//!   much of a stored value a guess got right.
//! - **Bounded.** Direct-mapped: [`SLOTS`] entries per codec, the slot chosen by the value's
//!   last bytes (part of its tag). A new value replaces whatever held its slot; a slot is
//!   allocated once and then reused.
//! - **Nothing skipped but the MAC.** The entry keeps the signed expiry, and
//!   [`Codec::open`](super::Codec::open) checks it on every hit as on every miss.
//! - **Reads write nothing.** A slot is a sequence lock over atomic words: a reader copies
//!   the entry and keeps it only if the slot's sequence number was even (no write under
//!   way) and unchanged across the copy, so it never sees half of one entry and half of
//!   another. A hit takes no lock and stores nothing, so the slots of returning visitors
//!   stay in every core's cache instead of moving to whichever core served the last one.
//! - **Never waits.** A slot being written is a miss for a reader (the value is verified
//!   in full), and is left alone by a second writer.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering, fence};

use subtle::ConstantTimeEq as _;

use super::{Body, HEADER_LEN, MAX_BODY_LEN, Opened, TAG_LEN};

/// Entries per codec.
pub(super) const SLOTS: usize = 1024;
/// Longest value kept: the longest one the layer seals (base64 of header, body and tag).
const MAX_VALUE: usize = (HEADER_LEN + MAX_BODY_LEN + TAG_LEN).div_ceil(3) * 4;
/// The value in whole words.
const VALUE_WORDS: usize = MAX_VALUE.div_ceil(8);
/// Longest cookie name kept; values sent under longer names are always verified in full.
const MAX_NAME: usize = 32;
const NAME_WORDS: usize = MAX_NAME / 8;
const BODY_WORDS: usize = MAX_BODY_LEN.div_ceil(8);

/// Bytes as little-endian words, padded with zeros; `None` when they do not fit.
fn words<const N: usize>(bytes: &[u8]) -> Option<[u64; N]> {
    let mut raw = [[0u8; 8]; N];
    raw.as_flattened_mut()
        .get_mut(..bytes.len())?
        .copy_from_slice(bytes);
    Some(raw.map(u64::from_le_bytes))
}

/// What a slot is filled with: the name and value as words, and their lengths with a
/// "filled" bit, so an empty slot (all zeros) matches nothing.
struct Key {
    name: [u64; NAME_WORDS],
    value: [u64; VALUE_WORDS],
    shape: u64,
}

const FILLED: u64 = 1;

/// `FILLED | name length << 8 | value length << 16`, or `None` for a name or value longer
/// than any kept (such a value is never cached).
fn shape(name: &str, value: &str) -> Option<u64> {
    (name.len() <= MAX_NAME && value.len() <= MAX_VALUE)
        .then_some(FILLED | (name.len() as u64) << 8 | (value.len() as u64) << 16)
}

impl Key {
    fn new(name: &str, value: &str) -> Option<Self> {
        Some(Self {
            shape: shape(name, value)?,
            name: words(name.as_bytes())?,
            value: words(value.as_bytes())?,
        })
    }
}

/// One entry, as atomic words under a sequence number: even when the words hold a whole
/// entry (or nothing), odd while a writer changes them.
#[derive(Default)]
struct Slot {
    sequence: AtomicU64,
    shape: AtomicU64,
    name: [AtomicU64; NAME_WORDS],
    value: [AtomicU64; VALUE_WORDS],
    /// Key id, "by primary" and body length, a byte each ([`about`]).
    about: AtomicU64,
    expires_at: AtomicU64,
    body: [AtomicU64; BODY_WORDS],
}

/// How the first words of `atomics` differ from `bytes` (as [`words`] pads them), every
/// word compared whatever the first difference; `bytes` must fit the words.
fn difference(atomics: &[AtomicU64], bytes: &[u8]) -> u64 {
    let mut atomics = atomics.iter();
    let mut chunks = bytes.chunks_exact(8);
    let mut difference = 0;
    // Chunks first: `zip` stops at the first exhausted iterator without taking from the other.
    for (chunk, atomic) in chunks.by_ref().zip(atomics.by_ref()) {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        difference |= atomic.load(Ordering::Relaxed) ^ word;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        let stored = atomics
            .next()
            .map_or(!0, |atomic| atomic.load(Ordering::Relaxed));
        difference |= stored ^ u64::from_le_bytes(last);
    }
    difference
}

/// The small fields of `opened` in one word: key id, "by primary", body length.
fn about(opened: &Opened) -> u64 {
    let len = u8::try_from(opened.body.len()).expect("a body is at most 64 bytes");
    u64::from_le_bytes([
        opened.key_id,
        u8::from(opened.by_primary),
        len,
        0,
        0,
        0,
        0,
        0,
    ])
}

fn store<const N: usize>(atomics: &[AtomicU64; N], words: &[u64; N]) {
    for (atomic, word) in atomics.iter().zip(words) {
        atomic.store(*word, Ordering::Relaxed);
    }
}

impl Slot {
    /// What the slot holds for `value` sent as `name` (of `shape`), if it holds them and no
    /// write overlapped the read.
    ///
    /// Only as many words are compared as the asker's own name and value fill: a longer
    /// stored one differs in its shape. The body is read whole, whatever its length.
    fn get(&self, shape: u64, name: &str, value: &str) -> Option<Opened> {
        let before = self.sequence.load(Ordering::Acquire);
        if before % 2 == 1 {
            return None;
        }
        let differs = (self.shape.load(Ordering::Relaxed) ^ shape)
            | difference(&self.name, name.as_bytes())
            | difference(&self.value, value.as_bytes());
        let about = self.about.load(Ordering::Relaxed);
        let expires_at = self.expires_at.load(Ordering::Relaxed);
        let mut body = [0u8; BODY_WORDS * 8];
        for (chunk, atomic) in body.chunks_exact_mut(8).zip(&self.body) {
            chunk.copy_from_slice(&atomic.load(Ordering::Relaxed).to_le_bytes());
        }
        // Orders the loads above before the second read of the sequence: a write that any
        // of them saw has made it odd or moved it on.
        fence(Ordering::Acquire);
        if self.sequence.load(Ordering::Relaxed) != before || !bool::from(differs.ct_eq(&0)) {
            return None;
        }
        let [key_id, by_primary, len, ..] = about.to_le_bytes();
        Some(Opened {
            key_id,
            by_primary: by_primary == 1,
            expires_at,
            body: Body::new(body.get(..usize::from(len))?)?,
        })
    }

    /// Fills the slot with `key` and `opened`, unless another writer is at it.
    fn set(&self, key: &Key, opened: &Opened) {
        // Worked out before the slot is marked: readers miss while it is odd.
        let body = words::<BODY_WORDS>(&opened.body).expect("a body fits its words");
        let about = about(opened);
        let before = self.sequence.load(Ordering::Relaxed);
        if before % 2 == 1
            || (self.sequence)
                .compare_exchange(before, before + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        // Orders the odd sequence before the stores below, for a reader's fence.
        fence(Ordering::Release);
        self.shape.store(key.shape, Ordering::Relaxed);
        store(&self.name, &key.name);
        store(&self.value, &key.value);
        self.about.store(about, Ordering::Relaxed);
        self.expires_at.store(opened.expires_at, Ordering::Relaxed);
        store(&self.body, &body);
        self.sequence.store(before + 2, Ordering::Release);
    }
}

/// The cache of one [`Codec`](super::Codec); clones of the codec share it.
pub(super) struct Verified {
    slots: Box<[OnceLock<Box<Slot>>]>,
}

impl Verified {
    pub(super) fn new() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The slot of `value`: its last eight bytes, which for a sealed value are tag
    /// characters. A sender can pick the slot of a value of their own; that only evicts.
    fn slot(&self, value: &str) -> &OnceLock<Box<Slot>> {
        let bytes = value.as_bytes();
        let mut tail = [0u8; 8];
        let start = bytes.len().saturating_sub(8);
        tail[..bytes.len() - start].copy_from_slice(&bytes[start..]);
        let hash = u64::from_le_bytes(tail).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let index = usize::try_from(hash >> (64 - SLOTS.trailing_zeros())).unwrap_or(0);
        &self.slots[index]
    }

    /// What `value`, sent as the cookie `name`, opened to when it last verified.
    pub(super) fn get(&self, name: &str, value: &str) -> Option<Opened> {
        let shape = shape(name, value)?;
        self.slot(value).get()?.get(shape, name, value)
    }

    /// Remembers that `value`, sent as the cookie `name`, verified and opened to `opened`.
    pub(super) fn insert(&self, name: &str, value: &str, opened: &Opened) {
        let Some(key) = Key::new(name, value) else {
            return;
        };
        let slot = self.slot(value).get_or_init(Box::default);
        slot.set(&key, opened);
    }
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Body;

    fn opened(key_id: u8) -> Opened {
        Opened {
            key_id,
            by_primary: true,
            expires_at: 99,
            body: Body::new(b"body").unwrap(),
        }
    }

    const VALUE: &str =
        "AQEAAAAAa6Q5YGJvZHkAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn a_value_hits_only_under_the_same_name_and_every_byte() {
        let cache = Verified::new();
        assert_eq!(cache.get("a", VALUE), None);
        cache.insert("a", VALUE, &opened(1));
        assert_eq!(cache.get("a", VALUE), Some(opened(1)));
        assert_eq!(cache.get("b", VALUE), None, "another name");
        // One character changed anywhere (the tail keeps the slot, the head too).
        for index in 0..VALUE.len() {
            let mut other = VALUE.as_bytes().to_vec();
            other[index] = if other[index] == b'B' { b'C' } else { b'B' };
            let other = String::from_utf8(other).unwrap();
            assert_eq!(cache.get("a", &other), None, "changed at {index}");
        }
        // A prefix or an extension of the value.
        assert_eq!(cache.get("a", &VALUE[..VALUE.len() - 1]), None);
        assert_eq!(cache.get("a", &format!("{VALUE}A")), None);
    }

    /// A value (or name) that is the start of the stored one, ending on a word boundary and
    /// with the same last bytes (so the same slot), matches every word it has: only the
    /// lengths tell them apart.
    #[test]
    fn a_shorter_name_or_value_in_the_same_slot_is_a_miss() {
        let cache = Verified::new();
        let (long, short) = ("T".repeat(16), "T".repeat(8));
        cache.insert("a", &long, &opened(1));
        assert_eq!(cache.get("a", &short), None);
        assert_eq!(cache.get("a", &long), Some(opened(1)));
        cache.insert("abcdefgh12345678", VALUE, &opened(2));
        assert_eq!(cache.get("abcdefgh", VALUE), None);
        assert_eq!(cache.get("abcdefgh12345678", VALUE), Some(opened(2)));
    }

    #[test]
    fn a_new_value_replaces_the_one_in_its_slot() {
        let cache = Verified::new();
        let other = format!("B{}", &VALUE[1..]); // same tail, so the same slot
        cache.insert("a", VALUE, &opened(1));
        cache.insert("a", &other, &opened(2));
        assert_eq!(cache.get("a", VALUE), None);
        assert_eq!(cache.get("a", &other), Some(opened(2)));
    }

    #[test]
    fn values_longer_than_any_sealed_one_are_never_kept() {
        let cache = Verified::new();
        let long = "A".repeat(MAX_VALUE + 1);
        cache.insert("a", &long, &opened(1));
        assert_eq!(cache.get("a", &long), None);
        let longest = "A".repeat(MAX_VALUE);
        cache.insert("a", &longest, &opened(1));
        assert_eq!(cache.get("a", &longest), Some(opened(1)));
        // Short values (even empty) have a slot too, and do not panic.
        cache.insert("a", "", &opened(3));
        assert_eq!(cache.get("a", ""), Some(opened(3)));
    }

    #[test]
    fn a_slot_being_written_is_a_miss_and_is_not_written_again() {
        let cache = Verified::new();
        cache.insert("a", VALUE, &opened(1));
        let slot = cache.slot(VALUE).get().unwrap();
        // A writer is at it.
        slot.sequence.fetch_add(1, Ordering::Relaxed);
        assert_eq!(cache.get("a", VALUE), None);
        cache.insert("a", VALUE, &opened(2));
        slot.sequence.fetch_add(1, Ordering::Relaxed);
        assert_eq!(cache.get("a", VALUE), Some(opened(1)));
    }

    #[test]
    fn names_longer_than_any_kept_are_verified_every_time() {
        let cache = Verified::new();
        let long = "n".repeat(MAX_NAME + 1);
        cache.insert(&long, VALUE, &opened(1));
        assert_eq!(cache.get(&long, VALUE), None);
        let longest = "n".repeat(MAX_NAME);
        cache.insert(&longest, VALUE, &opened(1));
        assert_eq!(cache.get(&longest, VALUE), Some(opened(1)));
    }

    #[test]
    fn every_field_of_what_a_value_opened_to_comes_back() {
        let cache = Verified::new();
        for len in [0u8, 1, 7, 8, 9, 63, 64] {
            let body: Vec<u8> = (0..len).map(|i| 200 - i).collect();
            let entry = Opened {
                key_id: 255 - len,
                by_primary: len.is_multiple_of(2),
                expires_at: u64::MAX - u64::from(len),
                body: Body::new(&body).unwrap(),
            };
            cache.insert("a", VALUE, &entry);
            assert_eq!(cache.get("a", VALUE), Some(entry), "a body of {len} bytes");
        }
    }

    /// Two values share a slot while a writer keeps swapping them: a reader gets each
    /// value's own entry or nothing, never a mix of the two (a mix would pair one visitor's
    /// value with another's session, or with another's consent).
    #[test]
    fn readers_never_see_half_of_one_entry_and_half_of_another() {
        use std::sync::atomic::AtomicBool;
        use std::time::{Duration, Instant};
        let cache = Verified::new();
        let other = format!("B{}", &VALUE[1..]); // same tail, so the same slot
        let entry = |fill: u8| Opened {
            key_id: fill,
            by_primary: fill.is_multiple_of(2),
            expires_at: u64::from(fill) * 0x0101_0101_0101_0101,
            body: Body::new(&[fill; MAX_BODY_LEN]).unwrap(),
        };
        cache.insert("a", VALUE, &entry(1));
        let done = AtomicBool::new(false);
        let hits = std::thread::scope(|scope| {
            scope.spawn(|| {
                // Which value goes in next follows a xorshift sequence, not a fixed
                // alternation. A scheduler that runs one thread at a time (as under
                // valgrind) switches threads after a fixed count of basic blocks; with a
                // fixed pattern, every switch could land at the same point of it, and the
                // reader would only ever find one of the two values.
                let mut pattern = 0x9e37_79b9_7f4a_7c15_u64;
                for round in 0u64.. {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    pattern ^= pattern << 13;
                    pattern ^= pattern >> 7;
                    pattern ^= pattern << 17;
                    if pattern & 1 == 0 {
                        cache.insert("a", &other, &entry(2));
                    } else {
                        cache.insert("a", VALUE, &entry(1));
                    }
                    // Now and then, so such a scheduler lets the reader run too (valgrind
                    // hands the turn over in order only with --fair-sched=yes, as
                    // scripts/test runs it; without, this test can take a minute there).
                    if round % 256 == 0 {
                        std::thread::yield_now();
                    }
                }
            });
            let reader = scope.spawn(|| {
                let start = Instant::now();
                let mut hits = [0u64; 2];
                // Half a second at least, and until each value was found: the writer
                // swapped them while this thread read.
                for round in 0u64.. {
                    if start.elapsed() > Duration::from_millis(500) && !hits.contains(&0) {
                        break;
                    }
                    assert!(start.elapsed() < Duration::from_secs(120), "no swap seen");
                    for (index, (value, fill)) in
                        [(VALUE, 1), (other.as_str(), 2)].into_iter().enumerate()
                    {
                        if let Some(got) = cache.get("a", value) {
                            assert_eq!(got, entry(fill), "a torn entry");
                            hits[index] += 1;
                        }
                    }
                    if round % 1024 == 0 {
                        std::thread::yield_now();
                    }
                }
                hits
            });
            // The writer stops whatever the reader found, so a failure ends the test.
            let hits = reader.join();
            done.store(true, Ordering::Relaxed);
            hits.unwrap()
        });
        assert!(hits.iter().all(|&count| count > 0), "{hits:?}");
    }
}
