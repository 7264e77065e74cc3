use aihub_core::{Error, ErrorDetail};

use super::{Class, classify};

fn detail(message: &str, code: Option<&str>) -> ErrorDetail {
    ErrorDetail {
        message: message.into(),
        code: code.map(str::to_owned),
        ..ErrorDetail::default()
    }
}

#[test]
fn failures_a_retry_can_fix_are_retried_elsewhere() {
    for e in [
        Error::RateLimit {
            detail: detail("slow down", None),
            retry_after: None,
        },
        Error::Upstream(detail("boom", None)),
        Error::Timeout(detail("late", None)),
        Error::Connection(detail("refused", None)),
    ] {
        assert_eq!(classify(&e), Class::Retry, "{e:?}");
    }
}

#[test]
fn a_refused_credential_or_exhausted_provider_quota_takes_the_deployment_out() {
    for e in [
        Error::Authentication(detail("Incorrect API key provided.", None)),
        Error::PermissionDenied(detail("no", None)),
        Error::InsufficientQuota(detail("You exceeded your current quota", None)),
        Error::NotFound(detail("The model does not exist", None)),
    ] {
        assert_eq!(classify(&e), Class::TakeOut, "{e:?}");
    }
}

#[test]
fn each_providers_context_window_error_is_recognised() {
    for (message, code) in [
        (
            "This model's maximum context length is 128000 tokens.",
            Some("context_length_exceeded"),
        ),
        ("prompt is too long: 201234 tokens > 200000 maximum", None),
        (
            "The input token count (1048977) exceeds the maximum number of tokens allowed (1048576).",
            None,
        ),
    ] {
        let e = Error::BadRequest(detail(message, code));
        assert_eq!(classify(&e), Class::ContextWindow, "{message}");
    }
}

#[test]
fn refused_content_and_other_bad_requests_are_told_apart() {
    assert_eq!(
        classify(&Error::ContentFilter(detail(
            "filtered",
            Some("content_filter")
        ))),
        Class::ContentPolicy
    );
    assert_eq!(
        classify(&Error::BadRequest(detail(
            "'temperature' must be at most 2",
            None
        ))),
        Class::Final
    );
}
