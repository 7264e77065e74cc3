//! Direct mode: the same calls through each provider family's adapter, against the
//! mock's OpenAI, Azure, Anthropic and Gemini wire formats.

use aihub_core::providers::{ProviderConfig, ProviderKind};
use aihub_core::stream::ChatAccumulator;
use aihub_core::*;
use futures::StreamExt;
use serde_json::json;

use crate::mock;

fn direct(m: &mock_upstream::MockServer) -> Client {
    let mut azure =
        ProviderConfig::new("azure", ProviderKind::Azure, m.azure_base()).with_api_key("az");
    azure.api_version = Some("2024-10-21".into());
    Client::builder()
        .keys_from_env(false)
        .provider_key("openai", "sk-test")
        .provider_base_url("openai", m.openai_base())
        .provider_key("anthropic", "sk-ant-test")
        .provider_base_url("anthropic", m.anthropic_base())
        .provider_key("gemini", "g-test")
        .provider_base_url("gemini", m.gemini_base())
        .provider(azure)
        .build()
        .unwrap()
}

const MODELS: [&str; 4] = [
    "openai/gpt-4o-mini",
    "anthropic/claude-sonnet-4-5",
    "gemini/gemini-2.5-flash",
    "azure/my-gpt4o-deployment",
];

#[tokio::test]
async fn every_family_answers() {
    let m = mock().await;
    let c = direct(&m);
    for model in MODELS {
        let mut req = ChatCompletionRequest::new(
            model,
            vec![ChatMessage::system("Be brief."), ChatMessage::user("hello")],
        );
        req.max_tokens = Some(64);
        let r = c
            .chat()
            .create(req)
            .await
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        assert_eq!(r.model, model, "direct mode reports the model asked for");
        assert!(
            !r.choices[0]
                .message
                .content
                .clone()
                .unwrap_or_default()
                .is_empty(),
            "{model}"
        );
        assert_eq!(
            r.choices[0].finish_reason,
            Some(FinishReason::Stop),
            "{model}"
        );
        let u = r.usage.unwrap_or_else(|| panic!("{model}: no usage"));
        assert!(
            u.prompt_tokens > 0 && u.completion_tokens > 0,
            "{model}: {u:?}"
        );
    }
    let paths: Vec<String> = m.requests().iter().map(|r| r.path.clone()).collect();
    assert!(paths.iter().any(|p| p == "/v1/messages"), "{paths:?}");
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/v1beta/models/gemini-2.5-flash:generateContent")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p
            .starts_with("/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=")),
        "{paths:?}"
    );
}

#[tokio::test]
async fn every_family_streams_with_usage() {
    let m = mock().await;
    let c = direct(&m);
    for model in MODELS {
        let req =
            ChatCompletionRequest::new(model.to_string(), vec![ChatMessage::user("stream please")]);
        let mut s = c
            .chat()
            .stream(req)
            .await
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        let mut acc = ChatAccumulator::new();
        while let Some(chunk) = s.next().await {
            acc.push(&chunk.unwrap_or_else(|e| panic!("{model}: {e}")));
        }
        assert!(acc.chunk_count() > 2, "{model}");
        assert!(!acc.content().is_empty(), "{model}");
        let usage = acc
            .usage()
            .cloned()
            .unwrap_or_else(|| panic!("{model}: no usage"));
        assert!(usage.completion_tokens > 0, "{model}");
        assert_eq!(
            acc.finish().choices[0].finish_reason,
            Some(FinishReason::Stop),
            "{model}"
        );
    }
}

