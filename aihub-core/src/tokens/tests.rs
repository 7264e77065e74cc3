use serde_json::json;

use super::*;
use crate::types::{
    ContentPart, ExtraFields, ImageUrl, JsonSchemaFormat, MessageContent, SystemMessage, Tool,
    ToolCall,
};

fn named_system(name: &str, text: &str) -> ChatMessage {
    ChatMessage::System(SystemMessage {
        content: MessageContent::Text(text.to_owned()),
        name: Some(name.to_owned()),
        extra: ExtraFields::new(),
    })
}

/// The example conversation of the OpenAI Cookbook's "How to count tokens with
/// tiktoken", section 6.
fn cookbook_messages() -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(
            "You are a helpful, pattern-following assistant that translates corporate jargon into plain English.",
        ),
        named_system(
            "example_user",
            "New synergies will help drive top-line growth.",
        ),
        named_system(
            "example_assistant",
            "Things working well together will increase revenue.",
        ),
        named_system(
            "example_user",
            "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",
        ),
        named_system(
            "example_assistant",
            "Let's talk later when we're less busy about how to do better.",
        ),
        ChatMessage::user(
            "This late pivot means we don't have time to boil the ocean for the client deliverable.",
        ),
    ]
}

/// The tool example of the same notebook, section 7.
fn cookbook_tool_request(model: &str) -> ChatCompletionRequest {
    let mut request = ChatCompletionRequest::new(
        model,
        vec![
            ChatMessage::system(
                "You are a helpful assistant that can answer to questions about the weather.",
            ),
            ChatMessage::user("What's the weather like in San Francisco?"),
        ],
    );
    request.tools = Some(vec![Tool::function(
        "get_current_weather",
        "Get the current weather in a given location",
        json!({
            "type": "object",
            "properties": {
                "location": {
                    "type": "string",
                    "description": "The city and state, e.g. San Francisco, CA"
                },
                "unit": {
                    "type": "string",
                    "description": "The unit of temperature to return",
                    "enum": ["celsius", "fahrenheit"]
                }
            },
            "required": ["location"]
        }),
    )]);
    request
}

#[test]
fn published_text_counts() {
    // tiktoken's README and the cookbook: "tiktoken is great!" is 6 cl100k tokens
    // (t / ik / token / " is" / " great" / "!").
    assert_eq!(count_text("gpt-4", "tiktoken is great!"), 6);
    assert_eq!(Encoding::Cl100kBase.count("tiktoken is great!"), 6);
    // "hello world" is 2 tokens in both encodings.
    assert_eq!(count_text("gpt-4", "hello world"), 2);
    assert_eq!(count_text("gpt-4o", "hello world"), 2);
    // The cookbook's encoding comparison (cl100k_base column).
    assert_eq!(
        Encoding::Cl100kBase.count("antidisestablishmentarianism"),
        6
    );
    assert_eq!(Encoding::Cl100kBase.count("2 + 2 = 4"), 7);
    assert_eq!(Encoding::Cl100kBase.count("お誕生日おめでとう"), 9);
    assert_eq!(count_text("gpt-4o", ""), 0);
}

#[test]
fn special_token_text_is_ordinary_text() {
    // Written in a message, "<|endoftext|>" is text, not the one special token.
    assert!(Encoding::Cl100kBase.count("<|endoftext|>") > 1);
    assert!(Encoding::O200kBase.count("<|endoftext|>") > 1);
}

#[test]
fn cookbook_conversation_cl100k_is_129() {
    // The cookbook reports 129 prompt tokens, counted and confirmed by the API, for
    // gpt-3.5-turbo (0613/0125), gpt-4-0613 and gpt-4.
    let messages = cookbook_messages();
    assert_eq!(count_messages("gpt-4", &messages), 129);
    assert_eq!(count_messages("gpt-4-0613", &messages), 129);
    assert_eq!(count_messages("gpt-3.5-turbo", &messages), 129);
    assert_eq!(count_messages("openai/gpt-4", &messages), 129);
}

#[test]
fn cookbook_conversation_o200k_is_124() {
    // ... and 124 for gpt-4o and gpt-4o-mini.
    let messages = cookbook_messages();
    assert_eq!(count_messages("gpt-4o", &messages), 124);
    assert_eq!(count_messages("gpt-4o-mini", &messages), 124);
    assert_eq!(count_messages("azure/gpt-4o", &messages), 124);
    let request = ChatCompletionRequest::new("openai/gpt-4o-mini", messages);
    assert_eq!(count_request(&request), 124);
}

#[test]
fn cookbook_tools_example() {
    // Section 7 reports 101 prompt tokens for gpt-4o / gpt-4o-mini and 105 for
    // gpt-3.5-turbo / gpt-4, counted and confirmed by the API.
    assert_eq!(count_request(&cookbook_tool_request("gpt-4o")), 101);
    assert_eq!(count_request(&cookbook_tool_request("gpt-4o-mini")), 101);
    assert_eq!(count_request(&cookbook_tool_request("gpt-4")), 105);
    assert_eq!(count_request(&cookbook_tool_request("gpt-3.5-turbo")), 105);
    let request = cookbook_tool_request("gpt-4o");
    let tools = request.tools.as_deref().unwrap_or_default();
    assert_eq!(
        count_tools("gpt-4o", tools),
        101 - count_messages("gpt-4o", &request.messages)
    );
    assert_eq!(count_tools("gpt-4o", &[]), 0);
}

