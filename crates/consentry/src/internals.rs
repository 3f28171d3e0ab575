//! Entry points for the workspace's benchmarks (feature `internals`); not a supported API.

use crate::codec::Codec;
use crate::gate::CspTemplate;
use crate::keys::{Keyring, Purpose};
use crate::random::Nonce;

/// The session cookie's codec alone: sign and verify, nothing else.
pub struct SessionCodec(Codec);

impl SessionCodec {
    /// The codec the session part uses with `keyring`.
    pub fn new(keyring: &Keyring) -> Self {
        Self(Codec::new(keyring, Purpose::Session))
    }

    /// Signs `body` for the cookie `name`, valid until `expires_at`.
    pub fn seal(&self, name: &str, expires_at: u64, body: &[u8]) -> String {
        self.0.seal(name, expires_at, body)
    }

    /// Whether `value` verifies as the cookie `name` at `now`, as the layer checks it: a
    /// value that verified before comes from the cache of verified values.
    pub fn verify(&self, name: &str, value: &str, now: u64) -> bool {
        self.0.open(name, value, now).is_ok()
    }

    /// Whether `value` verifies, computing its MAC every time (a value seen for the first
    /// time).
    pub fn verify_uncached(&self, name: &str, value: &str, now: u64) -> bool {
        self.0.open_uncached(name, value, now).is_ok()
    }
}

/// The length of the layer's CSP nonces, in characters.
pub const CSP_NONCE_LEN: usize = crate::random::NONCE_LEN;

/// A `Content-Security-Policy` filled as the layer fills its own: a fresh nonce from the
/// layer's generator in each place, the text around it copied into one buffer.
///
/// ```
/// use consentry::internals::{CSP_NONCE_LEN, CspFill};
///
/// let csp = CspFill::new(vec!["script-src 'nonce-".into(), "'".into()]);
/// let value = csp.fill();
/// assert_eq!(value.len(), "script-src 'nonce-'".len() + CSP_NONCE_LEN);
/// assert_ne!(value, csp.fill(), "every fill has a fresh nonce");
/// ```
pub struct CspFill(CspTemplate);

impl CspFill {
    /// The policy whose text before, between and after the nonces is `parts`.
    pub fn new(parts: Vec<String>) -> Self {
        Self(CspTemplate::from_parts(parts))
    }

    /// The header's bytes with a fresh nonce in each place.
    pub fn fill(&self) -> Vec<u8> {
        self.0.fill(Nonce::new().as_bytes())
    }
}