#[tokio::test]
async fn every_family_calls_tools() {
    let m = mock().await;
    let c = direct(&m);
    let tool = Tool::function(
        "lookup_order",
        "Find an order",
        json!({"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}),
    );
    for model in MODELS {
        let mut req =
            ChatCompletionRequest::new(model, vec![ChatMessage::user("call lookup_order for #42")]);
        req.tools = Some(vec![tool.clone()]);
        req.max_tokens = Some(64);
        let r = c
            .chat()
            .create(req.clone())
            .await
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        assert_eq!(
            r.choices[0].finish_reason,
            Some(FinishReason::ToolCalls),
            "{model}"
        );
        let call = r.choices[0].message.tool_calls.clone().unwrap()[0].clone();
        assert_eq!(call.function.name, "lookup_order", "{model}");
        assert!(
            serde_json::from_str::<serde_json::Value>(&call.function.arguments).is_ok(),
            "{model}"
        );

        let mut s = c.chat().stream(req).await.unwrap();
        let mut acc = ChatAccumulator::new();
        while let Some(chunk) = s.next().await {
            acc.push(&chunk.unwrap());
        }
        let done = acc.finish();
        let call = done.choices[0]
            .message
            .tool_calls
            .clone()
            .unwrap_or_else(|| panic!("{model}: no streamed tool call"))[0]
            .clone();
        assert_eq!(call.function.name, "lookup_order", "{model}");
        assert!(!call.id.is_empty(), "{model}");
        assert!(
            serde_json::from_str::<serde_json::Value>(&call.function.arguments).is_ok(),
            "{model}"
        );
    }
}

#[tokio::test]
async fn direct_mode_routing_errors() {
    let m = mock().await;
    let c = direct(&m);
    let e = c
        .chat()
        .create(ChatCompletionRequest::new(
            "no-such-model",
            vec![ChatMessage::user("hi")],
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "not_found");
    let e = c
        .chat()
        .create(ChatCompletionRequest::new(
            "deepseek/deepseek-chat",
            vec![ChatMessage::user("hi")],
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "authentication");
    assert!(e.message().contains("DEEPSEEK_API_KEY"), "{e}");
    assert_eq!(m.request_count(), 0, "nothing was sent");
    // Direct mode lists the catalog models of the providers it has keys for.
    let list = c.models().list().await.unwrap();
    assert!(list.data.iter().any(|x| x.id.starts_with("openai/")));
    assert!(!list.data.iter().any(|x| x.id.starts_with("deepseek/")));
}

#[tokio::test]
async fn every_family_answers_a_tool_result_in_text() {
    let m = mock().await;
    let c = direct(&m);
    let tool = Tool::function(
        "lookup_order",
        "Find an order",
        json!({"type": "object", "properties": {"order_id": {"type": "string"}}}),
    );
    for model in MODELS {
        let mut req =
            ChatCompletionRequest::new(model, vec![ChatMessage::user("call lookup_order for #42")]);
        req.tools = Some(vec![tool.clone()]);
        req.max_tokens = Some(64);
        let first = c.chat().create(req.clone()).await.unwrap();
        let calls = first.choices[0].message.tool_calls.clone().unwrap();
        req.messages
            .push(ChatMessage::assistant_tool_calls(calls.clone()));
        req.messages
            .push(ChatMessage::tool(&calls[0].id, r#"{"status": "shipped"}"#));
        let second = c
            .chat()
            .create(req)
            .await
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        assert_eq!(
            second.choices[0].finish_reason,
            Some(FinishReason::Stop),
            "{model}"
        );
        assert!(
            !second.choices[0]
                .message
                .content
                .clone()
                .unwrap_or_default()
                .is_empty(),
            "{model}"
        );
    }
    // The tool result reached each provider in its own shape.
    let bodies: Vec<String> = m.requests().iter().map(|r| r.body.to_string()).collect();
    assert!(
        bodies.iter().any(|b| b.contains("\"tool_call_id\"")),
        "OpenAI tool message"
    );
    assert!(
        bodies.iter().any(|b| b.contains("\"tool_result\"")),
        "Anthropic tool_result block"
    );
    assert!(
        bodies.iter().any(|b| b.contains("\"functionResponse\"")),
        "Gemini functionResponse part"
    );
}