#[test]
fn nested_tool_schemas_count_more_than_flat_ones() {
    let flat = Tool::function(
        "search",
        "Search.",
        json!({"type": "object", "properties": {"q": {"type": "string", "description": "Query."}}}),
    );
    let nested = Tool::function(
        "search",
        "Search.",
        json!({"type": "object", "properties": {
            "q": {"type": "string", "description": "Query."},
            "filters": {"type": "object", "properties": {"lang": {"type": "string"}}}
        }}),
    );
    let flat_count = count_tools("gpt-4o", &[flat]);
    let nested_count = count_tools("gpt-4o", &[nested]);
    // 3 for the extra property, its "filters:object:" line, and the JSON of its
    // nested "properties".
    assert!(
        nested_count > flat_count + 3,
        "{nested_count} vs {flat_count}"
    );
    // A tool without parameters still costs its framing and name.
    let bare = Tool {
        kind: "function".to_owned(),
        function: crate::types::FunctionDefinition {
            name: "now".to_owned(),
            description: None,
            parameters: None,
            strict: None,
        },
    };
    // 7 + tokens("now:") + 12
    assert_eq!(
        count_tools("gpt-4o", &[bare]),
        7 + Encoding::O200kBase.count("now:") + 12
    );
}

#[test]
fn encodings_per_model() {
    use Encoding::{Cl100kBase as Cl, O200kBase as O2};
    use Exactness::{Approximate as Approx, Exact};
    let cases = [
        ("gpt-4o", (O2, Exact)),
        ("gpt-4o-mini-2024-07-18", (O2, Exact)),
        ("chatgpt-4o-latest", (O2, Exact)),
        ("gpt-4.1-nano", (O2, Exact)),
        ("gpt-5", (O2, Exact)),
        ("gpt-5.4", (O2, Exact)),
        ("gpt-5-mini", (O2, Exact)),
        ("o1", (O2, Exact)),
        ("o3", (O2, Exact)),
        ("o3-mini", (O2, Exact)),
        ("o4-mini-2025-04-16", (O2, Exact)),
        ("openai/gpt-4o", (O2, Exact)),
        ("azure/gpt-4.1", (O2, Exact)),
        ("openrouter/openai/gpt-5.4", (O2, Exact)),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc123", (O2, Exact)),
        ("gpt-4", (Cl, Exact)),
        ("gpt-4-turbo", (Cl, Exact)),
        ("gpt-3.5-turbo", (Cl, Exact)),
        ("text-embedding-3-small", (Cl, Exact)),
        ("openai/text-embedding-3-large", (Cl, Exact)),
        ("text-embedding-ada-002", (Cl, Exact)),
        // Azure deployment names and unknown OpenAI models: modern encoding, estimated.
        ("azure/my-prod-deployment", (O2, Approx)),
        ("openai/some-future-model", (O2, Approx)),
        // OpenAI open-weight models elsewhere: o200k ranks, different framing.
        ("groq/openai/gpt-oss-120b", (O2, Approx)),
        ("gpt-oss-20b", (O2, Approx)),
        // Other vendors: cl100k as a stand-in.
        ("anthropic/claude-sonnet-4-5", (Cl, Approx)),
        ("claude-sonnet-4", (Cl, Approx)),
        ("gemini/gemini-2.5-flash", (Cl, Approx)),
        ("deepseek-chat", (Cl, Approx)),
        ("qwen/qwen-max", (Cl, Approx)),
        ("siliconflow/deepseek-ai/DeepSeek-V3", (Cl, Approx)),
        ("openrouter/anthropic/claude-sonnet-4.5", (Cl, Approx)),
        ("ollama/llama3.2", (Cl, Approx)),
        ("omni-moderation-latest", (Cl, Approx)),
        ("", (Cl, Approx)),
    ];
    for (model, expected) in cases {
        assert_eq!(encoding_for_model(model), expected, "{model}");
    }
    assert_eq!(Encoding::O200kBase.name(), "o200k_base");
    assert_eq!(Encoding::Cl100kBase.name(), "cl100k_base");
}

#[test]
fn other_vendors_are_counted_with_cl100k() {
    let text = "tiktoken is great!";
    assert_eq!(count_text("anthropic/claude-sonnet-4-5", text), 6);
    assert_eq!(count_text("qwen/qwen-max", text), 6);
    let messages = cookbook_messages();
    assert_eq!(count_messages("deepseek/deepseek-chat", &messages), 129);
}

