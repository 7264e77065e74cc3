//! Embeddings through the pipeline.

use std::sync::atomic::Ordering;

use aihub_core::{EmbeddingRequest, EmbeddingResponse, Usage};

use super::{Ending, Failure, Presence, Proxied, Served, attempts, request_id};
use crate::auth::KeyAuth;
use crate::error::ApiError;
use crate::state::AppState;

/// Runs one embeddings request through the pipeline. Providers that report no usage
/// (Gemini) are billed for the input counted locally.
pub async fn embeddings(
    state: &AppState,
    caller: KeyAuth,
    mut request: EmbeddingRequest,
) -> Result<Served<EmbeddingResponse>, Failure> {
    let started_ms = state.now_ms();
    if request.input.is_empty() {
        return Err(ApiError::bad_request("'input' must not be empty.", "input").into());
    }
    let group = state.router.group(&request.model)?;
    if !super::access::allows(state, &caller.key, &group) {
        return Err(super::access::not_allowed(&request.model).into());
    }
    let model = super::chat::dearest(&group, |m| m.price().map(|p| p.estimate(1000, 0)))
        .ok_or_else(|| {
            ApiError::unavailable(
                format!("`{}` has no deployment that takes traffic.", group.name),
                super::attempts::DEPLOYMENTS_UNAVAILABLE,
            )
        })?;
    request.model.clone_from(&model.id);
    let id = request_id();
    let prompt_tokens = state
        .counter
        .embeddings(
            &model.id,
            &request,
            crate::counting::Asker {
                key: &caller.key,
                plan: state.limits.plan(&caller.plan),
                now_ms: started_ms,
            },
        )
        .await
        .map_err(|e| Failure {
            error: e,
            headers: None,
            request_id: Some(id.clone()),
        })?;
    let proxied = Proxied::new(id, caller, model, started_ms, false, prompt_tokens);
    let mut admission = proxied
        .admission(state, 0)
        .await
        .map_err(|refused| Failure::refused(refused, &proxied.id))?;
    let headers = admission.headers();
    let request_id = proxied.id.clone();
    let presence = Presence::default();
    let gone = presence.flag();
    let task_state = state.clone();
    let work = super::proxied::run_guarded(state, proxied.clone(), async move {
        let state = task_state;
        let client = &state.client;
        let calls = Box::pin(attempts::run(
            &state,
            &proxied,
            group,
            &[],
            &mut admission,
            |deployment, options| {
                let request = &request;
                async move {
                    client
                        .attempt_embeddings_on(
                            &deployment.adapter,
                            &deployment.model.upstream,
                            request,
                            &options,
                        )
                        .await
                }
            },
        ));
        let (result, attempts) = attempts::until_deadline(&state, &proxied, calls).await;
        let model = attempts.model(&proxied);
        let (usage, estimated) = match &result {
            Ok(r) if r.usage.prompt_tokens > 0 => (Usage::new(r.usage.prompt_tokens, 0), false),
            Ok(_) => (Usage::new(proxied.prompt_tokens, 0), true),
            Err(_) => (
                Usage::new(attempts.billed_prompt_tokens, 0),
                attempts.billed_prompt_tokens > 0,
            ),
        };
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
        let served = model.id.clone();
        result
            .map(|mut r| {
                r.model = served;
                r.usage.prompt_tokens = usage.prompt_tokens;
                r.usage.total_tokens = usage.prompt_tokens;
                (r, cost)
            })
            .map_err(|e| ApiError::from_upstream(e.with_request_id(Some(proxied.id.clone()))))
    });
    let outcome = work.await;
    presence.keep();
    match outcome {
        Some(Ok((value, cost))) => Ok(Served {
            value,
            request_id,
            headers,
            cost,
            cache: None,
        }),
        Some(Err(error)) => Err(Failure {
            error,
            headers: Some(headers),
            request_id: Some(request_id),
        }),
        None => Err(super::task_failed(headers, request_id)),
    }
}
