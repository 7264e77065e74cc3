//! Chat completions through the pipeline, streamed and not.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aihub_core::{ChatCompletion, ChatCompletionRequest, Usage};

use super::proxied::{run_guarded, with_cost};
use super::{
    Ending, Failure, Presence, Proxied, Served, StreamAnswer, attempts, cached, relay, request_id,
};
use crate::auth::KeyAuth;
use crate::cache::CacheControls;
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
/// with them: OpenRouter's `route` and `provider` must not reach an upstream that would fall
/// back to models the gateway did not price; OpenAI's non-default service tiers are billed at
/// other prices than the catalog's. A `fallbacks` or `models` list is the gateway's own:
/// taken out of the request (never forwarded) and returned, to be tried after `model`.
fn take_routing_fields(request: &mut ChatCompletionRequest) -> Result<Vec<String>, ApiError> {
    for field in ["route", "provider"] {
        if request.extra.contains_key(field) {
            return Err(ApiError::bad_request(
                format!(
                    "'{field}' is not supported by this gateway: it would let the upstream \
                     serve (and bill) models the gateway did not choose. Name the model in \
                     'model' and others to try in 'fallbacks'."
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
    let mut fallbacks = Vec::new();
    for field in ["models", "fallbacks"] {
        let Some(value) = request.extra.remove(field) else {
            continue;
        };
        let names = value
            .as_array()
            .filter(|a| a.len() <= 16)
            .and_then(|a| {
                a.iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                ApiError::bad_request(
                    format!("'{field}' must be a list of at most 16 model names"),
                    field,
                )
            })?;
        for name in names {
            if name != request.model && !fallbacks.contains(&name) {
                fallbacks.push(name);
            }
        }
    }
    Ok(fallbacks)
}

/// Providers whose API requires `max_tokens`: the gateway sends the same default that the
/// reservation assumed.
fn requires_max_tokens(adapter: &aihub_core::providers::Adapter) -> bool {
    adapter.requires_max_tokens()
}

/// The deployment of `group` whose worst case is dearest (the request is admitted for it,
/// so that every deployment of its group fits the reservation); unpriced ones only when
/// no deployment is priced.
pub(super) fn dearest(
    group: &crate::routing::Group,
    worst: impl Fn(&crate::routing::RoutedModel) -> Option<aihub_core::pricing::Money>,
) -> Option<Arc<crate::routing::RoutedModel>> {
    let mut live = group.deployments.iter().filter(|d| d.enabled);
    if group.deployments.len() == 1 {
        return live.next().map(|d| d.model.clone());
    }
    let priced = live
        .clone()
        .filter_map(|d| worst(&d.model).map(|w| (w, d)))
        .max_by(|(a, _), (b, _)| a.amount.cmp(&b.amount));
    match priced {
        Some((_, d)) => Some(d.model.clone()),
        None => live.map(|d| d.model.clone()).next(),
    }
}

/// Runs one chat request through the pipeline, with the cache directives of its headers
/// (its body's `cache` object is taken out here and merged into them).
pub async fn chat(
    state: &AppState,
    caller: KeyAuth,
    mut request: ChatCompletionRequest,
    mut controls: CacheControls,
) -> Result<ChatAnswer, Failure> {
    let started_ms = state.now_ms();
    request.validate()?;
    controls.take_from_body(&mut request.extra)?;
    let fallbacks = take_routing_fields(&mut request)?;
    let cache = cached::plan(state, &caller, &controls, &fallbacks, &request);
    let group = state.router.group(&request.model)?;
    if !super::access::allows(state, &caller.key, &group) {
        return Err(super::access::not_allowed(&request.model).into());
    }
    let output_limit = request.output_limit();
    // Deployments ranked by price on a fixed basis (the prompt is not counted yet).
    let basis = u64::from(output_limit.unwrap_or(1000).max(1));
    let reserve_for =
        |model: &crate::routing::RoutedModel| model.price().map(|p| p.estimate(1000, basis));
    let model = dearest(&group, reserve_for).ok_or_else(|| {
        ApiError::unavailable(
            format!("`{}` has no deployment that takes traffic.", group.name),
            super::attempts::DEPLOYMENTS_UNAVAILABLE,
        )
    })?;
    request.model.clone_from(&model.id);
    let id = request_id();
    let asker = crate::counting::Asker {
        key: &caller.key,
        plan: state.limits.plan(&caller.plan),
        now_ms: started_ms,
    };
    let (request, prompt_tokens) =
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
    let choices = u64::from(request.n.unwrap_or(1).max(1));
    let max_output = per_choice.saturating_mul(choices);
    let admission = proxied
        .admission(state, max_output)
        .await
        .map_err(|refused| Failure::refused(refused, &proxied.id))?;
    if let Some(answer) = cached::lookup(state, cache.as_deref()).await {
        return cached::answer_hit(state, proxied, admission, answer).await;
    }
    let status = cache.as_ref().map(|c| c.status());
    let route = super::Route {
        group,
        fallbacks,
        per_choice,
        cache,
    };
    if proxied.stream {
        return relay::start(state, proxied, admission, route, request)
            .await
            .map(|mut s| {
                s.cache = status;
                ChatAnswer::Stream(s)
            });
    }
    let headers = admission.headers();
    let request_id = proxied.id.clone();
    let presence = Presence::default();
    let gone = presence.flag();
    let task_state = state.clone();
    let work = run_guarded(state, proxied.clone(), async move {
        complete(task_state, proxied, admission, route, request, gone).await
    });
    let outcome = work.await;
    presence.keep();
    match outcome {
        Some(Ok((completion, cost))) => Ok(ChatAnswer::Complete(Box::new(Served {
            value: completion,
            request_id,
            headers,
            cost,
            cache: status,
        }))),
        Some(Err(error)) => Err(Failure {
            error,
            headers: Some(headers),
            request_id: Some(request_id),
        }),
        None => Err(super::task_failed(headers, request_id)),
    }
}

/// The estimate of a completion's usage when the provider reported none: the counted
/// prompt and every piece of output in every choice.
fn estimate(proxied: &Proxied, model: &str, completion: &ChatCompletion) -> Usage {
    let texts = aihub_core::tokens::completion_output_texts(completion);
    let output = aihub_core::tokens::count_output(model, texts);
    Usage::new(
        proxied.prompt_tokens,
        u64::try_from(output).unwrap_or(u64::MAX),
    )
}

/// The request as sent to `deployment`: with the reservation's `max_tokens` when its
/// provider requires one and the caller set none.
pub(super) fn for_deployment<'a>(
    request: &'a ChatCompletionRequest,
    deployment: &crate::routing::Deployment,
    per_choice: u64,
) -> std::borrow::Cow<'a, ChatCompletionRequest> {
    if request.output_limit().is_none() && requires_max_tokens(&deployment.adapter) {
        let mut owned = request.clone();
        owned.max_tokens = Some(u32::try_from(per_choice).unwrap_or(u32::MAX));
        return std::borrow::Cow::Owned(owned);
    }
    std::borrow::Cow::Borrowed(request)
}

/// The request's attempts, settlement and record, in a task of its own so that a client
/// that leaves does not cancel it. Bounded by the upstream timeout per attempt.
async fn complete(
    state: AppState,
    proxied: Proxied,
    mut admission: super::attempts::Admission,
    route: super::Route,
    request: ChatCompletionRequest,
    gone: Arc<AtomicBool>,
) -> Result<(ChatCompletion, Option<aihub_core::pricing::Money>), ApiError> {
    let client = state.client.clone();
    let per_choice = route.per_choice;
    let routing = &state.config.routing;
    let assemble = routing.non_stream_as_stream.then(|| {
        routing
            .first_token_timeout
            .unwrap_or(state.config.upstream_timeout)
    });
    let partial = super::assembled::Partial::default();
    let prompt_tokens = proxied.prompt_tokens;
    let calls = Box::pin(attempts::run(
        &state,
        &proxied,
        route.group,
        &route.fallbacks,
        &mut admission,
        |deployment, options| {
            let (client, request, partial) = (&client, &request, &partial);
            async move {
                let request = for_deployment(request, &deployment, per_choice);
                if let Some(limit) = assemble {
                    let attempt = super::assembled::attempt(
                        client,
                        &deployment,
                        &request,
                        &options,
                        limit,
                        prompt_tokens,
                        partial,
                    );
                    return Box::pin(attempt).await;
                }
                client
                    .attempt_chat_on(
                        &deployment.adapter,
                        &deployment.model.upstream,
                        &request,
                        &options,
                    )
                    .await
            }
        },
    ));
    let (result, attempts) = attempts::until_deadline(&state, &proxied, calls).await;
    let model = attempts.model(&proxied);
    let (partial_prompt, partial_output) = partial.tokens();
    let billed_prompt = attempts.billed_prompt_tokens.saturating_add(partial_prompt);
    let (mut usage, mut estimated) = match &result {
        Ok(c) => match &c.usage {
            Some(u) => (u.clone(), false),
            None => (estimate(&proxied, &model.id, c), true),
        },
        Err(_) => (Usage::new(0, 0), false),
    };
    if billed_prompt > 0 || partial_output > 0 {
        // Failed attempts the provider may have billed: their prompt (and, for an attempt
        // cut after content, what it produced) count, estimated.
        usage.prompt_tokens = usage.prompt_tokens.saturating_add(billed_prompt);
        usage.completion_tokens = usage.completion_tokens.saturating_add(partial_output);
        usage.total_tokens = usage.prompt_tokens.saturating_add(usage.completion_tokens);
        estimated |= result.is_err() || partial_output > 0;
    }
    let (status, error_type) = attempts::ending_status(&result, gone.load(Ordering::Acquire));
    attempts.settle_capacity(&state, &proxied, &usage);
    let cost = proxied
        .finish(
            &state,
            admission.ticket.take(),
            Ending {
                usage: &usage,
                estimated,
                ttft_ms: None,
                status,
                error_type,
                attempts: attempts.count,
                attempt: attempts.last.as_ref(),
                log: &attempts.log,
                model,
            },
        )
        .await;
    match result {
        Ok(mut completion) => {
            if !estimated && route.cache.is_some() {
                let (provider, upstream) = match &attempts.last {
                    Some(a) if !a.provider.is_empty() => {
                        (a.provider.as_str(), a.upstream_model.as_str())
                    }
                    _ => (model.provider.as_str(), model.upstream.as_str()),
                };
                cached::store(
                    &state,
                    route.cache.as_deref(),
                    completion.clone(),
                    model,
                    provider,
                    upstream,
                )
                .await;
            }
            completion.usage = Some(with_cost(usage, cost, estimated));
            Ok((completion, cost))
        }
        Err(e) => Err(ApiError::from_upstream(
            e.with_request_id(Some(proxied.id.clone())),
        )),
    }
}
