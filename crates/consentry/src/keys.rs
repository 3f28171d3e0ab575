//! Secrets: [`Key`], the [`Keyring`] with rotation, and per-purpose subkeys.
//!
//! Every cookie names the key that signed it by a one-byte id. The primary key signs;
//! older keys only verify, so a rotation is: make the new key primary, keep the old one
//! as verify-only for one cookie lifetime, then drop it.
//!
//! Each cookie kind is signed with its own subkey, derived from the master with HKDF-SHA256,
//! so a value of one kind never verifies as another even under the same master key.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit as _};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::ConfigError;

/// What a generated key says, on stderr and to `tracing`.
const GENERATED_KEY_WARNING: &str = "consentry: WARNING: using a generated signing key (development only). \
Every session, consent and referral cookie becomes invalid when this process restarts: \
visitors are logged out and asked for consent again. Set a persistent secret \
(for example CONSENTRY_SECRET=$(openssl rand -hex 32)) for anything else.";

/// A master secret of at least [`Key::MIN_LEN`] bytes.
///
/// Its `Debug` output is redacted and its bytes are zeroized when dropped.
///
/// ```
/// use consentry::Key;
///
/// let key = Key::parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")?;
/// assert_eq!(format!("{key:?}"), "Key(<redacted>)");
/// # Ok::<(), consentry::ConfigError>(())
/// ```
pub struct Key {
    bytes: Zeroizing<Vec<u8>>,
}

impl Key {
    /// The shortest accepted secret, in bytes.
    pub const MIN_LEN: usize = 32;

