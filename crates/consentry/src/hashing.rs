//! A fast hasher for map keys the layer made itself: session store keys (SHA-256 digests of
//! random ids, already uniform) and granted-category masks (from a bounded set). Neither is
//! chosen by a visitor, so `SipHash`'s protection against crafted keys buys nothing there,
//! only time. Each map gets its own random seed all the same.

use std::hash::{BuildHasher, Hasher};

/// Builds [`FoldHasher`]s with one random seed per map.
#[derive(Clone, Copy)]
pub(crate) struct FoldHash {
    seed: u64,
}

impl FoldHash {
    /// A seed from the thread's CSPRNG.
    pub(crate) fn new() -> Self {
        Self {
            seed: u64::from_le_bytes(crate::random::bytes::<8>()),
        }
    }
}

impl Default for FoldHash {
    fn default() -> Self {
        Self::new()
    }
}

impl BuildHasher for FoldHash {
    type Hasher = FoldHasher;

    fn build_hasher(&self) -> FoldHasher {
        FoldHasher(self.seed)
    }
}

/// Folds every 8 bytes written into the state with a rotation, an XOR and a multiplication.
pub(crate) struct FoldHasher(u64);

impl FoldHasher {
    fn fold(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(23) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.fold(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.fold(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.fold(value as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher as _;

    use super::*;

    #[test]
    fn equal_keys_hash_equal_and_different_keys_spread() {
        let hash = FoldHash::new();
        assert_eq!(hash.hash_one([7u8; 32]), hash.hash_one([7u8; 32]));
        let mut buckets = std::collections::HashSet::new();
        for n in 0u64..1_000 {
            buckets.insert(hash.hash_one(n) >> 54);
        }
        assert!(
            buckets.len() > 600,
            "1,000 masks over 1,024 buckets: {}",
            buckets.len()
        );
        // Another map, another seed.
        assert_ne!(FoldHash::new().hash_one(1u64), hash.hash_one(1u64));
    }
}
