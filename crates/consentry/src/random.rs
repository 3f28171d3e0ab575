//! Unpredictable bytes for session ids, consent ids and CSP nonces: the thread's
//! cryptographically secure generator (`rand`'s `ThreadRng`: a stream cipher seeded, and
//! periodically reseeded, from the operating system), without a system call per use.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;

/// Fills `bytes` with cryptographically secure random bytes.
pub(crate) fn fill(bytes: &mut [u8]) {
    rand::rng().fill_bytes(bytes);
}

/// `N` cryptographically secure random bytes.
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    fill(&mut out);
    out
}

/// Random bytes in a CSP nonce: 128 bits.
const NONCE_BYTES: usize = 16;
/// Their base64url text.
const NONCE_LEN: usize = NONCE_BYTES.div_ceil(3) * 4 - (3 - NONCE_BYTES % 3) % 3;

/// A CSP nonce: 128 random bits as base64url text, kept inline (copying one costs no
/// allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// A fresh nonce.
    pub(crate) fn new() -> Self {
        let mut text = [0u8; NONCE_LEN];
        let written = URL_SAFE_NO_PAD
            .encode_slice(bytes::<NONCE_BYTES>(), &mut text)
            .unwrap_or(0);
        debug_assert_eq!(written, NONCE_LEN);
        Self(text)
    }

    /// The nonce's text (base64url, no padding).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_128_random_bits_and_never_repeat() {
        let nonces: std::collections::HashSet<Nonce> = (0..10_000).map(|_| Nonce::new()).collect();
        assert_eq!(nonces.len(), 10_000);
        for nonce in nonces.iter().take(100) {
            let bytes = URL_SAFE_NO_PAD.decode(nonce.as_str()).unwrap();
            assert_eq!(bytes.len(), 16);
        }
        // From another thread: its own generator, still no repeat.
        let other = std::thread::spawn(Nonce::new).join().unwrap();
        assert!(!nonces.contains(&other));
    }
}
