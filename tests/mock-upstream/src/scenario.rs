//! Per-request scripted behaviour: the `x-mock` header and the `model@key=value` suffix.

use std::time::Duration;

use axum::http::HeaderMap;

/// The header that carries a scenario (`x-mock: status=429,retry_after=2`).
pub const SCENARIO_HEADER: &str = "x-mock";
/// The header that groups requests for `fail_times` counting.
pub const SCENARIO_ID_HEADER: &str = "x-mock-id";

/// Every knob a scenario understands.
pub const KNOBS: &[&str] = &[
    "latency_ms",
    "ttft_ms",
    "tps",
    "chunks",
    "tokens",
    "content",
    "tool",
    "status",
    "retry_after",
    "fail_times",
    "fail_every",
    "drop_after",
    "malformed",
    "error_event",
    "content_filter",
    "context_exceeded",
    "cached_tokens",
    "cache_creation_tokens",
    "cache_creation_1h_tokens",
    "reasoning_tokens",
];

/// Default number of content chunks in a reply.
pub const DEFAULT_CHUNKS: u32 = 8;
/// Upper bound on `tokens` and `chunks`, so that a typo cannot exhaust memory.
const MAX_TOKENS: u32 = 1_000_000;

/// What a request asked the simulator to do, beyond answering normally.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scenario {
    /// Delay before the response headers.
    pub latency_ms: Option<u64>,
    /// Delay before the first stream chunk.
    pub ttft_ms: Option<u64>,
    /// Stream pacing in completion tokens per second.
    pub tps: Option<f64>,
    /// Number of content chunks.
    pub chunks: Option<u32>,
    /// Number of completion tokens (words) generated.
    pub tokens: Option<u32>,
    /// Answer with this HTTP error status.
    pub status: Option<u16>,
    /// Seconds sent in a `retry-after` header with a scripted error.
    pub retry_after: Option<u64>,
    /// Fail only the first N requests of the same scenario id.
    pub fail_times: Option<u64>,
    /// Fail every n-th request of the same scenario id, the first included (2: fail, answer,
    /// fail, …: a flapping upstream).
    pub fail_every: Option<u64>,
    /// Close the connection after N content chunks.
    pub drop_after: Option<u32>,
    /// Send a line that is not valid JSON after N content chunks.
    pub malformed: Option<u32>,
    /// Send the provider's in-stream error event after N content chunks.
    pub error_event: Option<u32>,
    /// Refuse the prompt as Azure's content filter does (OpenAI-family routes).
    pub content_filter: bool,
    /// Refuse the prompt as too long for the model's context window, in the provider's words.
    pub context_exceeded: bool,
    /// Force a call of this tool.
    pub tool: Option<String>,
    /// Exact reply text.
    pub content: Option<String>,
    /// Prompt tokens reported as read from the provider's prompt cache.
    pub cached_tokens: Option<u32>,
    /// Prompt tokens reported as written to the prompt cache (Anthropic).
    pub cache_creation_tokens: Option<u32>,
    /// Of the cache writes, those reported as written to the 1-hour cache (Anthropic's
    /// `usage.cache_creation` breakdown, sent only when this is set).
    pub cache_creation_1h_tokens: Option<u32>,
    /// Reasoning ("thinking") tokens added to the completion.
    pub reasoning_tokens: Option<u32>,
    /// The raw scenario text (header, then model suffix), used to group `fail_times`.
    pub raw: String,
}

impl Scenario {
    /// Reads the scenario from the `x-mock` header and the model-name suffix; returns the bare model name.
    ///
    /// Keys from the model suffix override the header's. A suffix without `=` is part of the model
    /// name (Vertex-style `claude-3@20240620`), not a scenario.
    pub fn from_request(headers: &HeaderMap, model: &str) -> Result<(Self, String), String> {
        Self::from_request_over("", headers, model)
    }

