//! Core errors → the JavaScript errors of the native contract: an `Error` whose message is
//! `aihub-error:` and the JSON of `to_sdk_json()`, which the shared layer turns into the
//! matching class (`RateLimitError`, `NotFoundError`, …).

/// The JavaScript error for a core error.
pub fn to_js(error: &aihub_core::Error) -> napi::Error {
    napi::Error::from_reason(error.to_sdk_message())
}

/// The JavaScript error for a cancelled call (`APIUserAbortError`).
pub fn aborted() -> napi::Error {
    napi::Error::from_reason(aihub_core::Error::aborted_sdk_message())
}

/// A value that could not be written as JSON (not expected: every core type serializes).
pub fn serialize(error: &serde_json::Error) -> napi::Error {
    to_js(&aihub_core::Error::invalid_response(format!(
        "aihub: cannot write the result as JSON: {error}"
    )))
}
