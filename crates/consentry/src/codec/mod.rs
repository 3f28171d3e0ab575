//! The signed cookie envelope.
//!
//! ```text
//! base64url( version:u8 | key id:u8 | expires-at:u64 BE (unix seconds) | body | tag:16 )
//! tag = HMAC-SHA256(purpose subkey, len(name):u16 BE | name | version..body)[..16]
//! ```
//!
//! The cookie name is inside the MAC, so a value cannot be replayed under another name;
//! the expiry is inside the signed bytes, so the browser's `Max-Age` is only a hint.
//!
//! Version 2 prefixes the name with its length in two bytes. Version 1 (still opened, never
//! written) used eight, which made a session cookie's MAC input 60 bytes: one byte past
//! what a single SHA-256 block holds with its padding (55), so every check cost three
//! compressions instead of two.
//!
//! A value that verified is remembered ([`verified`]), so a returning visitor's cookie is
//! checked by its MAC once, not on every request.

mod verified;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::cookies::CookieValue;
use crate::keys::{Keyring, Purpose};
use verified::Verified;

/// Envelope format version written into every cookie.
pub(crate) const VERSION: u8 = 2;
/// The first version, with the name's length in eight bytes; still opened.
const VERSION_1: u8 = 1;
/// Bytes of the HMAC-SHA256 output kept as the tag (128 bits).
pub(crate) const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 1 + 8;
/// Longest cookie value considered at all; anything longer is rejected before decoding.
pub(crate) const MAX_VALUE_LEN: usize = 1024;

/// Why a cookie value was not accepted. Callers treat every case as "no cookie".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    TooLong,
    Encoding,
    Truncated,
    Version,
    UnknownKey,
    Tag,
    Expired,
}

/// Longest body any part seals (a referral: a 32-byte partner id, its length and two
/// times); a longer one was not written by this layer and does not open.
pub(crate) const MAX_BODY_LEN: usize = 64;

/// A verified cookie payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opened {
    pub(crate) key_id: u8,
    /// Signed by the primary key; otherwise by a verify-only key, and due to be re-signed.
    pub(crate) by_primary: bool,
    pub(crate) expires_at: u64,
    pub(crate) body: Body,
}

/// A verified body, kept inline: opening a cookie allocates nothing.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Body {
    bytes: [u8; MAX_BODY_LEN],
    len: usize,
}

impl Body {
    /// `None` for a body longer than [`MAX_BODY_LEN`].
    fn new(body: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; MAX_BODY_LEN];
        bytes.get_mut(..body.len())?.copy_from_slice(body);
        Some(Self {
            bytes,
            len: body.len(),
        })
    }
}

impl std::ops::Deref for Body {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Seals and opens cookie values for one purpose, with precomputed MAC states and a cache
/// of the values that verified (shared by clones).
#[derive(Clone)]
pub(crate) struct Codec {
    primary: usize,
    macs: Vec<(u8, Hmac<Sha256>)>,
    verified: Arc<Verified>,
}

impl Codec {
    pub(crate) fn new(keyring: &Keyring, purpose: Purpose) -> Self {
        let macs = keyring.macs(purpose);
        let primary = macs
            .iter()
            .position(|(id, _)| *id == keyring.primary_id())
            .expect("the primary key is always in the keyring");
        Self {
            primary,
            macs,
            verified: Arc::new(Verified::new()),
        }
    }

    /// Signs `body` (at most [`MAX_BODY_LEN`] bytes, or it will not open) for the cookie
    /// `name`, valid until `expires_at` (unix seconds).
    pub(crate) fn seal(&self, name: &str, expires_at: u64, body: &[u8]) -> String {
        let sealed = self.sealed(name, expires_at, body);
        let mut out = Vec::with_capacity(sealed.len());
        sealed.write_to(&mut out);
        String::from_utf8(out).expect("base64url is ASCII")
    }

