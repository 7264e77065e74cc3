//! HTTP routes: thin handlers that extract, call library code, and answer.

pub mod account;
pub mod admin;
pub mod limits;
pub mod usage;
