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

/// Characters in a CSP nonce. Each carries six random bits, so a nonce carries 132: at least
/// the 128 the CSP specification asks for.
pub(crate) const NONCE_LEN: usize = 22;
/// The characters a nonce is written in: base64url's, which CSP's `base64-value` admits.
const NONCE_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A CSP nonce: 22 characters of base64url, each drawn from six random bits, kept inline
/// (copying one costs no allocation).
///
/// A browser compares a nonce as text and never decodes it, so it is written directly in
/// the alphabet rather than by encoding random bytes: one table lookup per character.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// A fresh nonce.
    pub(crate) fn new() -> Self {
        let mut text = bytes::<NONCE_LEN>();
        for byte in &mut text {
            // The low six bits of a uniformly random byte are uniformly random.
            *byte = NONCE_ALPHABET[usize::from(*byte & 0x3f)];
        }
        Self(text)
    }

    /// The nonce's text, as bytes (ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The nonce's text.
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
    fn nonces_carry_six_random_bits_a_character_and_never_repeat() {
        const COUNT: usize = 10_000;
        let nonces: std::collections::HashSet<Nonce> = (0..COUNT).map(|_| Nonce::new()).collect();
        assert_eq!(nonces.len(), COUNT);
        // Every position draws every character of the alphabet about equally often: each of
        // the 64 is expected 156 times in 10,000 nonces (standard deviation 12.4), so a
        // count outside 80..240 means a character's bits are not uniform.
        let mut seen = vec![[0usize; 256]; NONCE_LEN];
        for nonce in &nonces {
            assert_eq!(nonce.as_str().len(), NONCE_LEN);
            for (position, byte) in nonce.as_bytes().iter().enumerate() {
                seen[position][usize::from(*byte)] += 1;
            }
        }
        for (position, counts) in seen.iter().enumerate() {
            for (byte, count) in counts.iter().enumerate() {
                let in_alphabet = NONCE_ALPHABET.contains(&u8::try_from(byte).unwrap());
                if in_alphabet {
                    assert!((80..240).contains(count), "{count} × {byte} at {position}");
                } else {
                    assert_eq!(*count, 0, "{byte} is not base64url");
                }
            }
        }
        // From another thread: its own generator, still no repeat.
        let other = std::thread::spawn(Nonce::new).join().unwrap();
        assert!(!nonces.contains(&other));
    }
}
