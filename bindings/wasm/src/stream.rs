//! `NativeStream`: one core `ChatStream`, read in batches. `close()` (or the call's
//! cancel handle) ends a pending `nextBatch` at once and drops the stream, which aborts
//! its `fetch` so the gateway or provider sees the client leave.

use std::pin::Pin;
use std::rc::Rc;

use aihub_core::stream::{ChatStream, ChunkBatch, next_batch};
use futures::future::{Either, select};
use futures::lock::Mutex;
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::cancel::Signal;
use crate::errors::aborted;

/// Most chunks one `nextBatch` hands to JavaScript.
const BATCH: usize = 256;

/// What `nextBatch` resolves to once nothing more will come.
const ENDED: &str = r#"{"chunks":[],"error":null,"done":true}"#;

struct State {
    slot: Mutex<Option<ChatStream>>,
    closed: Rc<Signal>,
    cancel: Option<Rc<Signal>>,
}

impl State {
    /// Drops the stream unless a `nextBatch` holds it (that one drops it as it ends).
    fn drop_stream(&self) {
        if let Some(mut slot) = self.slot.try_lock() {
            drop(slot.take());
        }
    }
}

/// A started chat completion stream.
#[wasm_bindgen]
pub struct NativeStream {
    state: Rc<State>,
}

impl NativeStream {
    /// Wraps a started core stream; `cancel` is the call's cancel handle, if any.
    pub(crate) fn new(stream: ChatStream, cancel: Option<Rc<Signal>>) -> Self {
        Self {
            state: Rc::new(State {
                slot: Mutex::new(Some(stream)),
                closed: Signal::new(),
                cancel,
            }),
        }
    }
}

/// `{"chunks": [...], "error": {...} | null, "done": bool}` as JSON text.
fn batch_json(batch: &ChunkBatch) -> Result<JsValue, JsValue> {
    Ok(JsValue::from_str(&batch.to_sdk_json().to_string()))
}

#[wasm_bindgen]
impl NativeStream {
    /// Waits for the next chunk, then takes those already received (up to 256), as JSON.
    #[wasm_bindgen(js_name = nextBatch)]
    pub fn next_batch(&self) -> Promise {
        let state = Rc::clone(&self.state);
        future_to_promise(async move {
            let cancelled = || state.cancel.as_ref().is_some_and(|c| c.is_fired());
            if cancelled() {
                state.drop_stream();
                return Err(aborted());
            }
            if state.closed.is_fired() {
                state.drop_stream();
                return Ok(JsValue::from_str(ENDED));
            }
            let read: Pin<Box<dyn Future<Output = ChunkBatch>>> = Box::pin(async {
                let mut slot = state.slot.lock().await;
                next_batch(&mut slot, BATCH).await
            });
            let cancel = state.cancel.as_ref().map(|c| c.wait());
            let closed = state.closed.wait();
            let stop = Box::pin(async move {
                match cancel {
                    Some(cancel) => {
                        select(Box::pin(closed), Box::pin(cancel)).await;
                    }
                    None => closed.await,
                }
            });
            match select(read, stop).await {
                Either::Left((batch, _)) => batch_json(&batch),
                Either::Right(((), read)) => {
                    // Release the lock the read held, then drop the stream (and its fetch).
                    drop(read);
                    state.drop_stream();
                    if cancelled() {
                        Err(aborted())
                    } else {
                        Ok(JsValue::from_str(ENDED))
                    }
                }
            }
        })
    }

    /// Stops the stream and cancels the request; a pending `nextBatch` resolves as ended.
    pub fn close(&self) {
        self.state.closed.fire();
        self.state.drop_stream();
    }
}
