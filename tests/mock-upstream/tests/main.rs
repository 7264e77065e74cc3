//! Integration tests: a real listener, a real HTTP client, every endpoint and knob.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod anthropic;
mod common;
mod gemini;
mod knobs;
mod openai;
mod server;
