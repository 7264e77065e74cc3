//! The list answer every listing shares.

use serde::Serialize;

/// `{object: "list", data: […]}`.
#[derive(Debug, Serialize)]
pub struct List<T> {
    /// Always `list`.
    pub object: &'static str,
    /// The items.
    pub data: Vec<T>,
}

impl<T> List<T> {
    /// A list of `data`.
    pub fn of(data: Vec<T>) -> Self {
        Self {
            object: "list",
            data,
        }
    }
}