    /// [`seal`](Self::seal), written where it is needed: a `Set-Cookie` takes it as its
    /// value ([`CookieValue`]) and builds the whole header in one allocation.
    pub(crate) fn sealed<'a>(
        &'a self,
        name: &'a str,
        expires_at: u64,
        body: &'a [u8],
    ) -> Sealed<'a> {
        Sealed {
            codec: self,
            name,
            expires_at,
            body,
        }
    }

    /// Verifies a value read from the cookie `name` at time `now` (unix seconds).
    ///
    /// A value that verified before (the very same bytes, under the same name) is taken
    /// from the cache without computing its MAC again; the expiry is checked either way.
    pub(crate) fn open(&self, name: &str, value: &str, now: u64) -> Result<Opened, OpenError> {
        if let Some(opened) = self.verified.get(name, value) {
            return unexpired(opened, now);
        }
        let opened = unexpired(self.verify(name, value)?, now)?;
        self.verified.insert(name, value, &opened);
        Ok(opened)
    }

    /// [`open`](Self::open) without the cache: always computes the MAC.
    #[cfg(any(test, feature = "internals"))]
    pub(crate) fn open_uncached(
        &self,
        name: &str,
        value: &str,
        now: u64,
    ) -> Result<Opened, OpenError> {
        unexpired(self.verify(name, value)?, now)
    }

    /// Decodes `value` and checks its tag; the expiry is the caller's.
    fn verify(&self, name: &str, value: &str) -> Result<Opened, OpenError> {
        if value.len() > MAX_VALUE_LEN {
            return Err(OpenError::TooLong);
        }
        // Decoded on the stack: a value that does not verify costs no allocation.
        let mut buffer = [0u8; MAX_VALUE_LEN / 4 * 3 + 3];
        let decoded = URL_SAFE_NO_PAD
            .decode_slice(value, &mut buffer)
            .map_err(|_| OpenError::Encoding)?;
        let raw = &buffer[..decoded];
        if raw.len() < HEADER_LEN + TAG_LEN {
            return Err(OpenError::Truncated);
        }
        let (payload, tag) = raw.split_at(raw.len() - TAG_LEN);
        let version = payload[0];
        if version != VERSION && version != VERSION_1 {
            return Err(OpenError::Version);
        }
        let key_id = payload[1];
        let (_, mac) = self
            .macs
            .iter()
            .find(|(id, _)| *id == key_id)
            .ok_or(OpenError::UnknownKey)?;
        keyed(mac, version, name, payload)
            .verify_truncated_left(tag)
            .map_err(|_| OpenError::Tag)?;
        let expires_at = u64::from_be_bytes(payload[2..HEADER_LEN].try_into().expect("8 bytes"));
        Ok(Opened {
            key_id,
            by_primary: key_id == self.macs[self.primary].0,
            expires_at,
            body: Body::new(&payload[HEADER_LEN..]).ok_or(OpenError::TooLong)?,
        })
    }
}

/// A cookie value still to be sealed ([`Codec::sealed`]): its length is known before its
/// bytes are written, so the header that carries it is allocated once, at its size.
pub(crate) struct Sealed<'a> {
    codec: &'a Codec,
    name: &'a str,
    expires_at: u64,
    body: &'a [u8],
}