    /// As [`Scenario::from_request`], starting from the server's default knobs (`defaults`),
    /// which the header and the suffix override.
    pub fn from_request_over(
        defaults: &str,
        headers: &HeaderMap,
        model: &str,
    ) -> Result<(Self, String), String> {
        let mut scenario = Self::default();
        scenario.apply(defaults)?;
        scenario.raw.push_str(defaults);
        if let Some(value) = headers.get(SCENARIO_HEADER) {
            let text = value
                .to_str()
                .map_err(|_| "x-mock header is not visible ASCII".to_owned())?;
            scenario.apply(text)?;
            if !scenario.raw.is_empty() {
                scenario.raw.push(',');
            }
            scenario.raw.push_str(text);
        }
        let bare = match model.split_once('@') {
            Some((name, suffix)) if suffix.contains('=') => {
                scenario.apply(suffix)?;
                if !scenario.raw.is_empty() {
                    scenario.raw.push(',');
                }
                scenario.raw.push_str(suffix);
                name.to_owned()
            }
            _ => model.to_owned(),
        };
        Ok((scenario, bare))
    }

    /// Applies `key=value` pairs separated by `,`, `;` or `&`; values may be percent-encoded.
    pub fn apply(&mut self, text: &str) -> Result<(), String> {
        for pair in text.split([',', ';', '&']) {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value.trim());
            self.set(key.trim(), &value)?;
        }
        Ok(())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "latency_ms" => self.latency_ms = Some(number(key, value)?),
            "ttft_ms" => self.ttft_ms = Some(number(key, value)?),
            "tps" => {
                let tps: f64 = value
                    .parse()
                    .map_err(|_| format!("mock knob tps: '{value}' is not a number"))?;
                if !(tps.is_finite() && tps > 0.0) {
                    return Err(format!("mock knob tps: '{value}' must be positive"));
                }
                self.tps = Some(tps);
            }
            "chunks" => self.chunks = Some(bounded(key, value)?),
            "tokens" => self.tokens = Some(bounded(key, value)?),
            "status" => {
                let status: u16 = number(key, value)?;
                if !(400..=599).contains(&status) {
                    return Err(format!("mock knob status: {status} is not an error status"));
                }
                self.status = Some(status);
            }
            "retry_after" => self.retry_after = Some(number(key, value)?),
            "fail_times" => self.fail_times = Some(number(key, value)?),
            "fail_every" => {
                let every = number(key, value)?;
                if every == 0 {
                    return Err("mock knob fail_every: at least 1".into());
                }
                self.fail_every = Some(every);
            }
            "drop_after" => self.drop_after = Some(number(key, value)?),
            "malformed" => self.malformed = Some(count_or_flag(key, value)?),
            "error_event" => self.error_event = Some(count_or_flag(key, value)?),
            "content_filter" => self.content_filter = count_or_flag(key, value)? > 0,
            "context_exceeded" => self.context_exceeded = count_or_flag(key, value)? > 0,
            "tool" => self.tool = Some(value.to_owned()),
            "content" => self.content = Some(value.to_owned()),
            "cached_tokens" => self.cached_tokens = Some(bounded(key, value)?),
            "cache_creation_tokens" => self.cache_creation_tokens = Some(bounded(key, value)?),
            "cache_creation_1h_tokens" => {
                self.cache_creation_1h_tokens = Some(bounded(key, value)?);
            }
            "reasoning_tokens" => self.reasoning_tokens = Some(bounded(key, value)?),
            _ => return Err(format!("unknown mock knob '{key}'")),
        }
        Ok(())
    }

    /// The delay before the response headers.
    pub fn latency(&self) -> Option<Duration> {
        self.latency_ms
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
    }

    /// Whether the stream needs timing or faults, so it cannot be sent as one precomputed body.
    pub fn shapes_stream(&self) -> bool {
        self.ttft_ms.is_some_and(|ms| ms > 0)
            || self.tps.is_some()
            || self.drop_after.is_some()
            || self.malformed.is_some()
            || self.error_event.is_some()
    }

    /// The key that groups requests for `fail_times`: the `x-mock-id` header, else the raw scenario.
    pub fn group_key(&self, headers: &HeaderMap) -> String {
        headers
            .get(SCENARIO_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| self.raw.clone(), str::to_owned)
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("mock knob {key}: '{value}' is not a non-negative integer"))
}

