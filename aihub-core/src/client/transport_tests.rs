//! The transport against real local listeners: redirects, size limits, the stream deadline.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::types::{ChatCompletionRequest, ChatMessage};
use crate::{Client, ClientBuilder};

/// What a test server writes back: pieces of bytes, each after a pause.
type Script = Vec<(Duration, Vec<u8>)>;

/// Requests a test server received (their heads, as text).
type Seen = Arc<Mutex<Vec<String>>>;

/// A listener on 127.0.0.1 answering each request with `respond(path)`; returns its
/// origin (`http://127.0.0.1:PORT`) and the requests it saw.
async fn serve<F>(respond: F) -> (String, Seen)
where
    F: Fn(&str) -> Script + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            let respond = respond.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut piece = [0u8; 4096];
                let head_end = loop {
                    let Ok(n) = socket.read(&mut piece).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&piece[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    match socket.read(&mut piece).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&piece[..n]),
                    }
                }
                let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                log.lock().unwrap().push(head);
                for (pause, bytes) in respond(&path) {
                    tokio::time::sleep(pause).await;
                    if socket.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    (origin, seen)
}

fn now(bytes: impl Into<Vec<u8>>) -> (Duration, Vec<u8>) {
    (Duration::ZERO, bytes.into())
}

fn json_response(body: &str) -> Script {
    vec![now(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ))]
}

const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;

fn builder(provider: &str, key: &str, origin: &str) -> ClientBuilder {
    let base = match provider {
        "openai" => format!("{origin}/v1"),
        _ => origin.to_owned(),
    };
    Client::builder()
        .keys_from_env(false)
        .provider_key(provider, key)
        .provider_base_url(provider, base)
        .max_retries(0)
}

fn hello(model: &str) -> ChatCompletionRequest {
    ChatCompletionRequest::new(model, vec![ChatMessage::user("hello")])
}

