//! Keeping secrets out of what the configuration prints: `Debug` of every configuration type,
//! and the message of a TOML parse error.
//!
//! Secrets are the master key, provider API keys, extra header values, the passwords in
//! database and Redis URLs, and the alert webhook URL (chat webhooks carry their token in the
//! path). `Debug` shows a URL's scheme and host only; a parse error shows the offending line
//! only when that line does not look like it holds one of them.

use std::fmt;

use super::raw::{RawAlerts, RawConfig, RawProvider};
use super::{Alerts, Config, ConfigError, ProviderSettings};

/// `url` with everything that can carry a secret replaced by `***`: the userinfo
/// (`user:password@`), the query, and, unless `keep_path`, the path.
pub(crate) fn url(url: &str, keep_path: bool) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not a URL with an authority (e.g. `sqlite:aihub.db`): paths are not secret.
        return url.split('?').next().unwrap_or(url).to_owned()
            + if url.contains('?') { "?***" } else { "" };
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_owned(),
    };
    let (path, query) = match tail.split_once('?') {
        Some((path, _)) => (path, "?***"),
        None => (tail, ""),
    };
    let path = if keep_path || path.is_empty() || path == "/" {
        path
    } else {
        "/***"
    };
    format!("{scheme}://{host}{path}{query}")
}

/// A `Debug` view of an optional URL, redacted by [`url`].
struct Url<'a>(Option<&'a str>, bool);

impl fmt::Debug for Url<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(u) => f.debug_tuple("Some").field(&url(u, self.1)).finish(),
            None => f.write_str("None"),
        }
    }
}

/// A `Debug` view of a present-or-absent secret.
struct Secret(bool);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "Some([REDACTED])" } else { "None" })
    }
}

/// A `Debug` view of headers: names shown, values redacted.
struct Headers<'a, I: Iterator<Item = &'a String> + Clone>(I);

impl<'a, I: Iterator<Item = &'a String> + Clone> fmt::Debug for Headers<'a, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.clone().map(|name| (name, "[REDACTED]")))
            .finish()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("invitation_ttl", &self.invitation_ttl)
            .field("database_url", &Url(Some(&self.database_url), true))
            .field("redis_url", &Url(self.redis_url.as_deref(), true))
            .field("master_key", &Secret(self.master_key.is_some()))
            .field("secrets_key", &Secret(self.secrets_key.is_some()))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("upstream_timeout", &self.upstream_timeout)
            .field("upstream_read_timeout", &self.upstream_read_timeout)
            .field("upstream_connect_timeout", &self.upstream_connect_timeout)
            .field("upstream_stream_timeout", &self.upstream_stream_timeout)
            .field("upstream_max_retries", &self.upstream_max_retries)
            .field("session_ttl", &self.session_ttl)
            .field("key_cache_ttl", &self.key_cache_ttl)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("providers", &self.providers)
            .field("plans", &self.plans)
            .field("limits", &self.limits)
            .field("billing", &self.billing)
            .field("alerts", &self.alerts)
            .field("cors", &self.cors)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ProviderSettings {
    // aihub-core's `ProviderConfig` redacts its key and header values itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("adapter", &self.adapter)
            .field("models", &self.models)
            .field("allow_unlisted_models", &self.allow_unlisted_models)
            .field("unlisted_price", &self.unlisted_price)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Alerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alerts")
            .field("webhook_url", &Url(self.webhook_url.as_deref(), false))
            .finish()
    }
}

impl fmt::Debug for RawAlerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawAlerts")
            .field("webhook_url", &Url(self.webhook_url.as_deref(), false))
            .finish()
    }
}

impl fmt::Debug for RawProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawProvider")
            .field("kind", &self.kind)
            .field("base_url", &Url(self.base_url.as_deref(), true))
            .field("api_key", &Secret(self.api_key.is_some()))
            .field("api_key_env", &self.api_key_env)
            .field("api_version", &self.api_version)
            .field("models", &self.models)
            .field("allow_unlisted_models", &self.allow_unlisted_models)
            .field("unlisted_price", &self.unlisted_price)
            .field("headers", &Headers(self.headers.keys()))
            .field("quirks", &self.quirks)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RawConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawConfig")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("invitation_ttl_hours", &self.invitation_ttl_hours)
            .field("database_url", &Url(self.database_url.as_deref(), true))
            .field("redis_url", &Url(self.redis_url.as_deref(), true))
            .field("master_key", &Secret(self.master_key.is_some()))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("upstream_timeout_secs", &self.upstream_timeout_secs)
            .field(
                "upstream_read_timeout_secs",
                &self.upstream_read_timeout_secs,
            )
            .field(
                "upstream_connect_timeout_secs",
                &self.upstream_connect_timeout_secs,
            )
            .field("upstream_max_retries", &self.upstream_max_retries)
            .field("session_ttl_hours", &self.session_ttl_hours)
            .field("key_cache_secs", &self.key_cache_secs)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field(
                "upstream_stream_timeout_secs",
                &self.upstream_stream_timeout_secs,
            )
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("catalog", &self.catalog.as_ref().map(|c| c.len()))
            .field("providers", &self.providers)
            .field("plans", &self.plans)
            .field("limits", &self.limits)
            .field("billing", &self.billing)
            .field("alerts", &self.alerts)
            .finish_non_exhaustive()
    }
}

/// Words that mark a key whose value is (or may hold) a secret.
const SECRET_WORDS: [&str; 8] = [
    "key", "secret", "token", "password", "passwd", "auth", "headers", "webhook",
];

/// Whether a key or table name looks like it holds a secret.
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| name.contains(w))
}

