//! Sends a provider's stream events with the scenario's timing and faults applied.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use crate::scenario::Scenario;

/// Pause before an abort, so that the bytes sent before it (and the headers) are flushed first.
const ABORT_DELAY: Duration = Duration::from_millis(10);

/// Where an event sits in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Before the content (`message_start`, the role chunk, `ping`).
    Preamble,
    /// A content chunk carrying this many completion tokens.
    Content(u32),
    /// After the content (finish chunk, usage chunk, `[DONE]`, `message_stop`).
    Terminal,
}

/// One encoded stream event.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The bytes on the wire.
    pub bytes: Bytes,
    /// Its place in the stream.
    pub role: Role,
}

impl Frame {
    /// A frame from its encoded text.
    pub fn new(role: Role, text: String) -> Self {
        Self {
            bytes: Bytes::from(text),
            role,
        }
    }
}

/// The provider-specific pieces the driver injects for faults.
#[derive(Debug, Clone)]
pub struct Faults {
    /// The in-stream error event (`error_event`).
    pub error_event: Bytes,
    /// A line that is not valid JSON (`malformed`).
    pub malformed: Bytes,
}

/// One step of a planned stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Wait until this offset from the first poll of the body.
    Wait(Duration),
    /// Send these bytes.
    Send(Bytes),
    /// Abort the connection (no terminal event, truncated chunked body).
    Abort,
}

/// Plans the steps for `frames` under the scenario's `ttft_ms`, `tps`, `drop_after`, `malformed`, `error_event`.
///
/// The fault knobs count content chunks: `N` acts right after the N-th content chunk (0: before the first).
pub fn plan(frames: Vec<Frame>, scenario: &Scenario, faults: &Faults) -> Vec<Step> {
    let mut steps = Vec::with_capacity(frames.len() + 4);
    let ttft = Duration::from_millis(scenario.ttft_ms.unwrap_or(0));
    if !ttft.is_zero() {
        steps.push(Step::Wait(ttft));
    }
    let total = frames
        .iter()
        .filter(|f| matches!(f.role, Role::Content(_)))
        .count();
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    let mut content_sent: u32 = 0;
    let mut tokens_sent: u64 = 0;
    let mut boundary_zero_done = false;
    for frame in frames {
        if frame.role != Role::Preamble && !boundary_zero_done {
            boundary_zero_done = true;
            if boundary(&mut steps, 0, total == 0, scenario, faults) {
                return steps;
            }
        }
        if let Role::Content(tokens) = frame.role {
            if let (Some(tps), true) = (scenario.tps, content_sent > 0) {
                let secs = tokens_sent as f64 / tps;
                steps.push(Step::Wait(ttft + Duration::from_secs_f64(secs)));
            }
            steps.push(Step::Send(frame.bytes));
            content_sent += 1;
            tokens_sent += u64::from(tokens);
            if boundary(
                &mut steps,
                content_sent,
                content_sent == total,
                scenario,
                faults,
            ) {
                return steps;
            }
        } else {
            steps.push(Step::Send(frame.bytes));
        }
    }
    steps
}

/// Applies the faults due after `n` content chunks (at the last one, also those counting past
/// the end); true when the stream ends here.
fn boundary(
    steps: &mut Vec<Step>,
    n: u32,
    last: bool,
    scenario: &Scenario,
    faults: &Faults,
) -> bool {
    let due = |knob: Option<u32>| knob.is_some_and(|k| k == n || (last && k > n));
    if due(scenario.malformed) {
        steps.push(Step::Send(faults.malformed.clone()));
    }
    if due(scenario.error_event) {
        steps.push(Step::Send(faults.error_event.clone()));
        return true;
    }
    if due(scenario.drop_after) {
        steps.push(Step::Abort);
        return true;
    }
    false
}

