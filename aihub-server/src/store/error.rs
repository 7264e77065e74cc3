//! The store's error type, and the redaction that keeps credentials out of its messages.

use std::borrow::Cow;
use std::fmt;

use sqlx::error::ErrorKind;

/// What went wrong in a [`Store`](super::Store) call.
///
/// `Display` and `Debug` never show a password from a connection string: driver messages pass
/// through a redaction of `scheme://user:password@host` and `password=…` first.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique constraint rejected the write: the email is already registered, the key hash or
    /// session token already exists, and so on.
    #[error("conflict: a record with the same unique value already exists")]
    Conflict,
    /// The record does not exist, or a record the write refers to (user, organization,
    /// membership, team) does not.
    #[error("not found")]
    NotFound,
    /// The database URL or one of its options is not usable.
    #[error("invalid database configuration: {0}")]
    Config(String),
    /// Applying the schema migrations failed (or the database has migrations this build lacks).
    #[error("database migration failed: {}", redact(&.0.to_string()))]
    Migration(#[source] sqlx::migrate::MigrateError),
    /// The database failed, could not be reached, or returned a value that does not decode.
    #[error("database error: {}", redact(&.0.to_string()))]
    Database(#[source] sqlx::Error),
}

impl fmt::Debug for StoreError {
    // Derived Debug would print the driver error's own Debug, which may hold the connection
    // options; keep Debug as safe as Display.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variant = match self {
            Self::Conflict => "Conflict",
            Self::NotFound => "NotFound",
            Self::Config(_) => "Config",
            Self::Migration(_) => "Migration",
            Self::Database(_) => "Database",
        };
        write!(f, "StoreError::{variant}({self})")
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::RowNotFound = error {
            return Self::NotFound;
        }
        match error.as_database_error().map(|e| e.kind()) {
            Some(ErrorKind::UniqueViolation) => Self::Conflict,
            Some(ErrorKind::ForeignKeyViolation) => Self::NotFound,
            _ => Self::Database(error),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Migration(error)
    }
}

/// A decoding failure for a value read from the database (a malformed id, an impossible time).
pub(crate) fn invalid_data(message: String) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(message.into()))
}

/// Hides passwords in `message`: the password of every `scheme://user:password@host` and the
/// value of every `password=` parameter become `***`.
pub(crate) fn redact(message: &str) -> Cow<'_, str> {
    if !message.contains("://") && !message.to_ascii_lowercase().contains("password") {
        return Cow::Borrowed(message);
    }
    Cow::Owned(redact_password_params(&redact_userinfo(message)))
}

fn is_url_end(c: char) -> bool {
    c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | '`' | '>' | ')' | ',')
}

fn redact_userinfo(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("://") {
        let authority_start = start + 3;
        out.push_str(&rest[..authority_start]);
        let after = &rest[authority_start..];
        let authority_len = after.find(is_url_end).unwrap_or(after.len());
        let authority = &after[..authority_len];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_len..];
    }
    out.push_str(rest);
    out
}

fn redact_password_params(message: &str) -> String {
    const KEY: &str = "password=";
    let lower = message.to_ascii_lowercase();
    let mut out = String::with_capacity(message.len());
    let mut copied = 0;
    let mut search_from = 0;
    while let Some(found) = lower[search_from..].find(KEY) {
        let value_start = search_from + found + KEY.len();
        let value = &message[value_start..];
        let value_len = value
            .find(|c: char| c.is_whitespace() || matches!(c, '&' | ';' | '"' | '\''))
            .unwrap_or(value.len());
        out.push_str(&message[copied..value_start]);
        out.push_str("***");
        copied = value_start + value_len;
        search_from = copied;
    }
    out.push_str(&message[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_url_passwords_and_keeps_the_rest() {
        assert_eq!(
            redact("cannot reach postgres://app:s3cr%40t@db.internal:5432/aihub?sslmode=require"),
            "cannot reach postgres://app:***@db.internal:5432/aihub?sslmode=require"
        );
        assert_eq!(
            redact("a postgres://app@db/x and postgresql://u:p@h/y end"),
            "a postgres://app@db/x and postgresql://u:***@h/y end"
        );
        assert_eq!(redact("sqlite://./aihub.db"), "sqlite://./aihub.db");
        assert_eq!(redact("plain message"), "plain message");
    }

    #[test]
    fn redacts_password_parameters() {
        assert_eq!(
            redact("host=db user=app password=hunter2 dbname=x"),
            "host=db user=app password=*** dbname=x"
        );
        assert_eq!(
            redact("postgres://db/x?user=app&Password=hunter2&sslmode=disable"),
            "postgres://db/x?user=app&Password=***&sslmode=disable"
        );
    }

    #[test]
    fn debug_is_as_safe_as_display() {
        let error = StoreError::Database(sqlx::Error::Configuration(
            "bad url postgres://u:hunter2@h/db".into(),
        ));
        assert!(!format!("{error}").contains("hunter2"));
        assert!(!format!("{error:?}").contains("hunter2"));
        assert!(format!("{error:?}").starts_with("StoreError::Database("));
    }
}