fn redirect_to(location: String) -> Script {
    vec![now(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\nx-request-id: req_redirect\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    ))]
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let (other, seen_by_other) = serve(|_| json_response("{}")).await;
    let (origin, _) = serve(move |_| redirect_to(format!("{other}/v1/messages"))).await;
    let client = builder("anthropic", "sk-ant-secret", &origin)
        .default_header("x-team-token", "team-secret")
        .build()
        .unwrap();
    let err = client
        .chat()
        .create(hello("anthropic/claude-sonnet-4-5"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_response", "{err}");
    assert_eq!(err.code(), Some("redirect_not_followed"));
    assert_eq!(err.detail().upstream_status, Some(307));
    assert_eq!(err.request_id(), Some("req_redirect"));
    assert!(!err.message().contains("127.0.0.1"), "{}", err.message());
    assert!(
        seen_by_other.lock().unwrap().is_empty(),
        "the other origin was sent {:?}",
        seen_by_other.lock().unwrap()
    );
}

#[tokio::test]
async fn reqwest_alone_would_carry_custom_key_headers_to_the_other_host() {
    // Why the policy exists: reqwest's default policy strips `authorization` on a redirect
    // to another host, but `x-api-key` (and any other custom header) goes along.
    let (other, seen_by_other) = serve(|_| json_response("{}")).await;
    let (origin, _) = serve(move |_| redirect_to(format!("{other}/stolen"))).await;
    let plain = reqwest::Client::new();
    let response = plain
        .post(format!("{origin}/v1/messages"))
        .header("authorization", "Bearer sk-secret")
        .header("x-api-key", "sk-ant-secret")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = seen_by_other.lock().unwrap();
    let head = seen[0].to_ascii_lowercase();
    assert!(head.contains("x-api-key: sk-ant-secret"), "{head}");
    assert!(!head.contains("authorization"), "{head}");
}

#[tokio::test]
async fn a_redirect_within_the_origin_is_followed() {
    let (origin, seen) = serve(|path| {
        if path.starts_with("/v1/chat/completions") {
            redirect_to("/v2/chat/completions".into())
        } else {
            json_response(COMPLETION)
        }
    })
    .await;
    let client = builder("openai", "sk-test", &origin).build().unwrap();
    let completion = client
        .chat()
        .create(hello("openai/gpt-4o-mini"))
        .await
        .unwrap();
    assert_eq!(completion.choices[0].message.content.as_deref(), Some("hi"));
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_body_over_the_limit_is_an_error_whether_or_not_its_length_is_declared() {
    let padded = COMPLETION.replace("\"hi\"", &format!("\"{}\"", "x".repeat(200)));
    let declared = padded.clone();
    let (origin, _) = serve(move |_| json_response(&declared)).await;
    let limit = COMPLETION.len() + 100;
    let client = builder("openai", "sk-test", &origin)
        .max_response_bytes(limit)
        .build()
        .unwrap();
    let err = client
        .chat()
        .create(hello("openai/gpt-4o-mini"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_response");
    assert_eq!(err.code(), Some("response_too_large"));
    assert!(err.message().contains(&limit.to_string()), "{err}");

    // Chunked, with no content-length: stopped as the bytes arrive.
    let chunked = padded.clone();
    let (origin, _) = serve(move |_| {
        let half = chunked.len() / 2;
        let mut script = vec![now(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        )];
        for part in [&chunked[..half], &chunked[half..]] {
            script.push(now(format!("{:x}\r\n{part}\r\n", part.len())));
        }
        script.push(now("0\r\n\r\n"));
        script
    })
    .await;
    let client = builder("openai", "sk-test", &origin)
        .max_response_bytes(limit)
        .build()
        .unwrap();
    let err = client
        .chat()
        .create(hello("openai/gpt-4o-mini"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("response_too_large"), "{err}");

    // The same body fits a limit just large enough.
    let exact = padded.clone();
    let (origin, _) = serve(move |_| json_response(&exact)).await;
    let client = builder("openai", "sk-test", &origin)
        .max_response_bytes(padded.len())
        .build()
        .unwrap();
    assert!(
        client
            .chat()
            .create(hello("openai/gpt-4o-mini"))
            .await
            .is_ok()
    );
}

fn sse_head() -> (Duration, Vec<u8>) {
    now("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
}

fn sse_chunk(content: &str) -> String {
    format!(
        "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\"finish_reason\":null}}]}}\n\n"
    )
}

#[tokio::test]
async fn an_event_over_the_limit_ends_the_stream() {
    let (origin, _) = serve(|_| {
        vec![
            sse_head(),
            now(sse_chunk("a")),
            now(sse_chunk(&"b".repeat(500))),
        ]
    })
    .await;
    let client = builder("openai", "sk-test", &origin)
        .max_event_bytes(300)
        .build()
        .unwrap();
    let items: Vec<_> = client
        .chat()
        .stream(hello("openai/gpt-4o-mini"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(items[0].is_ok());
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(err.code(), Some("event_too_large"), "{err}");
    assert_eq!(err.detail().provider.as_deref(), Some("openai"));
}

#[tokio::test]
async fn a_stream_that_outlives_its_stream_timeout_ends_with_a_timeout() {
    // A chunk every 100 ms, forever as far as the client can tell: the read timeout
    // never fires, the stream deadline does.
    let (origin, _) = serve(|_| {
        let mut script = vec![sse_head()];
        for _ in 0..50 {
            script.push((Duration::from_millis(100), sse_chunk("x").into_bytes()));
        }
        script
    })
    .await;
    let client = builder("openai", "sk-test", &origin)
        .read_timeout(Some(Duration::from_secs(5)))
        .stream_timeout(Some(Duration::from_millis(450)))
        .build()
        .unwrap();
    let started = Instant::now();
    let items: Vec<_> = client
        .chat()
        .stream(hello("openai/gpt-4o-mini"))
        .await
        .unwrap()
        .collect()
        .await;
    let took = started.elapsed();
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
    assert_eq!(err.code(), Some("stream_timeout"));
    assert!(
        items.len() >= 3,
        "chunks before the deadline arrive: {items:?}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test]
async fn a_stream_closed_after_its_finish_reason_without_done_completes() {
    let (origin, _) = serve(|_| {
        let finish = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n";
        vec![sse_head(), now(sse_chunk("hi")), now(finish)]
    })
    .await;
    let client = builder("openai", "sk-test", &origin).build().unwrap();
    let items: Vec<_> = client
        .chat()
        .stream(hello("openai/gpt-4o-mini"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let mut usage = items.iter().filter_map(|c| c.as_ref().ok()?.usage.clone());
    assert_eq!(usage.next_back().map(|u| u.total_tokens), Some(4));
}
