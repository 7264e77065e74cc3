//! `NativeClient`: one `aihub_core::Client`. Methods return promises; each takes the
//! request and per-call options as JSON text and an optional cancel handle.

use std::future::Future;
use std::rc::Rc;

use aihub_core::types::from_json_slice;
use aihub_core::{
    CallSettings, ChatCompletionRequest, Client, ClientSettings, EmbeddingRequest, RequestOptions,
};
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::cancel::{Signal, cancellable, signal_of};
use crate::errors::{to_js, to_json};
use crate::stream::NativeStream;

/// One client; cheap to clone (the core client is reference-counted).
#[wasm_bindgen]
pub struct NativeClient {
    inner: Client,
}

/// A request body from JSON text; a body that does not fit is a `BadRequestError`.
fn request<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, JsValue> {
    from_json_slice(text.as_bytes()).map_err(|e| to_js(&e))
}

/// Per-call options from JSON text (empty text: none).
fn options(text: &str) -> Result<RequestOptions, JsValue> {
    CallSettings::from_json(text)
        .map(CallSettings::into_options)
        .map_err(|e| to_js(&e))
}

/// A promise for `call`, cancelled by `cancel`; a core error rejects it as a JS error.
fn promise<T: Into<JsValue>>(
    signal: Option<Rc<Signal>>,
    call: impl Future<Output = Result<T, JsValue>> + 'static,
) -> Promise {
    future_to_promise(async move { cancellable(signal, call).await.map(Into::into) })
}

#[wasm_bindgen]
impl NativeClient {
    /// Builds a client from the JSON of `NativeClientOptions`; throws on bad settings.
    #[wasm_bindgen(constructor)]
    pub fn new(options: &str) -> Result<NativeClient, JsValue> {
        let inner = ClientSettings::from_json(options)
            .and_then(ClientSettings::build)
            .map_err(|e| to_js(&e))?;
        Ok(Self { inner })
    }

    /// Whether requests go to an AI Hub gateway (else to providers directly).
    #[wasm_bindgen(getter = isGateway)]
    pub fn is_gateway(&self) -> bool {
        self.inner.is_gateway()
    }

    /// `POST /chat/completions` without streaming: the ChatCompletion as JSON text.
    #[wasm_bindgen(js_name = chatCreate)]
    pub fn chat_create(&self, request_json: &str, options_json: &str, cancel: JsValue) -> Promise {
        let client = self.inner.clone();
        let parsed = request::<ChatCompletionRequest>(request_json)
            .and_then(|r| Ok((r, options(options_json)?)));
        promise(signal_of(&cancel), async move {
            let (request, options) = parsed?;
            let completion = client
                .chat()
                .create_with(request, &options)
                .await
                .map_err(|e| to_js(&e))?;
            to_json(&completion)
        })
    }

    /// A streamed chat completion, resolved with a `NativeStream` once the response has
    /// started. The cancel handle also ends the stream later.
    #[wasm_bindgen(js_name = chatStream)]
    pub fn chat_stream(&self, request_json: &str, options_json: &str, cancel: JsValue) -> Promise {
        let client = self.inner.clone();
        let parsed = request::<ChatCompletionRequest>(request_json)
            .and_then(|r| Ok((r, options(options_json)?)));
        let signal = signal_of(&cancel);
        promise(signal.clone(), async move {
            let (request, options) = parsed?;
            let stream = client
                .chat()
                .stream_with(request, &options)
                .await
                .map_err(|e| to_js(&e))?;
            Ok(NativeStream::new(stream, signal))
        })
    }

    /// `POST /embeddings`: the response as JSON text.
    #[wasm_bindgen(js_name = embeddingsCreate)]
    pub fn embeddings_create(
        &self,
        request_json: &str,
        options_json: &str,
        cancel: JsValue,
    ) -> Promise {
        let client = self.inner.clone();
        let parsed = request::<EmbeddingRequest>(request_json)
            .and_then(|r| options(options_json).map(|o| (r, o)));
        promise(signal_of(&cancel), async move {
            let (request, options) = parsed?;
            let response = client
                .embeddings()
                .create_with(request, &options)
                .await
                .map_err(|e| to_js(&e))?;
            to_json(&response)
        })
    }

    /// `GET /models`: the list as JSON text.
    #[wasm_bindgen(js_name = modelsList)]
    pub fn models_list(&self, options_json: &str, cancel: JsValue) -> Promise {
        let client = self.inner.clone();
        let parsed = options(options_json);
        promise(signal_of(&cancel), async move {
            let list = client
                .models()
                .list_with(&parsed?)
                .await
                .map_err(|e| to_js(&e))?;
            to_json(&list)
        })
    }
}