fn bounded(key: &str, value: &str) -> Result<u32, String> {
    let n: u32 = number(key, value)?;
    if n > MAX_TOKENS {
        return Err(format!("mock knob {key}: {n} is above {MAX_TOKENS}"));
    }
    Ok(n)
}

fn count_or_flag(key: &str, value: &str) -> Result<u32, String> {
    match value {
        "" | "true" => Ok(1),
        _ => number(key, value),
    }
}

/// Decodes `%XX` escapes and `+` (as a space); invalid escapes are kept as written.
pub fn percent_decode(text: &str) -> String {
    if !text.contains(['%', '+']) {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The value of one query parameter, percent-decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn header_and_model_suffix_merge_and_strip() {
        let mut headers = HeaderMap::new();
        headers.insert(
            SCENARIO_HEADER,
            HeaderValue::from_static("status=429, retry_after=2"),
        );
        let (s, model) =
            Scenario::from_request(&headers, "gpt-4o-mini@status=503,chunks=3").unwrap();
        assert_eq!(model, "gpt-4o-mini");
        assert_eq!(s.status, Some(503));
        assert_eq!(s.retry_after, Some(2));
        assert_eq!(s.chunks, Some(3));
        assert_eq!(s.raw, "status=429, retry_after=2,status=503,chunks=3");
    }

    #[test]
    fn vertex_style_model_is_not_a_scenario() {
        let (s, model) = Scenario::from_request(&HeaderMap::new(), "claude-3@20240620").unwrap();
        assert_eq!(model, "claude-3@20240620");
        assert_eq!(s, Scenario::default());
    }

    #[test]
    fn unknown_and_bad_values_are_rejected() {
        assert!(Scenario::default().apply("stauts=500").is_err());
        assert!(Scenario::default().apply("status=200").is_err());
        assert!(Scenario::default().apply("tps=0").is_err());
        assert!(Scenario::default().apply("tokens=abc").is_err());
    }

    #[test]
    fn content_is_percent_decoded_and_flags_default_to_one() {
        let mut s = Scenario::default();
        s.apply("content=Hello%2C%20world!&malformed;error_event=true")
            .unwrap();
        assert_eq!(s.content.as_deref(), Some("Hello, world!"));
        assert_eq!(s.malformed, Some(1));
        assert_eq!(s.error_event, Some(1));
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn knob_list_matches_the_parser_and_the_readme() {
        let readme = include_str!("../README.md");
        for knob in KNOBS {
            let value = if *knob == "status" { "500" } else { "1" };
            Scenario::default().set(knob, value).unwrap();
            assert!(
                readme.contains(&format!("| `{knob}` |")),
                "README documents {knob}"
            );
        }
        let mut examples = 0;
        let mut in_shell = false;
        for line in readme.lines() {
            if line.starts_with("```") {
                in_shell = line == "```sh";
                continue;
            }
            if !in_shell {
                continue;
            }
            if let Some(rest) = line.split("x-mock: ").nth(1) {
                let value = rest.split('\'').next().unwrap();
                Scenario::default()
                    .apply(value)
                    .unwrap_or_else(|e| panic!("{value}: {e}"));
                examples += 1;
            }
            for part in line
                .split(['"', '\'', '/'])
                .filter(|p| p.contains('@') && p.contains('='))
            {
                let (_, suffix) = part.split_once('@').unwrap();
                let suffix = suffix.split(':').next().unwrap();
                Scenario::default()
                    .apply(suffix)
                    .unwrap_or_else(|e| panic!("{suffix}: {e}"));
                examples += 1;
            }
        }
        assert!(examples >= 8, "{examples} examples checked");
    }

    #[test]
    fn query_params() {
        assert_eq!(
            query_param(Some("alt=sse&key=k%201"), "key").as_deref(),
            Some("k 1")
        );
        assert_eq!(query_param(Some("alt=sse"), "key"), None);
        assert_eq!(query_param(None, "key"), None);
    }
}
