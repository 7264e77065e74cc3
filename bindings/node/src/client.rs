//! `NativeClient`: one `aihub_core::Client`. Requests and options arrive as JSON text, are
//! read into the core's types here (a bad field is a `BadRequestError` naming it), and each
//! call runs on the addon's tokio runtime as a promise, abortable through a `NativeCancel`.

use aihub_core::types::from_json_slice;
use aihub_core::{CallSettings, ChatCompletionRequest, Client, ClientSettings, EmbeddingRequest};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::Serialize;

use crate::cancel::{NativeCancel, run_cancellable};
use crate::errors::{serialize, to_js};
use crate::stream::NativeStream;

/// A client of a gateway or of providers directly; cheap to share (the core client is an `Arc`).
#[napi]
pub struct NativeClient {
    inner: Client,
}

/// A core result as JSON text, or the matching JavaScript error.
fn to_json<T: Serialize>(result: aihub_core::Result<T>) -> Result<String> {
    let value = result.map_err(|e| to_js(&e))?;
    serde_json::to_string(&value).map_err(|e| serialize(&e))
}

/// A request body and the per-call options, read from their JSON text.
fn read_call<T: serde::de::DeserializeOwned>(
    request: &str,
    options: &str,
) -> aihub_core::Result<(T, aihub_core::RequestOptions)> {
    let request = from_json_slice(request.as_bytes())?;
    let options = CallSettings::from_json(options)?.into_options();
    Ok((request, options))
}

#[napi]
impl NativeClient {
    /// Builds a client from the JSON of `NativeClientOptions`; throws on bad settings.
    #[napi(constructor)]
    pub fn new(options: String) -> Result<Self> {
        let inner = ClientSettings::from_json(&options)
            .and_then(ClientSettings::build)
            .map_err(|e| to_js(&e))?;
        Ok(Self { inner })
    }

    /// Whether requests go to an AI Hub gateway (else to providers directly).
    #[napi(getter)]
    pub fn is_gateway(&self) -> bool {
        self.inner.is_gateway()
    }

    /// `POST /chat/completions` without streaming: the ChatCompletion as JSON text.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn chat_create<'env>(
        &self,
        env: &'env Env,
        request: String,
        options: String,
        cancel: Option<&NativeCancel>,
    ) -> Result<PromiseRaw<'env, String>> {
        let client = self.inner.clone();
        let token = cancel.map(NativeCancel::token);
        env.spawn_future(run_cancellable(token, async move {
            let (request, options) =
                read_call::<ChatCompletionRequest>(&request, &options).map_err(|e| to_js(&e))?;
            to_json(client.chat().create_with(request, &options).await)
        }))
    }

    /// A streamed chat completion, resolved once the response has started.
    #[napi(ts_return_type = "Promise<NativeStream>")]
    pub fn chat_stream<'env>(
        &self,
        env: &'env Env,
        request: String,
        options: String,
        cancel: Option<&NativeCancel>,
    ) -> Result<PromiseRaw<'env, NativeStream>> {
        let client = self.inner.clone();
        let token = cancel.map(NativeCancel::token);
        let stream_token = token.clone();
        env.spawn_future(run_cancellable(token, async move {
            let (request, options) =
                read_call::<ChatCompletionRequest>(&request, &options).map_err(|e| to_js(&e))?;
            let stream = client
                .chat()
                .stream_with(request, &options)
                .await
                .map_err(|e| to_js(&e))?;
            Ok(NativeStream::new(stream, stream_token.as_ref()))
        }))
    }

    /// `POST /embeddings`: the response as JSON text.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn embeddings_create<'env>(
        &self,
        env: &'env Env,
        request: String,
        options: String,
        cancel: Option<&NativeCancel>,
    ) -> Result<PromiseRaw<'env, String>> {
        let client = self.inner.clone();
        let token = cancel.map(NativeCancel::token);
        env.spawn_future(run_cancellable(token, async move {
            let (request, options) =
                read_call::<EmbeddingRequest>(&request, &options).map_err(|e| to_js(&e))?;
            to_json(client.embeddings().create_with(request, &options).await)
        }))
    }

    /// `GET /models`: the list as JSON text.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn models_list<'env>(
        &self,
        env: &'env Env,
        options: String,
        cancel: Option<&NativeCancel>,
    ) -> Result<PromiseRaw<'env, String>> {
        let client = self.inner.clone();
        let token = cancel.map(NativeCancel::token);
        env.spawn_future(run_cancellable(token, async move {
            let options = CallSettings::from_json(&options)
                .map(CallSettings::into_options)
                .map_err(|e| to_js(&e))?;
            to_json(client.models().list_with(&options).await)
        }))
    }
}