impl CookieValue for Sealed<'_> {
    fn len(&self) -> usize {
        base64::encoded_len(HEADER_LEN + self.body.len() + TAG_LEN, false)
            .expect("a cookie payload's length is far from overflowing")
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        let (key_id, mac) = &self.codec.macs[self.codec.primary];
        let len = HEADER_LEN + self.body.len() + TAG_LEN;
        // On the stack for every body that can open; a longer one still seals (it will
        // never open), on the heap.
        let mut stack = [0u8; HEADER_LEN + MAX_BODY_LEN + TAG_LEN];
        let mut heap = Vec::new();
        let payload = if len <= stack.len() {
            &mut stack[..len]
        } else {
            heap.resize(len, 0);
            &mut heap[..]
        };
        let body_end = HEADER_LEN + self.body.len();
        payload[0] = VERSION;
        payload[1] = *key_id;
        payload[2..HEADER_LEN].copy_from_slice(&self.expires_at.to_be_bytes());
        payload[HEADER_LEN..body_end].copy_from_slice(self.body);
        let tag = keyed(mac, VERSION, self.name, &payload[..body_end])
            .finalize()
            .into_bytes();
        payload[body_end..].copy_from_slice(&tag[..TAG_LEN]);
        let start = out.len();
        out.resize(start + self.len(), 0);
        let written = URL_SAFE_NO_PAD
            .encode_slice(&*payload, &mut out[start..])
            .expect("the output is sized by the encoded length");
        debug_assert_eq!(written, out.len() - start);
    }
}

fn unexpired(opened: Opened, now: u64) -> Result<Opened, OpenError> {
    if now >= opened.expires_at {
        return Err(OpenError::Expired);
    }
    Ok(opened)
}

