//! Serde round trips on the examples of OpenAI's API reference (tests/fixtures/openai).

use serde_json::Value;

use super::*;

/// Removes `null` members recursively: the types leave out absent optionals, OpenAI's
/// examples sometimes spell them as `null`; both mean the same on the wire.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(text: &str) -> (T, Value, Value) {
    let original: Value = serde_json::from_str(text).unwrap();
    let parsed: T = serde_json::from_value(original.clone()).unwrap();
    // Through text, as on the wire (f32 embeddings print in their shortest f32 form).
    let again: Value = serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
    (parsed, without_nulls(original), without_nulls(again))
}

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/openai/", $name))
    };
}

#[test]
fn requests_round_trip() {
    for text in [
        fixture!("request_basic.json"),
        fixture!("request_image.json"),
        fixture!("request_audio.json"),
        fixture!("request_tools.json"),
        fixture!("request_everything.json"),
    ] {
        let (_, a, b) = round_trip::<ChatCompletionRequest>(text);
        assert_eq!(a, b);
    }
}

#[test]
fn request_fields_land_in_their_types() {
    let r: ChatCompletionRequest =
        serde_json::from_str(fixture!("request_everything.json")).unwrap();
    assert_eq!(r.n, Some(2));
    assert!(r.is_stream() && r.wants_stream_usage());
    assert_eq!(r.stop, Some(Stop::Many(vec!["\n\n".into(), "END".into()])));
    assert_eq!(r.output_limit(), Some(120));
    assert_eq!(r.seed, Some(42));
    assert_eq!(r.top_logprobs, Some(2));
    assert!(
        matches!(r.tool_choice, Some(ToolChoice::Named(ref n)) if n.function.name == "list_colours")
    );
    match &r.response_format {
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            assert_eq!(json_schema.name, "colours");
            assert_eq!(json_schema.strict, Some(true));
        }
        other => panic!("unexpected response_format {other:?}"),
    }
    // Fields the types do not name are kept for the upstream.
    for key in ["metadata", "store", "service_tier", "prediction"] {
        assert!(r.extra.contains_key(key), "{key} was dropped");
    }
    assert!(matches!(&r.messages[1], ChatMessage::User(u) if u.name.as_deref() == Some("alice")));
}

#[test]
fn every_role_and_part_parses() {
    let r: ChatCompletionRequest = serde_json::from_str(fixture!("request_tools.json")).unwrap();
    let roles: Vec<&str> = r.messages.iter().map(ChatMessage::role).collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool"]);
    let ChatMessage::Assistant(a) = &r.messages[2] else {
        panic!()
    };
    assert_eq!(
        a.tool_calls.as_ref().unwrap()[0].function.name,
        "get_current_weather"
    );
    let ChatMessage::Tool(t) = &r.messages[3] else {
        panic!()
    };
    assert_eq!(t.tool_call_id, "call_abc123");

    let r: ChatCompletionRequest = serde_json::from_str(fixture!("request_audio.json")).unwrap();
    let ChatMessage::User(u) = &r.messages[0] else {
        panic!()
    };
    let MessageContent::Parts(parts) = &u.content else {
        panic!()
    };
    assert!(
        matches!(&parts[1], ContentPart::InputAudio { input_audio } if input_audio.format == "wav")
    );

    let r: ChatCompletionRequest = serde_json::from_str(fixture!("request_basic.json")).unwrap();
    assert_eq!(r.messages[0].role(), "developer");
}

#[test]
fn unknown_role_is_an_error() {
    let bad = r#"{"model":"m","messages":[{"role":"robot","content":"hi"}]}"#;
    assert!(serde_json::from_str::<ChatCompletionRequest>(bad).is_err());
}

#[test]
fn responses_round_trip() {
    for text in [
        fixture!("response_basic.json"),
        fixture!("response_tool_calls.json"),
    ] {
        let (_, a, b) = round_trip::<ChatCompletion>(text);
        assert_eq!(a, b);
    }
    let c: ChatCompletion = serde_json::from_str(fixture!("response_basic.json")).unwrap();
    assert_eq!(c.choices[0].finish_reason, Some(FinishReason::Stop));
    let u = c.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (19, 10, 29)
    );
    assert_eq!(u.cached_tokens(), 0);
    assert!(c.choices[0].message.extra.contains_key("annotations"));
}

