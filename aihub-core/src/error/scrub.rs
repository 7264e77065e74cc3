//! Removing secrets from text before it is logged or shown: provider messages can echo a
//! key (OpenAI's 401 repeats a masked one), and transport errors name the URL they failed on.

/// What a removed key or token is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Prefixes of API keys: OpenAI and most compatible providers (`sk-`, `sk-proj-`,
/// `sk-ant-`), Google (`AIza`), AI Hub's own keys, xAI, Groq, Replicate, Hugging Face,
/// GitHub and Slack tokens.
const KEY_PREFIXES: &[&str] = &[
    "sk-", "sk_", "AIza", "ai-hub-", "xai-", "gsk_", "r8_", "hf_", "ghp_", "xoxb-", "xoxp-",
];

/// `text` with secrets removed:
/// - URLs reduced to scheme, host and port (`https://10.0.0.7:8443/v1?key=…` becomes
///   `https://10.0.0.7:8443`; user info is dropped);
/// - the credential after `Bearer`;
/// - key-like tokens (`sk-…`, `AIza…`, `ai-hub-…` and the other [`KEY_PREFIXES`]) and
///   masked keys (a token with `***` in it, as in `sk-proj-********abcd`).
pub fn scrub_secrets(text: &str) -> String {
    let text = scrub_urls(text);
    scrub_tokens(&text)
}

fn is_url_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '"' | '\'' | '<' | '>' | '`' | '(' | ')' | '[' | ']')
}

fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

/// Every `scheme://authority/rest` reduced to `scheme://host[:port]`.
fn scrub_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let before = &rest[..at];
        let scheme_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_scheme_char(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let scheme = &before[scheme_start..];
        let after = &rest[at + 3..];
        if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push_str(before);
            out.push_str("://");
            rest = after;
            continue;
        }
        let end = after.find(|c| !is_url_char(c)).unwrap_or(after.len());
        let url = &after[..end];
        // Punctuation at the end ends the sentence, not the URL.
        let trimmed = url.trim_end_matches(['.', ',', ';', ':']);
        let authority = trimmed.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        out.push_str(before);
        out.push_str("://");
        out.push_str(host);
        out.push_str(&url[trimmed.len()..]);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*')
}

fn is_key_like(token: &str) -> bool {
    KEY_PREFIXES
        .iter()
        .any(|p| token.starts_with(p) && token.len() > p.len() + 6)
        || (token.contains("***") && token.chars().any(|c| c.is_ascii_alphanumeric()))
}

/// Key-like and masked tokens, and the credential after `Bearer`, redacted.
fn scrub_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_scheme_word = false;
    let mut rest = text;
    loop {
        let start = rest.find(is_token_char).unwrap_or(rest.len());
        let gap = &rest[..start];
        out.push_str(gap);
        // Only whitespace may stand between `Bearer` and its credential.
        after_scheme_word &= gap.chars().all(char::is_whitespace);
        rest = &rest[start..];
        if rest.is_empty() {
            break;
        }
        // A credential after `Bearer` may hold `.`, `/`, `+` and `=` (JWTs, base64).
        let end = if after_scheme_word {
            rest.find(char::is_whitespace).unwrap_or(rest.len())
        } else {
            rest.find(|c| !is_token_char(c)).unwrap_or(rest.len())
        };
        let token = &rest[..end];
        if after_scheme_word || is_key_like(token) {
            out.push_str(REDACTED);
        } else {
            out.push_str(token);
        }
        after_scheme_word = token.eq_ignore_ascii_case("bearer");
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_and_masked_keys_are_removed() {
        let openai = "Incorrect API key provided: sk-proj-********************abcd. You can find your API key at https://platform.openai.com/account/api-keys.";
        let s = scrub_secrets(openai);
        assert_eq!(
            s,
            "Incorrect API key provided: [redacted]. You can find your API key at https://platform.openai.com."
        );
        for secret in [
            "sk-ant-api03-AbCdEf0123456789",
            "AIzaSyA1234567890abcdefghijklmnop",
            "ai-hub-0123456789abcdef",
            "sk-abc1***************wxyz",
            "gsk_0123456789abcdef",
        ] {
            let s = scrub_secrets(&format!("key {secret} was rejected"));
            assert_eq!(s, "key [redacted] was rejected", "{secret}");
        }
    }

    #[test]
    fn bearer_tokens_are_removed() {
        assert_eq!(
            scrub_secrets("header Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln== is bad"),
            "header Authorization: Bearer [redacted] is bad"
        );
        assert_eq!(
            scrub_secrets("a basic question, a bearer: of news"),
            "a basic question, a bearer: of news"
        );
    }

    #[test]
    fn urls_keep_only_scheme_host_and_port() {
        assert_eq!(
            scrub_secrets(
                "error sending request for url (http://10.0.0.7:8443/v1beta/models/x:generateContent?key=AIzaSecret123456)"
            ),
            "error sending request for url (http://10.0.0.7:8443)"
        );
        assert_eq!(
            scrub_secrets("see https://user:hunter2@internal.example:9000/path, then retry"),
            "see https://internal.example:9000, then retry"
        );
        assert_eq!(scrub_secrets("odd :// text"), "odd :// text");
    }

    #[test]
    fn ordinary_messages_are_unchanged() {
        for text in [
            "The model `gpt-4o-mini-2099` does not exist or you do not have access to it.",
            "max_tokens: 9999999 > 8192, which is the maximum allowed number of output tokens for claude-sonnet-4-5",
            "Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29000.",
            "skip the sk- prefix",
            "",
        ] {
            assert_eq!(scrub_secrets(text), text);
        }
    }

    proptest::proptest! {
        #[test]
        fn scrubbing_never_panics_and_removes_planted_keys(
            before in "\\PC{0,40}",
            after in "\\PC{0,40}",
            key in "[A-Za-z0-9]{8,30}",
        ) {
            let text = format!("{before} sk-proj-{key} {after}");
            let s = scrub_secrets(&text);
            proptest::prop_assert!(!s.contains(&format!("sk-proj-{key}")), "{}", s);
            let _ = scrub_secrets(&before);
        }
    }
}
