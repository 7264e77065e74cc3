//! Model names in provider URL paths (Gemini `models/{model}:…`, Azure `deployments/{name}/…`).
//!
//! A model name comes from the caller. Put into a URL as it is, `../../v1/files?` would
//! send the request, with the gateway's provider key, to another path on the provider's
//! host. So a name is checked first and then percent-encoded segment by segment.

use crate::error::{Error, Result};

/// Refuses a model name that could change the URL it is put into: empty, control or
/// whitespace characters, `?`, `#`, `%`, `\`, or a `.` / `..` / empty path segment. At most
/// `max_segments` `/`-separated segments are allowed (Gemini's `tunedModels/x` has two).
pub fn check_model_name(model: &str, max_segments: usize) -> Result<()> {
    let refuse = |why: &str| {
        Err(Error::bad_request(
            format!("model name {model:?} is not allowed: {why}"),
            Some("model"),
        ))
    };
    if model.is_empty() {
        return refuse("it is empty");
    }
    if let Some(c) = model
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || matches!(c, '?' | '#' | '%' | '\\'))
    {
        return refuse(&format!("it contains {c:?}"));
    }
    let segments = model.split('/').count();
    if segments > max_segments {
        return refuse("it has too many '/'");
    }
    if model
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return refuse("it has an empty, '.' or '..' path segment");
    }
    Ok(())
}

/// Percent-encodes one path segment: everything but RFC 3986's unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A checked model name as URL path segments, each percent-encoded, joined by `/`.
pub fn model_in_path(model: &str, max_segments: usize) -> Result<String> {
    check_model_name(model, max_segments)?;
    Ok(model
        .split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass_unchanged() {
        for name in ["gemini-2.5-pro", "gpt-4o.mini_v2~x", "tunedModels/my-model"] {
            assert_eq!(model_in_path(name, 2).unwrap(), name);
        }
        assert_eq!(model_in_path("a:b@c", 1).unwrap(), "a%3Ab%40c");
    }

    #[test]
    fn names_that_change_the_url_are_refused() {
        for name in [
            "",
            "../files",
            "models/..",
            "x/../../v1/files",
            "gemini?alt=json",
            "gemini#frag",
            "gemini%2F..%2Ffiles",
            "gemini%3F",
            "a\\..\\b",
            "a\nb",
            "a\u{7f}",
            "a b",
            "/x",
            "x/",
            "a//b",
            "a/b/c",
        ] {
            let e = model_in_path(name, 2).unwrap_err();
            assert_eq!(e.kind(), "bad_request", "{name:?}");
            assert_eq!(e.detail().param.as_deref(), Some("model"), "{name:?}");
        }
        assert!(model_in_path("a/b", 1).is_err());
    }

    proptest::proptest! {
        #[test]
        fn an_accepted_name_never_leaves_its_segments(name in "\\PC{0,24}") {
            if let Ok(path) = model_in_path(&name, 2) {
                proptest::prop_assert!(!path.contains(['?', '#', '\\']));
                proptest::prop_assert!(path.split('/').count() <= 2);
                proptest::prop_assert!(path.split('/').all(|s| !s.is_empty() && s != "." && s != ".."));
            }
        }
    }
}
