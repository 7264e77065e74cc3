//! # aihub-core
//!
//! One client for every LLM provider, and the library the AI Hub gateway and its Python,
//! Node and WASM SDKs are built on: the OpenAI Chat Completions schema as canonical types,
//! sans-IO adapters for every provider family, SSE streaming, a model catalog with exact
//! pricing, token counting and an async [`Client`].

pub mod catalog;
pub mod client;
pub use client::{
    API_KEY_ENV, BASE_URL_ENV, CallSettings, Client, ClientBuilder, ClientSettings,
    DEFAULT_GATEWAY_URL, RequestOptions, RetryPolicy,
};
pub mod error;
pub mod pricing;
pub mod providers;
pub mod stream;
#[cfg(feature = "tokens")]
pub mod tokens;
pub mod types;

pub use error::{Error, ErrorDetail, Result};
pub use types::*;

/// The code blocks of docs/sdks/rust.md, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/sdks/rust.md")]
pub struct RustSdkGuide;

/// The code blocks of docs/catalog.md, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/catalog.md")]
pub struct CatalogGuide;

/// The code blocks of docs/providers.md, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/providers.md")]
pub struct ProvidersGuide;