#[test]
fn images_by_detail() {
    let image = |detail: Option<&str>| ContentPart::ImageUrl {
        image_url: ImageUrl {
            url: "https://example.com/cat.png".to_owned(),
            detail: detail.map(str::to_owned),
        },
    };
    let text = ContentPart::Text {
        text: "What is in this image?".to_owned(),
    };
    let base = count_messages("gpt-4o", &[ChatMessage::user("What is in this image?")]);
    let with = |part| {
        count_messages(
            "gpt-4o",
            &[ChatMessage::user_parts(vec![text.clone(), part])],
        )
    };
    assert_eq!(with(image(Some("low"))), base + IMAGE_TOKENS_LOW);
    assert_eq!(with(image(Some("high"))), base + IMAGE_TOKENS_DEFAULT);
    assert_eq!(with(image(None)), base + IMAGE_TOKENS_DEFAULT);
    // Audio is not counted.
    let audio = ContentPart::InputAudio {
        input_audio: crate::types::InputAudio {
            data: "AAAA".to_owned(),
            format: "wav".to_owned(),
        },
    };
    assert_eq!(with(audio), base);
}

#[test]
fn message_rule_by_hand() {
    // One user message "hello world" on gpt-4o: 3 framing + 1 ("user") + 2 + 3 priming.
    assert_eq!(
        count_messages("gpt-4o", &[ChatMessage::user("hello world")]),
        9
    );
    // No messages: only the reply priming.
    assert_eq!(count_messages("gpt-4o", &[]), 3);
    // A developer message counts its role like any other.
    let developer = count_messages("gpt-4o", &[ChatMessage::developer("hello world")]);
    assert_eq!(
        developer,
        3 + Encoding::O200kBase.count("developer") + 2 + 3
    );
}

#[test]
fn tool_calls_and_results_in_history() {
    let call = ToolCall::function("call_1", "get_current_weather", r#"{"location":"Paris"}"#);
    let messages = vec![
        ChatMessage::user("hello world"),
        ChatMessage::assistant_tool_calls(vec![call]),
        ChatMessage::tool("call_1", "22C"),
    ];
    let o2 = Encoding::O200kBase;
    let expected = (3 + 1 + 2)
        + (3 + o2.count("assistant")
            + 3
            + o2.count("get_current_weather")
            + o2.count(r#"{"location":"Paris"}"#))
        + (3 + o2.count("tool") + o2.count("22C"))
        + 3;
    assert_eq!(count_messages("gpt-4o", &messages), expected);
}

#[test]
fn json_schema_adds_its_text() {
    let messages = vec![ChatMessage::user("hello world")];
    let mut request = ChatCompletionRequest::new("gpt-4o", messages);
    let plain = count_request(&request);
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}});
    request.response_format = Some(ResponseFormat::JsonSchema {
        json_schema: JsonSchemaFormat {
            name: "reply".to_owned(),
            description: None,
            schema: Some(schema.clone()),
            strict: Some(true),
        },
    });
    let o2 = Encoding::O200kBase;
    assert_eq!(
        count_request(&request),
        plain + o2.count("reply") + o2.count(&schema.to_string())
    );
    request.response_format = Some(ResponseFormat::JsonObject);
    assert_eq!(count_request(&request), plain);
}

#[test]
fn count_input_takes_text_or_messages_and_names_the_param_otherwise() {
    let text = serde_json::json!("tiktoken is great!");
    assert_eq!(count_input("gpt-4", text, "input").unwrap(), 6);
    let messages = serde_json::json!([{"role": "user", "content": "tiktoken is great!"}]);
    let want = count_messages(
        "gpt-4o",
        &[crate::types::ChatMessage::user("tiktoken is great!")],
    );
    assert_eq!(count_input("gpt-4o", messages, "input").unwrap(), want);
    let e = count_input("gpt-4o", serde_json::json!(42), "text_or_messages").unwrap_err();
    assert_eq!(e.kind(), "bad_request");
    assert_eq!(e.detail().param.as_deref(), Some("text_or_messages"));
    let e = count_input("gpt-4o", serde_json::json!([{"role": "robot"}]), "input").unwrap_err();
    assert_eq!(e.kind(), "bad_request");
}

#[test]
fn output_of_a_whole_completion_counts_every_choice_and_tool_call() {
    let completion: crate::types::ChatCompletion = serde_json::from_value(serde_json::json!({
        "id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [
            {"index": 0, "finish_reason": "stop",
             "message": {"role": "assistant", "content": "Paris is sunny."}},
            {"index": 1, "finish_reason": "tool_calls",
             "message": {"role": "assistant", "content": null, "reasoning_content": "Check first.",
                         "tool_calls": [{"id": "call_1", "type": "function",
                                         "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}
        ]
    }))
    .unwrap();
    let texts = completion_output_texts(&completion);
    assert_eq!(
        texts,
        vec![
            "Paris is sunny.",
            "Check first.",
            "get_weather",
            "{\"city\":\"Paris\"}"
        ]
    );
    let expected: usize = texts.iter().map(|t| count_text("gpt-4o", t)).sum();
    assert_eq!(count_output("gpt-4o", texts), expected);
    assert!(expected > count_text("gpt-4o", "Paris is sunny."));
}
