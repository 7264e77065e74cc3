//! The list answer every listing shares, and the keyset cursor of the paged ones.

use serde::Serialize;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// A `cursor` query parameter (`{created_at}_{id}`, as a page's `next_cursor` gives it) as
/// the keyset position it names; 400 naming `cursor` when it is not one.
pub fn parse_cursor(text: &Option<String>) -> ApiResult<Option<(i64, Uuid)>> {
    let Some(c) = text else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request("'cursor' is not a cursor this API returned.", "cursor");
    let (t, id) = c.split_once('_').ok_or_else(bad)?;
    Ok(Some((
        t.parse::<i64>().map_err(|_| bad())?,
        Uuid::parse_str(id).map_err(|_| bad())?,
    )))
}

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
