//! An open-loop load generator for AI Hub's benchmarks.
//!
//! Requests leave on a fixed schedule (request `i` is due at `start + i / rate`) whatever the
//! server is doing, and every latency is measured from the request's due time, not from the
//! moment it could be sent: a server that stalls is charged for the requests that queued behind
//! the stall (no coordinated omission). For event streams it records the time to the first
//! content token and to the end of the stream (`data: [DONE]`).
//!
//! A cap on requests in flight keeps a stalled server from exhausting file descriptors; a
//! request due while the cap is reached is not sent and is counted in [`Report::not_sent`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

/// What to send, how often and how many.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The URL every request is POSTed to.
    pub url: String,
    /// Sent as `Authorization: Bearer …` when not empty.
    pub api_key: String,
    /// The JSON body of every request.
    pub body: Bytes,
    /// Read the answer as an event stream (time to first token, end at `[DONE]`).
    pub stream: bool,
    /// Requests per second.
    pub rate: f64,
    /// Requests to send in all.
    pub requests: u64,
    /// Most requests in flight at once; a request due beyond it is not sent.
    pub max_in_flight: usize,
    /// Time limit of each request, answer included.
    pub timeout: Duration,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    #[serde(rename = "p99.9")]
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// The outcome of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Requests sent.
    pub sent: u64,
    /// Requests that got a 2xx answer read to its end (and, for streams, to `[DONE]`).
    pub ok: u64,
    /// Requests due while [`Plan::max_in_flight`] were in flight, so never sent.
    pub not_sent: u64,
    /// Failed requests by kind (`status 429`, `connect`, `timeout`, `stream without [DONE]`, …).
    pub errors: BTreeMap<String, u64>,
    /// Seconds from the first request's due time to the last answer's end.
    pub elapsed_s: f64,
    /// Successful requests per second over `elapsed_s`.
    pub achieved_rps: f64,
    /// Due time to the end of the answer, successful requests only.
    pub latency_ms: Option<Percentiles>,
    /// Due time to the first event carrying content text (streams only).
    pub ttft_ms: Option<Percentiles>,
    /// Fewest and most `data:` events in one successful stream, `[DONE]` excluded.
    pub events_per_stream: Option<(u64, u64)>,
}

enum Sample {
    Ok {
        latency: Duration,
        ttft: Option<Duration>,
        events: u64,
    },
    Failed(String),
}

/// Runs `plan` to its end and reports; fails only when the HTTP client cannot be built.
pub async fn run(plan: Plan) -> Result<Report, String> {
    let client = reqwest::Client::builder()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .timeout(plan.timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let mut latency = histogram()?;
    let mut ttft = histogram()?;
    let plan = Arc::new(plan);
    let in_flight = Arc::new(Semaphore::new(plan.max_in_flight.max(1)));
    let (tx, mut rx) = mpsc::unbounded_channel();
    // A short lead so that the first requests are not already late when the loop starts.
    let start = Instant::now() + Duration::from_millis(10);
    let mut not_sent = 0;
    let mut sent = 0;
    for i in 0..plan.requests {
        let due = start + Duration::from_secs_f64(i as f64 / plan.rate);
        tokio::time::sleep_until(due).await;
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            not_sent += 1;
            continue;
        };
        sent += 1;
        let (client, plan, tx) = (client.clone(), plan.clone(), tx.clone());
        tokio::spawn(async move {
            let sample = one(&client, &plan, due).await;
            drop(permit);
            let _ = tx.send(sample);
        });
    }
    drop(tx);

    let mut errors = BTreeMap::new();
    let mut events: Option<(u64, u64)> = None;
    let mut ok = 0;
    while let Some(sample) = rx.recv().await {
        match sample {
            Sample::Ok {
                latency: l,
                ttft: t,
                events: n,
            } => {
                ok += 1;
                record(&mut latency, l);
                if let Some(t) = t {
                    record(&mut ttft, t);
                }
                if plan.stream {
                    events = Some(events.map_or((n, n), |(lo, hi)| (lo.min(n), hi.max(n))));
                }
            }
            Sample::Failed(kind) => *errors.entry(kind).or_insert(0) += 1,
        }
    }
    let elapsed_s = start.elapsed().as_secs_f64();
    Ok(Report {
        sent,
        ok,
        not_sent,
        errors,
        elapsed_s,
        achieved_rps: ok as f64 / elapsed_s.max(f64::EPSILON),
        latency_ms: percentiles(&latency),
        ttft_ms: percentiles(&ttft),
        events_per_stream: events,
    })
}

