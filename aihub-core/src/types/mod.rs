//! The canonical schema: OpenAI Chat Completions, Embeddings and Models.
//!
//! Every provider adapter translates to and from these types. Fields the types do not
//! name are kept in `extra` maps, so nothing a caller sends is dropped on the way to an
//! OpenAI-compatible upstream.

mod chat;
mod chunk;
mod embeddings;
mod models;
mod usage;

pub use chat::*;
pub use chunk::*;
pub use embeddings::*;
pub use models::*;
pub use usage::*;

/// Extra JSON fields kept alongside the named ones.
pub type ExtraFields = serde_json::Map<String, serde_json::Value>;

#[cfg(test)]
mod tests;
