//! Token counting with tiktoken-rs (being written).
