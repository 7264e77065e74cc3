//! Accounts: users and their credentials, login sessions and API keys — what the management
//! API and the command line do, without HTTP.

mod keys;
mod secrets;
mod sessions;
mod users;

pub use keys::{KeyOwner, NewKey, issue_key};
pub use secrets::{
    generate_api_key, generate_invitation_token, generate_session_token, hash_password, hash_token,
    key_prefix, verify_password,
};
pub use sessions::{Session, log_in};
pub use users::{Credentials, check_new_credentials, create_user};
