//! AI Hub gateway (being written).

pub mod store;
