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

/// Parses a request body (JSON bytes) into `T`; a [`crate::Error::BadRequest`] names the
/// field at fault as its `param` (`messages[0].role`), or `body` when the JSON itself is bad.
pub fn from_json_slice<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> crate::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(request_error)
}

/// Parses a request already decoded into JSON values (a Python dict, a JS object) into `T`,
/// with the errors of [`from_json_slice`].
pub fn from_json_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> crate::Result<T> {
    serde_path_to_error::deserialize(value).map_err(request_error)
}

fn request_error(e: serde_path_to_error::Error<serde_json::Error>) -> crate::Error {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        crate::Error::bad_request(
            format!(
                "We could not parse the JSON body of your request: {inner}. Send a JSON object with Content-Type: application/json."
            ),
            Some("body"),
        )
    } else if path == "." {
        crate::Error::bad_request(format!("Invalid request body: {inner}"), Some("body"))
    } else {
        crate::Error::bad_request(format!("Invalid value for '{path}': {inner}"), Some(&path))
    }
}

#[cfg(test)]
mod tests;