    /// Uses `bytes` as the secret.
    ///
    /// # Errors
    /// [`ConfigError::SecretTooShort`] when `bytes` is shorter than [`Key::MIN_LEN`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfigError> {
        if bytes.len() < Self::MIN_LEN {
            return Err(ConfigError::SecretTooShort { len: bytes.len() });
        }
        Ok(Self {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// Parses a secret written as hex or as base64 (standard or URL-safe alphabet, with or
    /// without padding). Text made only of an even number of hex digits is read as hex.
    /// Surrounding whitespace is ignored.
    ///
    /// ```
    /// use consentry::{ConfigError, Key};
    ///
    /// assert!(Key::parse("q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=").is_ok());
    /// assert!(matches!(Key::parse("abcd"), Err(ConfigError::SecretTooShort { len: 2 })));
    /// assert!(matches!(Key::parse("not a secret!"), Err(ConfigError::SecretEncoding)));
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::SecretEncoding`] for text in neither encoding,
    /// [`ConfigError::SecretTooShort`] for fewer than 32 decoded bytes.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let decoded = if !text.is_empty()
            && text.len().is_multiple_of(2)
            && text.bytes().all(|b| b.is_ascii_hexdigit())
        {
            Zeroizing::new(decode_hex(text))
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
                .map(Zeroizing::new)
                .ok_or(ConfigError::SecretEncoding)?
        };
        Self::from_bytes(&decoded)
    }

    /// Reads the secret from the environment variable `name` with [`Key::parse`].
    ///
    /// Returns `Ok(None)` when the variable is unset or empty.
    ///
    /// ```
    /// use consentry::Key;
    ///
    /// assert!(Key::from_env("CONSENTRY_DOC_EXAMPLE_UNSET")?.is_none());
    /// # Ok::<(), consentry::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Key::parse`], when the variable is set.
    pub fn from_env(name: &str) -> Result<Option<Self>, ConfigError> {
        match std::env::var(name) {
            Ok(value) if !value.trim().is_empty() => Self::parse(&value).map(Some),
            _ => Ok(None),
        }
    }

    /// Generates a random 32-byte key from the operating system's generator.
    ///
    /// For development and tests only: every cookie signed with it dies when the process
    /// exits, so every visitor is logged out and asked for consent again on each restart.
    /// It says so on stderr (and to `tracing`), since a new app often has no log
    /// subscriber yet. Production keys come from a secret store ([`Keyring::from_env`],
    /// [`Key::from_env`], [`Key::parse`]); see [`Keyring::development`].
    ///
    /// ```
    /// let key = consentry::Key::generate();
    /// # let _ = key;
    /// ```
    ///
    /// # Panics
    /// When the operating system has no random number generator, which no supported
    /// platform lacks.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; Self::MIN_LEN]);
        getrandom::fill(&mut bytes).expect("the operating system random generator failed");
        eprintln!("{GENERATED_KEY_WARNING}");
        tracing::warn!("{GENERATED_KEY_WARNING}");
        Self { bytes }
    }

    /// A one-byte id derived from the secret itself (not secret: one byte of an HKDF
    /// output), so the same secret gets the same id wherever it sits in a keyring. This is
    /// what [`Keyring::from_keys`] writes into cookies.
    ///
    /// ```
    /// use consentry::Key;
    ///
    /// let key = Key::parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")?;
    /// let again = Key::parse("ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=")?;
    /// assert_eq!(key.derived_id(), again.derived_id());
    /// # Ok::<(), consentry::ConfigError>(())
    /// ```
    ///
    /// # Panics
    /// Never: one byte is a valid HKDF-SHA256 output length.
    pub fn derived_id(&self) -> u8 {
        let hkdf = Hkdf::<Sha256>::new(Some(b"consentry"), &self.bytes);
        let mut out = [0u8; 1];
        hkdf.expand(b"consentry/v1/key-id", &mut out)
            .expect("1 byte is a valid HKDF-SHA256 output length");
        out[0]
    }

    pub(crate) fn subkey(&self, purpose: Purpose) -> Zeroizing<[u8; 32]> {
        let hkdf = Hkdf::<Sha256>::new(Some(b"consentry"), &self.bytes);
        let mut out = Zeroizing::new([0u8; 32]);
        hkdf.expand(purpose.info(), out.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

fn decode_hex(text: &str) -> Vec<u8> {
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| (hex_value(pair[0]) << 4) | hex_value(pair[1]))
        .collect()
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// What a subkey signs. Each purpose gets an independent HKDF output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Session,
    Consent,
    Referral,
}

impl Purpose {
    fn info(self) -> &'static [u8] {
        match self {
            Self::Session => b"consentry/v1/session",
            Self::Consent => b"consentry/v1/consent",
            Self::Referral => b"consentry/v1/referral",
        }
    }
}

/// The keys that sign and verify cookies: one primary key and any number of verify-only
/// keys, each with its own one-byte id.
///
/// Duplicate ids are reported as [`ConfigError::DuplicateKeyId`] when the layer is built.
///
/// ```
/// use consentry::{Key, Keyring};
///
/// let old = Key::generate();
/// let new = Key::generate();
/// // Rotation: the new key signs, the old one still verifies cookies it signed.
/// let keyring = Keyring::new(2, new).with_verify_only(1, old);
/// assert_eq!(keyring.primary_id(), 2);
/// ```
#[derive(Debug)]
pub struct Keyring {
    primary: u8,
    keys: Vec<(u8, Key)>,
}

impl Keyring {
    /// A keyring whose primary (signing) key is `key`, written into cookies as `id`.
    pub fn new(id: u8, key: Key) -> Self {
        Self {
            primary: id,
            keys: vec![(id, key)],
        }
    }

    /// Adds a key that verifies cookies but never signs new ones.
    #[must_use]
    pub fn with_verify_only(mut self, id: u8, key: Key) -> Self {
        self.keys.push((id, key));
        self
    }

    /// A keyring whose `primary` key signs and whose `previous` keys only verify, each
    /// under its [`Key::derived_id`]. Ids follow the secrets, so a rotation is a change of
    /// configuration alone: move the old secret to `previous`, put the new one first.
    ///
    /// Two secrets with the same derived id (one chance in 256 per pair) are reported as
    /// [`ConfigError::DuplicateKeyId`] when the layer is built: generate another secret.
    ///
    /// ```
    /// use consentry::{Key, Keyring};
    ///
    /// let old = Key::generate();
    /// let new = Key::generate();
    /// let id = new.derived_id();
    /// let keyring = Keyring::from_keys(new, [old]);
    /// assert_eq!(keyring.primary_id(), id);
    /// ```
    pub fn from_keys(primary: Key, previous: impl IntoIterator<Item = Key>) -> Self {
        let mut keyring = Self::new(primary.derived_id(), primary);
        for key in previous {
            keyring = keyring.with_verify_only(key.derived_id(), key);
        }
        keyring
    }

    /// Reads a keyring from the environment for [`Keyring::from_keys`]: the signing secret
    /// from `primary` and verify-only secrets from `previous`, comma-separated (each
    /// secret as [`Key::parse`] reads it). `Ok(None)` when `primary` is unset or empty.
    ///
    /// ```
    /// use consentry::Keyring;
    ///
    /// let keyring = Keyring::from_env("CONSENTRY_DOC_UNSET", "CONSENTRY_DOC_UNSET_TOO")?;
    /// assert!(keyring.is_none());
    /// # Ok::<(), consentry::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Key::parse`], for the first secret that does not parse.
    pub fn from_env(primary: &str, previous: &str) -> Result<Option<Self>, ConfigError> {
        let Some(key) = Key::from_env(primary)? else {
            return Ok(None);
        };
        let previous = std::env::var(previous).unwrap_or_default();
        let previous = previous
            .split(',')
            .filter(|text| !text.trim().is_empty())
            .map(Key::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Self::from_keys(key, previous)))
    }

    /// A keyring of one generated key, for development: loud on stderr, and every cookie
    /// dies with the process (see [`Key::generate`]). The usual fallback when no secret is
    /// configured:
    ///
    /// ```no_run
    /// use consentry::Keyring;
    ///
    /// let keyring = Keyring::from_env("CONSENTRY_SECRET", "CONSENTRY_PREVIOUS_SECRETS")?
    ///     .unwrap_or_else(Keyring::development);
    /// # Ok::<(), consentry::ConfigError>(())
    /// ```
    pub fn development() -> Self {
        Self::from_keys(Key::generate(), [])
    }

    /// The id of the signing key.
    pub fn primary_id(&self) -> u8 {
        self.primary
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        for (index, (id, _)) in self.keys.iter().enumerate() {
            if self.keys[..index].iter().any(|(other, _)| other == id) {
                return Err(ConfigError::DuplicateKeyId(*id));
            }
        }
        Ok(())
    }

    /// The precomputed MAC states of every key for one purpose.
    pub(crate) fn macs(&self, purpose: Purpose) -> Vec<(u8, Hmac<Sha256>)> {
        self.keys
            .iter()
            .map(|(id, key)| {
                let subkey = key.subkey(purpose);
                let mac = Hmac::<Sha256>::new_from_slice(subkey.as_ref())
                    .expect("HMAC accepts keys of any length");
                (*id, mac)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_give_the_same_key() {
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let a = Key::parse(hex).unwrap();
        let b = Key::parse(b64).unwrap();
        let c = Key::parse(&hex.to_uppercase()).unwrap();
        assert_eq!(*a.bytes, (0u8..32).collect::<Vec<_>>());
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.bytes, c.bytes);
    }

    #[test]
    fn short_and_garbage_secrets_are_config_errors() {
        assert!(matches!(
            Key::from_bytes(&[1; 31]),
            Err(ConfigError::SecretTooShort { len: 31 })
        ));
        assert!(matches!(
            Key::parse(""),
            Err(ConfigError::SecretTooShort { len: 0 })
        ));
        assert!(matches!(
            Key::parse("é#!"),
            Err(ConfigError::SecretEncoding)
        ));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = Key::from_bytes(&[0xAB; 32]).unwrap();
        let ring = Keyring::new(1, key);
        let shown = format!("{ring:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab, "));
    }

    #[test]
    fn purposes_derive_distinct_subkeys() {
        let key = Key::from_bytes(&[9; 32]).unwrap();
        let s = key.subkey(Purpose::Session);
        let c = key.subkey(Purpose::Consent);
        let r = key.subkey(Purpose::Referral);
        assert_ne!(*s, *c);
        assert_ne!(*s, *r);
        assert_ne!(*c, *r);
    }

    #[test]
    fn duplicate_key_ids_are_rejected() {
        let ring = Keyring::new(1, Key::generate()).with_verify_only(1, Key::generate());
        assert!(matches!(
            ring.validate(),
            Err(ConfigError::DuplicateKeyId(1))
        ));
        let ring = Keyring::new(1, Key::generate()).with_verify_only(0, Key::generate());
        assert!(ring.validate().is_ok());
    }
}