/// Whether `line` holds a URL with userinfo (`scheme://user:password@host`).
fn has_userinfo(line: &str) -> bool {
    line.split("://").skip(1).any(|after| {
        let authority = after
            .split(['/', '?', '#', '"', '\'', ' '])
            .next()
            .unwrap_or("");
        authority.contains('@')
    })
}

/// Whether `line` holds a long run of letters and digits, like a key pasted on a line of
/// its own.
fn looks_like_token(line: &str) -> bool {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .any(|word| {
            word.len() >= 20
                && word.bytes().any(|b| b.is_ascii_digit())
                && word.bytes().any(|b| b.is_ascii_alphabetic())
        })
}

/// The key assigned on `line` (`name = …`, `a.b = …`), if it is one.
fn assigned_key(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | ' '));
    bare.then_some(key)
}

/// The table header on `line` (`[a.b]` or `[[a]]`), if it is one.
fn table_header(line: &str) -> Option<&str> {
    let t = line.trim();
    (t.starts_with('[') && t.ends_with(']') && !t.contains('='))
        .then(|| t.trim_matches(['[', ']']).trim())
}

/// Whether the error at line `index` (0-based) of `lines` may sit on or inside a secret: its
/// line (or the assignment it continues) names a secret-like key, holds a URL with userinfo,
/// or lies in a table whose name looks secret (`[providers.x.headers]`).
fn line_holds_secret(lines: &[&str], index: usize) -> bool {
    let Some(line) = lines.get(index) else {
        return false;
    };
    if has_userinfo(line) || (assigned_key(line).is_none() && looks_like_token(line)) {
        return true;
    }
    // Keys of inline tables on the line (`deployments = [{ api_key = "…" }]`).
    if line
        .split(['{', ','])
        .skip(1)
        .filter_map(assigned_key)
        .any(secret_name)
    {
        return true;
    }
    // The assignment this line belongs to: its own, or the nearest one above (a multi-line
    // string or array continues it).
    let upto = lines.get(..=index).unwrap_or_default();
    let assignment = upto
        .iter()
        .rev()
        .find_map(|l| table_header(l).map(|_| None).or(assigned_key(l).map(Some)))
        .flatten();
    if assignment.is_some_and(secret_name) {
        return true;
    }
    let table = upto.iter().rev().find_map(|l| table_header(l));
    table.is_some_and(|t| t.split('.').skip(1).any(secret_name))
}

/// A parse error of `text` as a [`ConfigError`] that never echoes a secret.
///
/// It names the line, column and key and gives the parser's message; it shows the offending
/// line only when [`line_holds_secret`] finds no sign of a secret there, and then it removes
/// any quoted value from the message too, since serde quotes the value it could not use.
pub(crate) fn parse_error(text: &str, error: &toml::de::Error) -> ConfigError {
    let message = error.message().trim();
    let Some(span) = error.span() else {
        return ConfigError(message.to_owned());
    };
    let start = span.start.min(text.len());
    let before = text.get(..start).unwrap_or_default();
    let index = before.matches('\n').count();
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    let lines: Vec<&str> = text.lines().collect();
    let line = lines.get(index).copied().unwrap_or_default();
    let key = assigned_key(line)
        .map(|k| format!(" ({k})"))
        .unwrap_or_default();
    let at = format!("line {}, column {column}{key}", index + 1);
    if line_holds_secret(&lines, index) {
        return ConfigError(format!(
            "{at}: {} (the line is not shown: it may hold a secret)",
            without_quoted(message)
        ));
    }
    let caret = format!("{}^", " ".repeat(column.saturating_sub(1)));
    ConfigError(format!("{at}: {message}\n  | {line}\n  | {caret}"))
}

/// `message` with every "…" and `…` quotation longer than 3 characters replaced by `***`
/// (shorter ones are the parser's syntax hints, like `"` or `=`).
fn without_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted: Option<(char, String)> = None;
    for c in message.chars() {
        match &mut quoted {
            Some((q, inner)) if c == *q => {
                out.push_str(if inner.chars().count() > 3 {
                    "***"
                } else {
                    inner
                });
                out.push(c);
                quoted = None;
            }
            Some((_, inner)) => inner.push(c),
            None => {
                out.push(c);
                if c == '"' || c == '`' {
                    quoted = Some((c, String::new()));
                }
            }
        }
    }
    if quoted.is_some() {
        out.push_str("***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_scheme_and_host_only_where_secrets_can_be() {
        assert_eq!(
            url(
                "postgres://aihub:hunter2@db:5432/aihub?sslmode=require",
                true
            ),
            "postgres://***@db:5432/aihub?***"
        );
        assert_eq!(
            url("redis://:pw@127.0.0.1:6379/0", true),
            "redis://***@127.0.0.1:6379/0"
        );
        assert_eq!(
            url("https://hooks.slack.com/services/T0/B0/XYZ", false),
            "https://hooks.slack.com/***"
        );
        assert_eq!(url("sqlite://aihub.db", true), "sqlite://aihub.db");
        assert_eq!(url("sqlite:aihub.db?mode=rwc", true), "sqlite:aihub.db?***");
    }

    #[test]
    fn quotations_are_removed() {
        assert_eq!(
            without_quoted("invalid type: string \"Bearer sk\", expected a map"),
            "invalid type: string \"***\", expected a map"
        );
        assert_eq!(without_quoted("unterminated `abc"), "unterminated `***");
        assert_eq!(
            without_quoted("expected newline, `#`, `\"`"),
            "expected newline, `#`, `\"`"
        );
    }
}