/// Microseconds from 1 µs to 10 minutes, three significant digits.
fn histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 600_000_000, 3).map_err(|e| format!("histogram: {e}"))
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
    h.saturating_record(micros);
}

fn percentiles(h: &Histogram<u64>) -> Option<Percentiles> {
    if h.is_empty() {
        return None;
    }
    let ms = |micros: u64| micros as f64 / 1000.0;
    Some(Percentiles {
        p50: ms(h.value_at_quantile(0.50)),
        p90: ms(h.value_at_quantile(0.90)),
        p99: ms(h.value_at_quantile(0.99)),
        p999: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
        mean: h.mean() / 1000.0,
    })
}

async fn one(client: &reqwest::Client, plan: &Plan, due: Instant) -> Sample {
    let mut request = client
        .post(&plan.url)
        .header("content-type", "application/json")
        .body(plan.body.clone());
    if !plan.api_key.is_empty() {
        request = request.bearer_auth(&plan.api_key);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return Sample::Failed(error_kind(&e)),
    };
    let status = response.status();
    if !status.is_success() {
        let _ = response.bytes().await;
        return Sample::Failed(format!("status {}", status.as_u16()));
    }
    if !plan.stream {
        return match response.bytes().await {
            Ok(_) => Sample::Ok {
                latency: due.elapsed(),
                ttft: None,
                events: 0,
            },
            Err(e) => Sample::Failed(error_kind(&e)),
        };
    }
    let mut body = response.bytes_stream();
    let mut reader = EventReader::default();
    let mut ttft = None;
    while let Some(piece) = body.next().await {
        let piece = match piece {
            Ok(piece) => piece,
            Err(e) => return Sample::Failed(error_kind(&e)),
        };
        reader.push(&piece);
        if ttft.is_none() && reader.saw_content {
            ttft = Some(due.elapsed());
        }
        if reader.done {
            break;
        }
    }
    if !reader.done {
        return Sample::Failed("stream without [DONE]".to_owned());
    }
    Sample::Ok {
        latency: due.elapsed(),
        ttft,
        events: reader.events,
    }
}

fn error_kind(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_owned()
    } else if e.is_connect() {
        "connect".to_owned()
    } else if e.is_body() || e.is_decode() {
        "body".to_owned()
    } else {
        "request".to_owned()
    }
}

/// Splits an OpenAI-style event stream into events as bytes arrive.
#[derive(Debug, Default)]
pub struct EventReader {
    pending: Vec<u8>,
    /// `data:` events seen, `[DONE]` excluded.
    pub events: u64,
    /// An event carried non-empty `"content"` text.
    pub saw_content: bool,
    /// `data: [DONE]` arrived.
    pub done: bool,
}

impl EventReader {
    /// Takes the next bytes of the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let mut consumed = 0;
        while let Some(end) = find(&self.pending[consumed..], b"\n\n") {
            let event = &self.pending[consumed..consumed + end];
            for line in event.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let Some(data) = line.strip_prefix(b"data:") else {
                    continue;
                };
                let data = data.strip_prefix(b" ").unwrap_or(data);
                if data == b"[DONE]" {
                    self.done = true;
                } else {
                    self.events += 1;
                    // A byte search, not a JSON parse: the generator shares the machine with
                    // the servers it measures. `"reasoning_content":"` does not match.
                    if let Some(at) = find(data, b"\"content\":\"") {
                        self.saw_content |= data.get(at + 11) != Some(&b'"');
                    }
                }
            }
            consumed += end + 2;
        }
        self.pending.drain(..consumed);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_pieces_and_content_found() {
        let mut r = EventReader::default();
        r.push(b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n");
        assert_eq!(
            r.events, 0,
            "an event is not complete before its blank line"
        );
        r.push(b"\ndata: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hm\"}}]}\n\n");
        assert_eq!(r.events, 2);
        assert!(
            !r.saw_content,
            "empty content and reasoning are not content"
        );
        r.push(b"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DO");
        assert!(r.saw_content);
        assert!(!r.done);
        r.push(b"NE]\n\n");
        assert!(r.done);
        assert_eq!(r.events, 3);
    }
}
