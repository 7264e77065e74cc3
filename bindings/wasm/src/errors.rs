//! Core errors → the JS `Error`s the shared TypeScript layer decodes into its classes.

use serde_json::Value;
use wasm_bindgen::JsValue;

/// Prefix of the message of every error this module throws (`NATIVE_ERROR_PREFIX`).
const PREFIX: &str = "aihub-error:";

/// A JS `Error` carrying `to_sdk_json()`-shaped JSON.
fn js_error(json: &Value) -> JsValue {
    js_sys::Error::new(&format!("{PREFIX}{json}")).into()
}

/// The JS error for a core error.
pub fn to_js(error: &aihub_core::Error) -> JsValue {
    js_error(&error.to_sdk_json())
}

/// The JS error for a call the caller cancelled (`APIUserAbortError`).
pub fn aborted() -> JsValue {
    js_error(&aihub_core::Error::aborted_sdk_json())
}

/// A value as JSON text; serialising the core's own types does not fail in practice, and
/// if it did the caller gets an `InvalidResponseError` rather than a panic.
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|e| {
        to_js(&aihub_core::Error::invalid_response(format!(
            "cannot encode the result as JSON: {e}"
        )))
    })
}