#[test]
fn unknown_finish_reason_is_kept() {
    let r: FinishReason = serde_json::from_str("\"insufficient_system_resource\"").unwrap();
    assert_eq!(
        r,
        FinishReason::Other("insufficient_system_resource".into())
    );
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        "\"insufficient_system_resource\""
    );
    assert_eq!(
        serde_json::to_string(&FinishReason::ToolCalls).unwrap(),
        "\"tool_calls\""
    );
}

#[test]
fn chunks_round_trip() {
    for line in fixture!("stream_include_usage.sse")
        .lines()
        .chain(fixture!("stream_tool_calls.sse").lines())
    {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if data == "[DONE]" {
            continue;
        }
        let (_, a, b) = round_trip::<ChatCompletionChunk>(data);
        assert_eq!(a, b);
    }
}

#[test]
fn embeddings_round_trip_and_decode() {
    let (req, a, b) = round_trip::<EmbeddingRequest>(fixture!("embeddings_request.json"));
    assert_eq!(a, b);
    assert_eq!(req.input.len(), 2);
    assert_eq!(req.encoding_format, Some(EncodingFormat::Float));
    let (resp, a, b) = round_trip::<EmbeddingResponse>(fixture!("embeddings_response.json"));
    assert_eq!(a, b);
    let floats = resp.data[1].embedding.to_floats().unwrap();
    assert_eq!(floats, [0.5, -0.25, 1.0, 0.0]);
    // base64 is little-endian f32, what the official SDKs decode.
    let b64 = EmbeddingVector::base64_from_floats(&floats);
    assert_eq!(
        b64,
        EmbeddingVector::Base64("AAAAPwAAgL4AAIA/AAAAAA==".into())
    );
    assert_eq!(b64.to_floats().unwrap(), floats);
    assert!(EmbeddingVector::Base64("AAA=".into()).to_floats().is_err());
    let tokens: EmbeddingRequest =
        serde_json::from_str(r#"{"model":"m","input":[[1,2],[3]]}"#).unwrap();
    assert_eq!(
        tokens.input,
        EmbeddingInput::TokenBatches(vec![vec![1, 2], vec![3]])
    );
}

#[test]
fn models_round_trip() {
    let (list, a, b) = round_trip::<ModelList>(fixture!("models_response.json"));
    assert_eq!(a, b);
    assert_eq!(list.data.len(), 2);
    assert_eq!(list.data[0].owned_by, "system");
}

#[test]
fn data_urls_split() {
    let img = ImageUrl {
        url: "data:image/png;base64,iVBORw0KGgo=".into(),
        detail: None,
    };
    assert_eq!(img.as_data_url(), Some(("image/png", "iVBORw0KGgo=")));
    let img = ImageUrl {
        url: "https://example.com/a.png".into(),
        detail: None,
    };
    assert_eq!(img.as_data_url(), None);
}

#[test]
fn validation_names_the_field() {
    let ok = ChatCompletionRequest::new("m", vec![ChatMessage::user("hi")]);
    assert!(ok.validate().is_ok());
    let param =
        |r: ChatCompletionRequest| r.validate().unwrap_err().detail().param.clone().unwrap();
    assert_eq!(
        param(ChatCompletionRequest::new(
            " ",
            vec![ChatMessage::user("hi")]
        )),
        "model"
    );
    assert_eq!(param(ChatCompletionRequest::new("m", vec![])), "messages");
    let mut r = ok.clone();
    r.temperature = Some(2.5);
    assert_eq!(param(r), "temperature");
    let mut r = ok.clone();
    r.top_p = Some(-0.1);
    assert_eq!(param(r), "top_p");
    let mut r = ok.clone();
    r.n = Some(0);
    assert_eq!(param(r), "n");
    let mut r = ok.clone();
    r.stream_options = Some(StreamOptions {
        include_usage: Some(true),
        extra: Default::default(),
    });
    assert_eq!(param(r.clone()), "stream_options");
    r.stream = Some(true);
    assert!(r.validate().is_ok());
}
