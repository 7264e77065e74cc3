//! The native half of the npm package `aihub`: aihub-core through napi-rs.
//!
//! It exports exactly the `NativeModule` contract of `bindings/js/src/native.ts`, which the
//! shared TypeScript layer turns into the public API. Everything crosses as JSON text, and
//! every failure is a JavaScript `Error` whose message is `aihub-error:` followed by the
//! JSON of `aihub_core::Error::to_sdk_json()`. No logic lives here beyond that conversion.

#![deny(unsafe_code)]

mod cancel;
mod client;
mod errors;
mod helpers;
mod stream;

pub use cancel::NativeCancel;
pub use client::NativeClient;
pub use helpers::{
    catalog, catalog_model, count_tokens, default_gateway_url, estimate_cost, token_encoding,
    version,
};
pub use stream::NativeStream;