/// The MAC state over the name (its length in the width `version` uses) and `payload`.
fn keyed(mac: &Hmac<Sha256>, version: u8, name: &str, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = mac.clone();
    if version == VERSION_1 {
        mac.update(&(name.len() as u64).to_be_bytes());
    } else {
        // Cookie names are short (the builders refuse long ones); a longer one saturates,
        // which still signs the whole name.
        mac.update(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_be_bytes());
    }
    mac.update(name.as_bytes());
    mac.update(payload);
    mac
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::keys::Key;

    const NOW: u64 = 1_800_000_000;

    fn key(byte: u8) -> Key {
        Key::from_bytes(&[byte; 32]).unwrap()
    }

    fn codec(ring: &Keyring) -> Codec {
        Codec::new(ring, Purpose::Session)
    }

    #[test]
    fn a_sealed_value_is_as_long_as_it_says_and_opens_whatever_its_body() {
        let codec = codec(&Keyring::new(7, key(1)));
        for len in 0..=MAX_BODY_LEN + 8 {
            let body = vec![0xA5; len];
            let sealed = codec.sealed("__Host-sid", NOW + 60, &body);
            let mut out = b"prefix".to_vec();
            sealed.write_to(&mut out);
            assert_eq!(out.len(), 6 + sealed.len(), "body of {len} bytes");
            let value = std::str::from_utf8(&out[6..]).unwrap();
            let opened = codec.open_uncached("__Host-sid", value, NOW);
            if len <= MAX_BODY_LEN {
                assert_eq!(&*opened.unwrap().body, &body[..]);
            } else {
                assert!(opened.is_err(), "a body of {len} bytes never opens");
            }
        }
    }

    #[test]
    fn round_trip() {
        let codec = codec(&Keyring::new(7, key(1)));
        let value = codec.seal("__Host-sid", NOW + 60, b"hello");
        let opened = codec.open("__Host-sid", &value, NOW).unwrap();
        assert_eq!(
            (opened.key_id, opened.by_primary, opened.expires_at),
            (7, true, NOW + 60)
        );
        assert_eq!(&*opened.body, b"hello");
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let codec = codec(&Keyring::new(1, key(1)));
        let value = codec.seal("__Host-sid", NOW + 60, &[0x5A; 32]);
        let mut raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
        for byte in 0..raw.len() {
            for bit in 0..8 {
                raw[byte] ^= 1 << bit;
                let forged = URL_SAFE_NO_PAD.encode(&raw);
                assert!(
                    codec.open("__Host-sid", &forged, NOW).is_err(),
                    "flip of bit {bit} in byte {byte} was accepted"
                );
                raw[byte] ^= 1 << bit;
            }
        }
        // And of the text itself: any flipped bit of any character.
        let mut text = value.clone().into_bytes();
        for index in 0..text.len() {
            for bit in 0..8 {
                text[index] ^= 1 << bit;
                if let Ok(forged) = std::str::from_utf8(&text) {
                    assert!(codec.open("__Host-sid", forged, NOW).is_err());
                }
                text[index] ^= 1 << bit;
            }
        }
        assert!(codec.open("__Host-sid", &value, NOW).is_ok());
    }

    #[test]
    fn a_value_moved_to_another_cookie_name_is_rejected() {
        let codec = codec(&Keyring::new(1, key(1)));
        let value = codec.seal("__Host-sid", NOW + 60, b"body");
        assert_eq!(
            codec.open("__Host-consent", &value, NOW),
            Err(OpenError::Tag)
        );
        assert_eq!(codec.open("__Host-si", &value, NOW), Err(OpenError::Tag));
    }

    #[test]
    fn a_value_of_another_purpose_is_rejected() {
        let ring = Keyring::new(1, key(1));
        let session = Codec::new(&ring, Purpose::Session);
        let consent = Codec::new(&ring, Purpose::Consent);
        let value = consent.seal("__Host-sid", NOW + 60, b"body");
        assert_eq!(session.open("__Host-sid", &value, NOW), Err(OpenError::Tag));
    }

    #[test]
    fn rotated_out_key_verifies_while_in_the_ring_only() {
        let old = codec(&Keyring::new(1, key(1)));
        let value = old.seal("__Host-sid", NOW + 60, b"body");

        let rotated = codec(&Keyring::new(2, key(2)).with_verify_only(1, key(1)));
        assert_eq!(rotated.open("__Host-sid", &value, NOW).unwrap().key_id, 1);
        // New cookies are signed by the new primary.
        let fresh = rotated.seal("__Host-sid", NOW + 60, b"body");
        assert_eq!(rotated.open("__Host-sid", &fresh, NOW).unwrap().key_id, 2);

        let removed = codec(&Keyring::new(2, key(2)));
        assert_eq!(
            removed.open("__Host-sid", &value, NOW),
            Err(OpenError::UnknownKey)
        );
        // An attacker relabelling the old cookie with the new id gets nowhere either.
        let mut raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
        raw[1] = 2;
        assert_eq!(
            removed.open("__Host-sid", &URL_SAFE_NO_PAD.encode(raw), NOW),
            Err(OpenError::Tag)
        );
    }

    #[test]
    fn a_remembered_value_still_expires_and_forgeries_beside_it_still_fail() {
        let codec = codec(&Keyring::new(1, key(1)));
        let value = codec.seal("__Host-sid", NOW + 60, &[9; 32]);
        let first = codec.open("__Host-sid", &value, NOW).unwrap();
        // The second open is served from the cache: same result, same checks.
        assert_eq!(codec.open("__Host-sid", &value, NOW), Ok(first.clone()));
        assert_eq!(codec.open_uncached("__Host-sid", &value, NOW), Ok(first));
        assert_eq!(
            codec.open("__Host-sid", &value, NOW + 60),
            Err(OpenError::Expired)
        );
        assert_eq!(codec.open("__Host-other", &value, NOW), Err(OpenError::Tag));
        // A forgery that shares the remembered value's slot (same tail) is verified in full.
        let mut forged = value.clone().into_bytes();
        forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(codec.open("__Host-sid", &forged, NOW).is_err());
        // Clones share what was learned; a codec under another keyring learned nothing.
        assert!(codec.clone().open("__Host-sid", &value, NOW).is_ok());
        let other = Codec::new(&Keyring::new(1, key(2)), Purpose::Session);
        assert_eq!(other.open("__Host-sid", &value, NOW), Err(OpenError::Tag));
    }

    #[test]
    fn expired_payload_is_rejected_whatever_the_browser_kept() {
        let codec = codec(&Keyring::new(1, key(1)));
        let value = codec.seal("__Host-sid", NOW + 60, b"body");
        assert!(codec.open("__Host-sid", &value, NOW + 59).is_ok());
        assert_eq!(
            codec.open("__Host-sid", &value, NOW + 60),
            Err(OpenError::Expired)
        );
    }

    #[test]
    fn malformed_values_are_rejected_without_panicking() {
        let codec = codec(&Keyring::new(1, key(1)));
        for value in [
            "",
            "=",
            "!!!",
            "AAAA",
            "AQE",
            &"A".repeat(MAX_VALUE_LEN + 1),
        ] {
            assert!(codec.open("__Host-sid", value, NOW).is_err(), "{value:?}");
        }
        let mut raw = URL_SAFE_NO_PAD
            .decode(codec.seal("__Host-sid", NOW + 60, b""))
            .unwrap();
        raw[0] = 3;
        assert_eq!(
            codec.open("__Host-sid", &URL_SAFE_NO_PAD.encode(raw), NOW),
            Err(OpenError::Version)
        );
    }

    /// A value sealed by hand in `version`'s format.
    fn sealed_as(codec: &Codec, version: u8, name: &str, body: &[u8]) -> String {
        let (key_id, mac) = &codec.macs[codec.primary];
        let mut payload = vec![version, *key_id];
        payload.extend_from_slice(&(NOW + 60).to_be_bytes());
        payload.extend_from_slice(body);
        let tag = keyed(mac, version, name, &payload).finalize().into_bytes();
        payload.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(payload)
    }

    #[test]
    fn version_1_values_still_open_and_neither_version_passes_for_the_other() {
        let codec = codec(&Keyring::new(3, key(3)));
        let old = sealed_as(&codec, VERSION_1, "__Host-sid", &[5; 32]);
        assert_eq!(
            &*codec.open("__Host-sid", &old, NOW).unwrap().body,
            &[5; 32]
        );
        assert!(
            codec.open("__Host-ref", &old, NOW).is_err(),
            "the name still counts"
        );
        // The same bytes under the other version's number: the MAC input differs.
        for (value, other) in [
            (old, VERSION),
            (codec.seal("__Host-sid", NOW + 60, &[5; 32]), VERSION_1),
        ] {
            let mut raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
            raw[0] = other;
            assert_eq!(
                codec.open("__Host-sid", &URL_SAFE_NO_PAD.encode(raw), NOW),
                Err(OpenError::Tag)
            );
        }
    }

    proptest! {
        #[test]
        fn any_body_round_trips(body in proptest::collection::vec(any::<u8>(), 0..=MAX_BODY_LEN),
                                ttl in 1u64..1_000_000) {
            let codec = codec(&Keyring::new(3, key(3)));
            let value = codec.seal("c", NOW + ttl, &body);
            prop_assert!(value.len() <= MAX_VALUE_LEN);
            let opened = codec.open("c", &value, NOW).unwrap();
            prop_assert_eq!(&*opened.body, &body[..]);
        }

        #[test]
        fn a_body_longer_than_any_part_seals_never_opens(extra in 1usize..100) {
            // Sealed by hand (seal itself refuses in debug builds): the MAC is right, the
            // body is not one this layer writes.
            let codec = codec(&Keyring::new(3, key(3)));
            let value = sealed_as(&codec, VERSION, "c", &vec![7u8; MAX_BODY_LEN + extra]);
            prop_assert_eq!(codec.open("c", &value, NOW), Err(OpenError::TooLong));
        }

        #[test]
        fn arbitrary_text_never_verifies(value in ".{0,300}") {
            let codec = codec(&Keyring::new(3, key(3)));
            prop_assert!(codec.open("c", &value, NOW).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_verify(raw in proptest::collection::vec(any::<u8>(), 0..120)) {
            let codec = codec(&Keyring::new(3, key(3)));
            prop_assert!(codec.open("c", &URL_SAFE_NO_PAD.encode(raw), NOW).is_err());
        }
    }
}
