//! # aihub-server
//!
//! The AI Hub gateway: one OpenAI-compatible API (`/v1/chat/completions`, `/v1/embeddings`,
//! `/v1/models`) in front of every provider aihub-core speaks, with accounts, API keys and
//! durable usage and cost records under `/api/v1`.

pub mod accounts;
pub mod api;
pub mod auth;
pub mod cache;
pub mod config;
pub mod counting;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod gateway;
pub mod ingress;
pub mod json;
pub mod limits;
pub mod routing;
pub mod secrets;
pub mod server;
pub mod state;
pub mod store;
pub mod tasks;
pub mod timeutil;
pub mod usage;

pub use server::{app, serve};
pub use state::{AppState, Background};
