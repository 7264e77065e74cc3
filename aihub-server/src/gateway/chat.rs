//! Chat completions through the pipeline, streamed and not.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aihub_core::{ChatCompletion, ChatCompletionRequest, Usage};

use super::proxied::{spawn_guarded, with_cost};
use super::{
    Ending, Failure, Presence, Proxied, Served, StreamAnswer, attempts, relay, request_id,
};
use crate::auth::KeyAuth;
use crate::error::ApiError;
use crate::state::AppState;

/// What a chat request became: a whole completion, or a stream of events.
#[derive(Debug)]
pub enum ChatAnswer {
    /// A non-stream completion, its usage carrying the charge.
    Complete(Box<Served<ChatCompletion>>),
    /// A stream.
    Stream(StreamAnswer),
}

/// Request fields that would change what the upstream charges, and what the gateway does
/// with them: OpenRouter's routing fields must not reach an upstream that would fall back
/// to models the gateway did not price; OpenAI's non-default service tiers are billed at
/// other prices than the catalog's.
fn refuse_price_changing_fields(request: &ChatCompletionRequest) -> Result<(), ApiError> {
    for field in ["models", "route", "fallbacks", "provider"] {
        if request.extra.contains_key(field) {
            return Err(ApiError::bad_request(
                format!(
                    "'{field}' is not supported by this gateway yet: it would let the upstream \
                     serve (and bill) models the gateway did not choose. Name one model in 'model'."
                ),
                field,
            ));
        }
    }
    if let Some(tier) = request.extra.get("service_tier") {
        let default = matches!(tier.as_str(), Some("auto" | "default")) || tier.is_null();
        if !default {
            return Err(ApiError::bad_request(
                format!(
                    "'service_tier' {tier} is billed at other prices than this gateway's catalog; \
                     use \"auto\" or \"default\", or leave it out."
                ),
                "service_tier",
            ));
        }
    }
    Ok(())
}

/// Providers whose API requires `max_tokens`: the gateway sends the same default that the
/// reservation assumed.
fn requires_max_tokens(state: &AppState, provider: &str) -> bool {
    state
        .client
        .adapter(provider)
        .is_some_and(aihub_core::providers::Adapter::requires_max_tokens)
}

/// Runs one chat request through the pipeline.
pub async fn chat(
    state: &AppState,
    caller: KeyAuth,
    mut request: ChatCompletionRequest,
) -> Result<ChatAnswer, Failure> {
    let started_ms = state.now_ms();
    request.validate()?;
    refuse_price_changing_fields(&request)?;
    let model = state.models.resolve(&request.model)?;
    request.model.clone_from(&model.id);
    let id = request_id();
    let asker = crate::counting::Asker {
        key: &caller.key,
        plan: state.limits.plan(&caller.plan),
        now_ms: started_ms,
    };
    let (mut request, prompt_tokens) =
        state
            .counter
            .chat(request, asker)
            .await
            .map_err(|e| Failure {
                error: e,
                headers: None,
                request_id: Some(id.clone()),
            })?;
    let stream = request.is_stream();
    let proxied = Proxied::new(id, caller, model, started_ms, stream, prompt_tokens);
    let per_choice = proxied.output_per_choice(state, request.output_limit());
    if request.output_limit().is_none() && requires_max_tokens(state, &proxied.model.provider) {
        request.max_tokens = Some(u32::try_from(per_choice).unwrap_or(u32::MAX));
    }
    let choices = u64::from(request.n.unwrap_or(1).max(1));
    let ticket = proxied
        .admit(state, per_choice.saturating_mul(choices))
        .await
        .map_err(|refused| Failure::refused(refused, &proxied.id))?;
    if proxied.stream {
        return relay::start(state, proxied, ticket, request)
            .await
            .map(ChatAnswer::Stream);
    }
    let headers = ticket.headers;
    let request_id = proxied.id.clone();
    let presence = Presence::default();
    let gone = presence.flag();
    let task_state = state.clone();
    let work = spawn_guarded(state, proxied.clone(), async move {
        complete(task_state, proxied, ticket, request, gone).await
    });
    let outcome = work.await;
    presence.keep();
    match outcome {
        Ok(Some(Ok((completion, cost)))) => Ok(ChatAnswer::Complete(Box::new(Served {
            value: completion,
            request_id,
            headers,
            cost,
        }))),
        Ok(Some(Err(error))) => Err(Failure {
            error,
            headers: Some(headers),
            request_id: Some(request_id),
        }),
        Ok(None) | Err(_) => Err(super::task_failed(headers, request_id)),
    }
}

/// The estimate of a completion's usage when the provider reported none: the counted
/// prompt and every piece of output in every choice.
fn estimate(proxied: &Proxied, completion: &ChatCompletion) -> Usage {
    let texts = aihub_core::tokens::completion_output_texts(completion);
    let output = aihub_core::tokens::count_output(&proxied.model.id, texts);
    Usage::new(
        proxied.prompt_tokens,
        u64::try_from(output).unwrap_or(u64::MAX),
    )
}

/// The request's attempts, settlement and record, in a task of its own so that a client
/// that leaves does not cancel it. Bounded by the upstream timeout per attempt.
async fn complete(
    state: AppState,
    proxied: Proxied,
    ticket: crate::limits::Ticket,
    request: ChatCompletionRequest,
    gone: Arc<AtomicBool>,
) -> Result<(ChatCompletion, Option<aihub_core::pricing::Money>), ApiError> {
    let provider = proxied.model.provider.clone();
    let upstream = proxied.model.upstream.clone();
    let client = state.client.clone();
    let calls = Box::pin(attempts::run(&state, &proxied, |options| {
        let (client, provider, upstream, request) = (&client, &provider, &upstream, &request);
        async move {
            client
                .attempt_chat(provider, upstream, request, &options)
                .await
        }
    }));
    let calls = super::proxied::renewing(&state, &proxied.id, &ticket, calls);
    let (result, attempts) = attempts::until_deadline(&state, &proxied, calls).await;
    let (mut usage, estimated) = match &result {
        Ok(c) => match &c.usage {
            Some(u) => (u.clone(), false),
            None => (estimate(&proxied, c), true),
        },
        Err(_) => (
            Usage::new(attempts.billed_prompt_tokens, 0),
            attempts.billed_prompt_tokens > 0,
        ),
    };
    if result.is_ok() && attempts.billed_prompt_tokens > 0 {
        usage.prompt_tokens = usage
            .prompt_tokens
            .saturating_add(attempts.billed_prompt_tokens);
        usage.total_tokens = usage.prompt_tokens.saturating_add(usage.completion_tokens);
    }
    let (status, error_type) = attempts::ending_status(&result, gone.load(Ordering::Acquire));
    let cost = proxied
        .finish(
            &state,
            ticket,
            Ending {
                usage: &usage,
                estimated,
                ttft_ms: None,
                status,
                error_type,
                attempts: attempts.count,
                attempt: attempts.last.as_ref(),
            },
        )
        .await;
    match result {
        Ok(mut completion) => {
            completion.usage = Some(with_cost(usage, cost, estimated));
            Ok((completion, cost))
        }
        Err(e) => Err(ApiError::from_upstream(
            e.with_request_id(Some(proxied.id.clone())),
        )),
    }
}
