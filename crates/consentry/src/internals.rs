//! Entry points for the workspace's benchmarks (feature `internals`); not a supported API.

use crate::codec::Codec;
use crate::keys::{Keyring, Purpose};

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
