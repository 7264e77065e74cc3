//! Reading typed values out of `Any` rows: the `Any` driver knows integers, text and blobs only.

use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::StoreError;
use super::error::invalid_data;

/// A text column holding a UUID.
pub(crate) fn uuid(row: &AnyRow, column: &str) -> Result<Uuid, StoreError> {
    let text: String = row.try_get(column)?;
    parse_uuid(column, &text)
}

/// A nullable text column holding a UUID.
pub(crate) fn opt_uuid(row: &AnyRow, column: &str) -> Result<Option<Uuid>, StoreError> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| parse_uuid(column, &text)).transpose()
}

fn parse_uuid(column: &str, text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| invalid_data(format!("column {column}: {e}")))
}

/// An integer column (`BIGINT`, `INTEGER` or `SMALLINT`) as `i64`.
pub(crate) fn int(row: &AnyRow, column: &str) -> Result<i64, StoreError> {
    Ok(row.try_get(column)?)
}

/// A nullable integer column as `Option<i64>`.
pub(crate) fn opt_int(row: &AnyRow, column: &str) -> Result<Option<i64>, StoreError> {
    Ok(row.try_get(column)?)
}

/// A 0/1 flag column.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    match int(row, column)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(invalid_data(format!("column {column}: flag is {other}"))),
    }
}

/// A text column.
pub(crate) fn text(row: &AnyRow, column: &str) -> Result<String, StoreError> {
    Ok(row.try_get(column)?)
}

/// A nullable text column.
pub(crate) fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get(column)?)
}

/// A flag as the value bound for a 0/1 column (`SMALLINT` on PostgreSQL).
pub(crate) fn flag_value(flag: bool) -> i16 {
    i16::from(flag)
}
