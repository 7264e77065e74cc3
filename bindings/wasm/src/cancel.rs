//! Cancellation: a one-shot signal that a pending call races against. When the signal
//! wins, the call's future is dropped, which drops reqwest's `fetch` and so aborts it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::rc::{Rc, Weak};

use futures::channel::oneshot;
use futures::future::{Either, FutureExt, Shared, select};
use wasm_bindgen::prelude::*;

use crate::errors::aborted;

/// A signal that fires once; every waiter sees it.
pub struct Signal {
    sender: RefCell<Option<oneshot::Sender<()>>>,
    fired: Shared<oneshot::Receiver<()>>,
}

impl Signal {
    /// A signal that has not fired.
    pub fn new() -> Rc<Self> {
        let (sender, receiver) = oneshot::channel();
        Rc::new(Self {
            sender: RefCell::new(Some(sender)),
            fired: receiver.shared(),
        })
    }

    /// Fires the signal (dropping the sender wakes every waiter); later calls do nothing.
    pub fn fire(&self) {
        drop(self.sender.borrow_mut().take());
    }

    /// Whether the signal has fired.
    pub fn is_fired(&self) -> bool {
        self.sender.borrow().is_none()
    }

    /// Resolves once the signal fires.
    pub fn wait(&self) -> impl Future<Output = ()> + use<> {
        self.fired.clone().map(|_| ())
    }
}

/// Runs `call` unless `signal` fires first; then `call` is dropped and the result is the
/// aborted error (`APIUserAbortError`).
pub async fn cancellable<T>(
    signal: Option<Rc<Signal>>,
    call: impl Future<Output = Result<T, JsValue>>,
) -> Result<T, JsValue> {
    let Some(signal) = signal else {
        return call.await;
    };
    if signal.is_fired() {
        return Err(aborted());
    }
    let call = pin!(call);
    let fired = pin!(signal.wait());
    match select(call, fired).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => Err(aborted()),
    }
}

thread_local! {
    /// Every live cancel handle by id, so a method can find the handle JavaScript passes
    /// it without taking ownership of it (wasm-bindgen has no `Option<&T>` argument).
    static HANDLES: RefCell<HashMap<u32, Weak<Signal>>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
}

/// The signal of the `NativeCancel` that `value` is; `None` for `null`, `undefined` or
/// anything else.
pub fn signal_of(value: &JsValue) -> Option<Rc<Signal>> {
    if value.is_null() || value.is_undefined() {
        return None;
    }
    let id = js_sys::Reflect::get(value, &JsValue::from_str(ID_PROPERTY))
        .ok()?
        .as_f64()?;
    HANDLES.with(|handles| handles.borrow().get(&(id as u32)).and_then(Weak::upgrade))
}

/// The property through which [`signal_of`] identifies a handle.
const ID_PROPERTY: &str = "__aihubCancelId";

/// A cancellation handle: `cancel()` drops the call it was passed to, closing its
/// connection; the call then rejects with `APIUserAbortError`.
#[wasm_bindgen]
pub struct NativeCancel {
    id: u32,
    signal: Rc<Signal>,
}

impl Default for NativeCancel {
    fn default() -> Self {
        let id = NEXT_ID.with(|next| {
            let id = next.get();
            next.set(id.wrapping_add(1).max(1));
            id
        });
        let signal = Signal::new();
        HANDLES.with(|handles| handles.borrow_mut().insert(id, Rc::downgrade(&signal)));
        Self { id, signal }
    }
}

impl Drop for NativeCancel {
    fn drop(&mut self) {
        // A call still holding the signal keeps it; only the lookup entry goes.
        HANDLES.with(|handles| handles.borrow_mut().remove(&self.id));
    }
}

#[wasm_bindgen]
impl NativeCancel {
    /// A fresh handle.
    #[wasm_bindgen(constructor)]
    pub fn new() -> NativeCancel {
        Self::default()
    }

    /// Cancels every call given this handle (now or later).
    pub fn cancel(&self) {
        self.signal.fire();
    }

    /// Internal: how the module recognises this handle when it is passed to a call.
    #[wasm_bindgen(getter = __aihubCancelId)]
    pub fn cancel_id(&self) -> u32 {
        self.id
    }
}
