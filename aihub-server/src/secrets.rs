//! Secrets kept in the database (deployment credentials), encrypted under a 32-byte key the
//! operator gives the gateway (`AIHUB_SECRETS_KEY`, or `secrets_key_file`).
//!
//! XChaCha20-Poly1305 with a random 24-byte nonce per encryption (random nonces of that size
//! never realistically repeat, so no counter has to be kept across instances) and the owner's
//! id as associated data: a ciphertext copied onto another row does not decrypt. Each sealed
//! value also names the key it was sealed under (a short fingerprint), so that a gateway
//! started with another key says so instead of reporting a corrupt value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};

/// The environment variable holding the secrets key (base64, or 64 hex digits).
pub const SECRETS_KEY_ENV: &str = "AIHUB_SECRETS_KEY";

/// Length of the key, bytes.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// The key deployment credentials are encrypted under. Its `Debug` shows only its fingerprint.
#[derive(Clone)]
pub struct SecretsKey {
    key: std::sync::Arc<SecretBox<[u8; KEY_LEN]>>,
    id: String,
}

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A secret as stored: which key sealed it, the nonce and the ciphertext (with its tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Fingerprint of the key it was sealed under ([`SecretsKey::id`]).
    pub key_id: String,
    /// The nonce, base64.
    pub nonce: String,
    /// Ciphertext and tag, base64.
    pub ciphertext: String,
}

/// Why a secret could not be opened, or a key not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    /// The key text is neither 32 bytes of base64 nor 64 hex digits.
    #[error("the secrets key must be 32 bytes, as base64 or as 64 hex digits")]
    BadKey,
    /// The value was sealed under another key.
    #[error("sealed under another secrets key (fingerprint {0})")]
    OtherKey(String),
    /// The value does not decrypt: tampered with, truncated, or moved to another owner.
    #[error("does not decrypt (tampered with, or stored for another deployment)")]
    Corrupt,
}

impl SecretsKey {
    /// A key from its text: standard base64 of 32 bytes, or 64 hex digits (surrounding
    /// white space ignored).
    pub fn parse(text: &str) -> Result<Self, SecretsError> {
        let text = text.trim();
        let bytes = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..KEY_LEN)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| SecretsError::BadKey)?
        } else {
            STANDARD.decode(text).map_err(|_| SecretsError::BadKey)?
        };
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| SecretsError::BadKey)?;
        Ok(Self::from_bytes(key))
    }

    /// A key from its 32 bytes.
    pub fn from_bytes(key: [u8; KEY_LEN]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"aihub secrets key id\0");
        hash.update(key);
        let digest = hash.finalize();
        let id = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            key: std::sync::Arc::new(SecretBox::new(Box::new(key))),
            id,
        }
    }

    /// A short fingerprint of the key (not secret: it reveals nothing of the key).
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&self.key.expose_secret()[..]))
    }

    /// Encrypts `secret` for `owner` (the associated data, e.g. a deployment id).
    pub fn seal(&self, owner: &str, secret: &SecretString) -> Sealed {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret.expose_secret().as_bytes(),
            aad: owner.as_bytes(),
        };
        // Encryption into a Vec fails only for a message beyond 256 GiB.
        let ciphertext = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        Sealed {
            key_id: self.id.clone(),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ciphertext),
        }
    }

    /// Decrypts what [`seal`](Self::seal) made for `owner`.
    pub fn open(&self, owner: &str, sealed: &Sealed) -> Result<SecretString, SecretsError> {
        if sealed.key_id != self.id {
            return Err(SecretsError::OtherKey(sealed.key_id.clone()));
        }
        let nonce = STANDARD
            .decode(&sealed.nonce)
            .map_err(|_| SecretsError::Corrupt)?;
        if nonce.len() != NONCE_LEN {
            return Err(SecretsError::Corrupt);
        }
        let ciphertext = STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|_| SecretsError::Corrupt)?;
        let payload = Payload {
            msg: &ciphertext,
            aad: owner.as_bytes(),
        };
        let plain = self
            .cipher()
            .decrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| SecretsError::Corrupt)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SecretsError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretsKey {
        SecretsKey::from_bytes([byte; KEY_LEN])
    }

    fn secret() -> SecretString {
        SecretString::from("sk-live-0123456789abcdef".to_owned())
    }

    #[test]
    fn a_sealed_secret_opens_again_and_holds_no_plaintext() {
        let k = key(7);
        let sealed = k.seal("dep-1", &secret());
        assert!(!sealed.ciphertext.contains("sk-live"));
        assert!(!format!("{sealed:?}").contains("0123456789abcdef"));
        let opened = k.open("dep-1", &sealed).unwrap();
        assert_eq!(opened.expose_secret(), "sk-live-0123456789abcdef");
        // A fresh nonce each time: the same secret never seals to the same text.
        assert_ne!(k.seal("dep-1", &secret()), sealed);
    }

    #[test]
    fn another_key_does_not_open_it() {
        let sealed = key(7).seal("dep-1", &secret());
        assert!(matches!(
            key(8).open("dep-1", &sealed).err(),
            Some(SecretsError::OtherKey(_))
        ));
        // Even when the fingerprint is forged, the tag does not verify.
        let other = key(8);
        let forged = Sealed {
            key_id: other.id().to_owned(),
            ..sealed
        };
        assert_eq!(
            other.open("dep-1", &forged).err(),
            Some(SecretsError::Corrupt)
        );
    }

    #[test]
    fn a_tampered_ciphertext_or_nonce_does_not_open() {
        let k = key(7);
        let sealed = k.seal("dep-1", &secret());
        let mut bytes = STANDARD.decode(&sealed.ciphertext).unwrap();
        bytes[0] ^= 1;
        let tampered = Sealed {
            ciphertext: STANDARD.encode(&bytes),
            ..sealed.clone()
        };
        assert_eq!(
            k.open("dep-1", &tampered).err(),
            Some(SecretsError::Corrupt)
        );
        let mut nonce = STANDARD.decode(&sealed.nonce).unwrap();
        nonce[3] ^= 0x80;
        let moved = Sealed {
            nonce: STANDARD.encode(&nonce),
            ..sealed.clone()
        };
        assert_eq!(k.open("dep-1", &moved).err(), Some(SecretsError::Corrupt));
        let truncated = Sealed {
            ciphertext: STANDARD.encode(&bytes[..4]),
            ..sealed
        };
        assert_eq!(
            k.open("dep-1", &truncated).err(),
            Some(SecretsError::Corrupt)
        );
    }

    #[test]
    fn a_ciphertext_moved_to_another_deployment_does_not_open() {
        let k = key(7);
        let sealed = k.seal("dep-1", &secret());
        assert_eq!(k.open("dep-2", &sealed).err(), Some(SecretsError::Corrupt));
    }

    #[test]
    fn keys_parse_from_base64_or_hex_and_nothing_else() {
        let hex = "00".repeat(31) + "ff";
        let from_hex = SecretsKey::parse(&hex).unwrap();
        let mut bytes = [0u8; KEY_LEN];
        bytes[31] = 0xff;
        let from_b64 = SecretsKey::parse(&format!(" {}\n", STANDARD.encode(bytes))).unwrap();
        assert_eq!(from_hex.id(), from_b64.id());
        assert_eq!(
            SecretsKey::parse("short").unwrap_err(),
            SecretsError::BadKey
        );
        assert_eq!(
            SecretsKey::parse(&STANDARD.encode([1u8; 16])).unwrap_err(),
            SecretsError::BadKey
        );
        assert!(!format!("{from_hex:?}").contains(&hex));
    }
}
