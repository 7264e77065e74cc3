//! The native half of the npm package `aihub-wasm`: aihub-core through wasm-bindgen, with
//! the platform's `fetch` as transport (browsers, Deno, edge runtimes, Node 18+).
//!
//! It implements the `NativeModule` contract of `bindings/js/src/native.ts`: everything
//! crosses as JSON text, and every failure is a JS `Error` whose message is
//! `"aihub-error:"` followed by the JSON of `aihub_core::Error::to_sdk_json()`. The shared
//! TypeScript layer turns both into the public API. On other targets the crate is empty.

#[cfg(target_family = "wasm")]
mod cancel;
#[cfg(target_family = "wasm")]
mod client;
#[cfg(target_family = "wasm")]
mod errors;
#[cfg(target_family = "wasm")]
mod helpers;
#[cfg(target_family = "wasm")]
mod stream;

#[cfg(target_family = "wasm")]
pub use cancel::NativeCancel;
#[cfg(target_family = "wasm")]
pub use client::NativeClient;
#[cfg(target_family = "wasm")]
pub use stream::NativeStream;
