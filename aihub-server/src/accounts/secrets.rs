//! Generating and hashing secrets.
//!
//! API keys and session tokens carry 238 bits of randomness, so a fast SHA-256 is the right
//! hash for them (it is what the lookup on every request pays); passwords are low-entropy and
//! get argon2id, run off the async threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use sha2::{Digest, Sha256};

use aihub_core::client::GATEWAY_KEY_PREFIX;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_token(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// A new API key: `ai-hub-` and 40 random base62 characters.
pub fn generate_api_key() -> String {
    format!("{GATEWAY_KEY_PREFIX}{}", random_token(40))
}

/// A new management session token.
pub fn generate_session_token() -> String {
    format!("sess-{}", random_token(40))
}

/// A new invitation token (`inv-` and 40 random characters); only its hash is stored.
pub fn generate_invitation_token() -> String {
    format!("inv-{}", random_token(40))
}

/// The stored form of a key or token: lowercase hex SHA-256.
pub fn hash_token(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(token.as_bytes());
    // Every request's key is hashed: written digit by digit into one string rather than
    // formatted byte by byte.
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// The part of a key shown in listings: `ai-hub-` and the first 6 random characters.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(GATEWAY_KEY_PREFIX.len() + 6).collect()
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes).
pub async fn hash_password(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        let mut salt_bytes = [0u8; 16];
        rand::rng().fill(&mut salt_bytes);
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Checks a password against its stored argon2 hash.
pub async fn verify_password(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_look_right_and_differ() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert!(a.starts_with("ai-hub-") && a.len() == 47);
        assert_ne!(a, b);
        assert_eq!(key_prefix(&a).len(), 13);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), hash_token(&b));
        // SHA-256("abc"), the FIPS 180-2 test vector.
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[tokio::test]
    async fn passwords_round_trip() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), h.clone()).await);
        assert!(!verify_password("wrong".into(), h).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }
}
