//! `NativeCancel`: the handle the shared layer wires to an `AbortSignal`. A call given one
//! runs as an [`Abortable`] future; `cancel()` drops that future (closing its connection)
//! and the call rejects with `APIUserAbortError`. A stream started with one is closed by it
//! too, so an abort after the response has started still stops the request.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::{AbortHandle, AbortRegistration, Abortable};
use napi_derive::napi;

use crate::errors::aborted;

/// What a cancel handle has been asked to stop.
#[derive(Default)]
struct State {
    cancelled: bool,
    handles: Vec<AbortHandle>,
}

/// A cancellation handle shared between JavaScript and the calls it was passed to.
#[derive(Clone, Default)]
pub struct CancelToken(Arc<Mutex<State>>);

impl CancelToken {
    /// Adds `handle` to what `cancel()` aborts; aborts it at once when already cancelled.
    pub fn attach(&self, handle: AbortHandle) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if state.cancelled {
            handle.abort();
        } else {
            state.handles.retain(|h| !h.is_aborted());
            state.handles.push(handle);
        }
    }

    /// A registration for one [`Abortable`], attached to this token.
    fn register(&self) -> AbortRegistration {
        let (handle, registration) = AbortHandle::new_pair();
        self.attach(handle);
        registration
    }

    fn cancel(&self) {
        let handles = {
            let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            state.cancelled = true;
            std::mem::take(&mut state.handles)
        };
        for handle in handles {
            handle.abort();
        }
    }
}

/// Runs `future`, rejecting with the aborted error when `token` is cancelled first.
pub async fn run_cancellable<T, F>(token: Option<CancelToken>, future: F) -> napi::Result<T>
where
    F: Future<Output = napi::Result<T>>,
{
    match token {
        None => future.await,
        Some(token) => Abortable::new(future, token.register())
            .await
            .unwrap_or_else(|_aborted| Err(aborted())),
    }
}

/// A fresh cancellation handle (`new NativeCancel()`).
#[napi]
#[derive(Default)]
pub struct NativeCancel {
    token: CancelToken,
}

#[napi]
impl NativeCancel {
    /// A handle that has not been cancelled.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every call and stream this handle was passed to; later calls given it
    /// reject at once.
    #[napi]
    pub fn cancel(&self) {
        self.token.cancel();
    }
}

impl NativeCancel {
    /// The shared token, for a call to take along.
    pub fn token(&self) -> CancelToken {
        self.token.clone()
    }
}
