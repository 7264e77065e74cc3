//! Who is calling: API keys for the OpenAI-compatible ingress, session tokens and the
//! master key for the management API, argon2id for passwords.

mod extract;
mod secrets;

pub use extract::{Caller, KeyAuth, MasterKey, SessionUser};
pub use secrets::{
    generate_api_key, generate_session_token, hash_password, hash_token, key_prefix,
    verify_password,
};