/// A streaming response: one precomputed body when nothing is timed or faulty, else a paced stream.
pub fn response(frames: Vec<Frame>, scenario: &Scenario, faults: &Faults) -> Response {
    let body = if scenario.shapes_stream() {
        let steps = plan(frames, scenario, faults);
        Body::from_stream(async_stream::stream! {
            let start = Instant::now();
            for step in steps {
                match step {
                    Step::Wait(offset) => tokio::time::sleep_until(start + offset).await,
                    Step::Send(bytes) => yield Ok(bytes),
                    Step::Abort => {
                        // Let what was sent reach the client before the connection goes.
                        tokio::time::sleep(ABORT_DELAY).await;
                        yield Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionAborted,
                            "mock-upstream: drop_after",
                        ));
                        return;
                    }
                }
            }
        })
    } else {
        let mut all = BytesMut::with_capacity(frames.iter().map(|f| f.bytes.len()).sum());
        for frame in frames {
            all.extend_from_slice(&frame.bytes);
        }
        Body::from(all.freeze())
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A non-streaming JSON response body, honouring `malformed` (invalid JSON) and `drop_after` (cut body).
pub fn json_body(json: Vec<u8>, scenario: &Scenario) -> Body {
    if scenario.malformed.is_some() {
        let half = json.len() / 2;
        let mut cut = json[..half].to_vec();
        cut.extend_from_slice(b"<<not json>>");
        return Body::from(cut);
    }
    if scenario.drop_after.is_some() {
        let all = Bytes::from(json);
        let first = all.slice(..all.len() / 2);
        return Body::from_stream(async_stream::stream! {
            yield Ok(first);
            tokio::time::sleep(ABORT_DELAY).await;
            yield Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "mock-upstream: drop_after",
            ));
        });
    }
    Body::from(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames() -> Vec<Frame> {
        vec![
            Frame::new(Role::Preamble, "P".into()),
            Frame::new(Role::Content(2), "A".into()),
            Frame::new(Role::Content(2), "B".into()),
            Frame::new(Role::Content(2), "C".into()),
            Frame::new(Role::Terminal, "T".into()),
        ]
    }

    fn faults() -> Faults {
        Faults {
            error_event: Bytes::from_static(b"E"),
            malformed: Bytes::from_static(b"M"),
        }
    }

    fn sent(steps: &[Step]) -> String {
        steps
            .iter()
            .map(|s| match s {
                Step::Send(b) => String::from_utf8_lossy(b).into_owned(),
                Step::Abort => "!".into(),
                Step::Wait(d) => format!("[{}]", d.as_millis()),
            })
            .collect()
    }

    #[test]
    fn plain_stream_is_sent_in_order() {
        assert_eq!(
            sent(&plan(frames(), &Scenario::default(), &faults())),
            "PABCT"
        );
    }

    #[test]
    fn faults_count_content_chunks() {
        let s = Scenario {
            drop_after: Some(2),
            ..Scenario::default()
        };
        assert_eq!(sent(&plan(frames(), &s, &faults())), "PAB!");
        let s = Scenario {
            drop_after: Some(0),
            ..Scenario::default()
        };
        assert_eq!(sent(&plan(frames(), &s, &faults())), "P!");
        let s = Scenario {
            malformed: Some(1),
            error_event: Some(2),
            ..Scenario::default()
        };
        assert_eq!(sent(&plan(frames(), &s, &faults())), "PAMBE");
        let s = Scenario {
            malformed: Some(3),
            ..Scenario::default()
        };
        assert_eq!(sent(&plan(frames(), &s, &faults())), "PABCMT");
    }

    #[test]
    fn pacing_offsets_follow_tokens_per_second() {
        let s = Scenario {
            ttft_ms: Some(100),
            tps: Some(20.0),
            ..Scenario::default()
        };
        // 2 tokens per chunk at 20 tokens/s: 100 ms apart, after a 100 ms first-token delay.
        assert_eq!(sent(&plan(frames(), &s, &faults())), "[100]PA[200]B[300]CT");
    }
}
