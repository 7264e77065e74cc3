use serde_json::json;

use super::*;

fn request(body: serde_json::Value) -> ChatCompletionRequest {
    serde_json::from_value(body).unwrap()
}

fn base() -> serde_json::Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
}

fn key_of(body: serde_json::Value) -> [u8; 32] {
    chat_key(None, None, &[], &request(body))
}

#[test]
fn every_field_that_shapes_the_answer_is_in_the_key_and_nothing_else() {
    let plain = key_of(base());
    let changes: [(&str, serde_json::Value); 17] = [
        ("model", json!("gpt-4o")),
        ("messages", json!([{"role": "user", "content": "hello"}])),
        ("temperature", json!(0.5)),
        ("top_p", json!(0.9)),
        ("seed", json!(7)),
        ("n", json!(2)),
        ("stop", json!(["x"])),
        ("max_tokens", json!(8)),
        ("max_completion_tokens", json!(8)),
        ("presence_penalty", json!(1)),
        ("frequency_penalty", json!(1)),
        ("logprobs", json!(true)),
        (
            "tools",
            json!([{"type": "function", "function": {"name": "f", "parameters": {}}}]),
        ),
        ("tool_choice", json!("none")),
        ("response_format", json!({"type": "json_object"})),
        ("reasoning_effort", json!("low")),
        ("some_provider_field", json!(1)),
    ];
    for (field, value) in changes {
        let mut body = base();
        body[field] = value;
        assert_ne!(key_of(body), plain, "{field} is not in the key");
    }
    for (field, value) in [
        ("stream", json!(true)),
        ("user", json!("end-user-1")),
        ("metadata", json!({"trace": "x"})),
    ] {
        let mut body = base();
        body[field] = value;
        assert_eq!(key_of(body), plain, "{field} is in the key");
    }
    let mut body = base();
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    assert_eq!(key_of(body), plain, "stream_options is in the key");
}

#[test]
fn the_key_is_canonical_and_scoped() {
    let a = key_of(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"b": 1, "a": 2}}}}),
    );
    let b = key_of(
        json!({"response_format": {"json_schema": {"schema": {"a": 2, "b": 1}, "name": "a"}, "type": "json_schema"},
        "messages": [{"content": "hi", "role": "user"}], "model": "m"}),
    );
    assert_eq!(a, b, "key order does not matter");
    let r = request(base());
    let org = uuid::Uuid::new_v4();
    let other = uuid::Uuid::new_v4();
    assert_ne!(
        chat_key(Some(org), None, &[], &r),
        chat_key(Some(other), None, &[], &r)
    );
    assert_ne!(
        chat_key(Some(org), None, &[], &r),
        chat_key(None, None, &[], &r)
    );
    assert_ne!(
        chat_key(Some(org), Some("ns"), &[], &r),
        chat_key(Some(org), None, &[], &r)
    );
    assert_ne!(
        chat_key(Some(org), None, &["other".into()], &r),
        chat_key(Some(org), None, &[], &r)
    );
}

#[test]
fn headers_and_body_controls_parse_and_the_body_object_is_taken_out() {
    let mut headers = HeaderMap::new();
    assert!(CacheControls::from_headers(&headers).unwrap().is_empty());
    headers.insert(HEADER, "use, no-store".parse().unwrap());
    headers.insert(TTL_HEADER, "30".parse().unwrap());
    let c = CacheControls::from_headers(&headers).unwrap();
    assert!(c.opt_in && c.no_store && !c.no_cache && !c.bypass);
    assert_eq!(c.ttl_secs, Some(30));
    headers.insert(HEADER, "Refresh".parse().unwrap());
    assert!(CacheControls::from_headers(&headers).unwrap().no_cache);
    headers.insert(HEADER, "sometimes".parse().unwrap());
    assert!(CacheControls::from_headers(&headers).is_err());
    headers.insert(HEADER, "use".parse().unwrap());
    headers.insert(TTL_HEADER, "0".parse().unwrap());
    assert!(CacheControls::from_headers(&headers).is_err());

    let mut r = request(
        json!({"model": "m", "messages": [], "cache": {"no-cache": true,
        "ttl": 5, "s-maxage": 9, "namespace": "n", "use": true}}),
    );
    let mut c = CacheControls::default();
    c.take_from_body(&mut r.extra).unwrap();
    assert!(r.extra.is_empty(), "the cache object is taken out");
    assert!(c.no_cache && c.opt_in && !c.no_store);
    assert_eq!((c.ttl_secs, c.max_age_secs), (Some(5), Some(9)));
    assert_eq!(c.namespace.as_deref(), Some("n"));
    for bad in [
        json!({"cache": true}),
        json!({"cache": {"no-cache": "yes"}}),
        json!({"cache": {"ttl": -1}}),
        json!({"cache": {"mode": "simple"}}),
    ] {
        let mut extra = bad.as_object().unwrap().clone();
        assert!(
            CacheControls::default().take_from_body(&mut extra).is_err(),
            "{bad}"
        );
    }
}
