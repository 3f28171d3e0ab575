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
//! - **Never waits.** A slot another thread holds is a miss (the value is verified in
//!   full) and is not written.

use std::sync::Mutex;

use subtle::ConstantTimeEq as _;

use super::{HEADER_LEN, MAX_BODY_LEN, Opened, TAG_LEN};

/// Entries per codec.
pub(super) const SLOTS: usize = 1024;
/// Longest value kept: the longest one the layer seals (base64 of header, body and tag).
const MAX_VALUE: usize = (HEADER_LEN + MAX_BODY_LEN + TAG_LEN).div_ceil(3) * 4;
/// The value padded to whole words for the comparison.
const WORDS: usize = MAX_VALUE.div_ceil(8);

/// A cookie value padded with zeros to a fixed size.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Padded([u64; WORDS]);

impl Padded {
    /// `None` for a value longer than any the layer seals (it cannot have verified).
    fn new(value: &str) -> Option<Self> {
        let bytes = value.as_bytes();
        if bytes.len() > MAX_VALUE {
            return None;
        }
        let mut raw = [0u8; WORDS * 8];
        raw[..bytes.len()].copy_from_slice(bytes);
        let mut words = [0u64; WORDS];
        for (word, chunk) in words.iter_mut().zip(raw.chunks_exact(8)) {
            *word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        }
        Some(Self(words))
    }

    /// Equal in every word, without an early exit.
    fn equals(&self, other: &Self) -> bool {
        let difference = self
            .0
            .iter()
            .zip(other.0.iter())
            .fold(0u64, |acc, (a, b)| acc | (a ^ b));
        difference.ct_eq(&0).into()
    }
}

struct Entry {
    name: Box<str>,
    value: Padded,
    opened: Opened,
}

/// The cache of one [`Codec`](super::Codec); clones of the codec share it.
pub(super) struct Verified {
    slots: Box<[Mutex<Option<Box<Entry>>>]>,
}

impl Verified {
    pub(super) fn new() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// The slot of `value`: its last eight bytes, which for a sealed value are tag
    /// characters. A sender can pick the slot of a value of their own; that only evicts.
    fn slot(&self, value: &str) -> &Mutex<Option<Box<Entry>>> {
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
        let padded = Padded::new(value)?;
        let slot = self.slot(value).try_lock().ok()?;
        let entry = slot.as_ref()?;
        (entry.value.equals(&padded) && *entry.name == *name).then(|| entry.opened.clone())
    }

    /// Remembers that `value`, sent as the cookie `name`, verified and opened to `opened`.
    pub(super) fn insert(&self, name: &str, value: &str, opened: &Opened) {
        let Some(padded) = Padded::new(value) else {
            return;
        };
        let Ok(mut slot) = self.slot(value).try_lock() else {
            return;
        };
        match slot.as_mut() {
            Some(entry) => {
                if *entry.name != *name {
                    entry.name = name.into();
                }
                entry.value = padded;
                entry.opened = opened.clone();
            }
            None => {
                *slot = Some(Box::new(Entry {
                    name: name.into(),
                    value: padded,
                    opened: opened.clone(),
                }));
            }
        }
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
    fn a_held_slot_is_a_miss_and_is_not_written() {
        let cache = Verified::new();
        cache.insert("a", VALUE, &opened(1));
        let held = cache.slot(VALUE).lock().unwrap();
        assert_eq!(cache.get("a", VALUE), None);
        cache.insert("a", VALUE, &opened(2));
        drop(held);
        assert_eq!(cache.get("a", VALUE), Some(opened(1)));
    }
}
