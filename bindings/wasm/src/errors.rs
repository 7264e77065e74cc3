//! Core errors → the JS `Error`s the shared TypeScript layer decodes into its classes.

use wasm_bindgen::JsValue;

/// The JS error for a core error.
pub fn to_js(error: &aihub_core::Error) -> JsValue {
    js_sys::Error::new(&error.to_sdk_message()).into()
}

/// The JS error for a call the caller cancelled (`APIUserAbortError`).
pub fn aborted() -> JsValue {
    js_sys::Error::new(&aihub_core::Error::aborted_sdk_message()).into()
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
