//! Core errors → the JavaScript errors of the native contract: an `Error` whose message is
//! `aihub-error:` and the JSON of `to_sdk_json()`, which the shared layer turns into the
//! matching class (`RateLimitError`, `NotFoundError`, …).

use serde_json::Value;

/// Prefix of the message of every error this addon throws (`NATIVE_ERROR_PREFIX`).
const PREFIX: &str = "aihub-error:";

/// The JavaScript error for a core error.
pub fn to_js(error: &aihub_core::Error) -> napi::Error {
    from_sdk_json(&error.to_sdk_json())
}

/// The JavaScript error for a cancelled call (`APIUserAbortError`).
pub fn aborted() -> napi::Error {
    from_sdk_json(&aihub_core::Error::aborted_sdk_json())
}

/// An error from its SDK JSON.
fn from_sdk_json(json: &Value) -> napi::Error {
    napi::Error::from_reason(format!("{PREFIX}{json}"))
}

/// A value that could not be written as JSON (not expected: every core type serializes).
pub fn serialize(error: &serde_json::Error) -> napi::Error {
    to_js(&aihub_core::Error::invalid_response(format!(
        "aihub: cannot write the result as JSON: {error}"
    )))
}
