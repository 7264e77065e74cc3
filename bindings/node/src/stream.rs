//! `NativeStream`: one core `ChatStream` read in batches by the shared layer's async
//! iterator. The stream sits behind an async mutex and inside an [`Abortable`], so that
//! `close()` ends a pending `nextBatch` at once (the abort wakes it) and the stream is
//! dropped, which closes the connection: the gateway records the request as cancelled (499).

use std::sync::Arc;

use aihub_core::stream::{ChatStream, next_batch};
use futures_util::lock::Mutex;
use futures_util::stream::{AbortHandle, Abortable};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::cancel::CancelToken;
use crate::errors::serialize;

/// Most chunks one `nextBatch` hands to JavaScript.
const BATCH: usize = 256;

/// A started chat completion stream.
#[napi]
pub struct NativeStream {
    inner: Arc<Mutex<Option<ChatStream>>>,
    abort: AbortHandle,
}

impl NativeStream {
    /// Wraps a started core stream; a cancel token, when given, closes it too.
    pub fn new(stream: ChatStream, cancel: Option<&CancelToken>) -> Self {
        let (abort, registration) = AbortHandle::new_pair();
        if let Some(token) = cancel {
            token.attach(abort.clone());
        }
        let stream: ChatStream = Box::pin(Abortable::new(stream, registration));
        Self {
            inner: Arc::new(Mutex::new(Some(stream))),
            abort,
        }
    }
}

#[napi]
impl NativeStream {
    /// The next chunks as `{"chunks": [...], "error": {...} | null, "done": bool}` (JSON
    /// text); after the end or `close()`, no chunks and `done: true`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn next_batch<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, String>> {
        let inner = Arc::clone(&self.inner);
        env.spawn_future(async move {
            let mut slot = inner.lock().await;
            let batch = next_batch(&mut slot, BATCH).await;
            serde_json::to_string(&batch.to_sdk_json()).map_err(|e| serialize(&e))
        })
    }

    /// Stops the stream and cancels the request; a pending `nextBatch` resolves as ended.
    #[napi]
    pub fn close(&self) {
        self.abort.abort();
        // Without a step in progress, drop the stream now; otherwise the woken step ends it.
        if let Some(mut slot) = self.inner.try_lock() {
            drop(slot.take());
        }
    }
}
