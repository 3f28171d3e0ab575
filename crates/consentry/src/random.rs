//! Unpredictable bytes for session ids, consent ids and CSP nonces: the thread's
//! cryptographically secure generator (`rand`'s `ThreadRng`: a stream cipher seeded, and
//! periodically reseeded, from the operating system), without a system call per use.

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
