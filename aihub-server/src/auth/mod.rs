//! Who is calling: [`KeyAuth`] (an API key) for the OpenAI-compatible ingress, and one
//! [`Principal`] (the operator, a signed-in member, or an API key) for the management API.

mod extract;
pub mod policy;
mod principal;

pub use extract::{KeyAuth, operator_only};
pub use principal::Principal;
