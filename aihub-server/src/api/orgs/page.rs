//! Keyset pages for the organization listings: `?limit=&cursor=`, oldest first.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::list::parse_cursor;
use crate::error::{ApiError, ApiResult};
use crate::store::After;

/// `?limit=1..=100&cursor=…`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page (default 20, at most 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The limit to ask the store for (one more than the page, to learn whether more follow)
    /// and the position after which the page starts.
    pub fn parse(&self) -> ApiResult<(u32, After)> {
        let limit = self.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::bad_request(
                "'limit' must be between 1 and 100.",
                "limit",
            ));
        }
        Ok((limit + 1, parse_cursor(&self.cursor)?))
    }
}

/// A page: `{object: "list", data, has_more, next_cursor}`.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// Always `list`.
    pub object: &'static str,
    /// The items.
    pub data: Vec<T>,
    /// Whether more follow.
    pub has_more: bool,
    /// The `cursor` of the next page, or null.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The page of `rows` (fetched with [`PageQuery::parse`]'s limit), keyed by `key`
    /// (`(created_at, id)` of a row), shown as `view`.
    pub fn of<R>(
        mut rows: Vec<R>,
        asked: u32,
        key: impl Fn(&R) -> (i64, Uuid),
        view: impl Fn(&R) -> T,
    ) -> Self {
        let page = asked.saturating_sub(1) as usize;
        let has_more = rows.len() > page;
        rows.truncate(page);
        let next_cursor = has_more
            .then(|| {
                rows.last().map(|r| {
                    let (t, id) = key(r);
                    format!("{t}_{id}")
                })
            })
            .flatten();
        Self {
            object: "list",
            data: rows.iter().map(view).collect(),
            has_more,
            next_cursor,
        }
    }
}
