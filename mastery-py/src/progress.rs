//! Progress callbacks and Ctrl-C for long fits. The core runs on a worker thread with the GIL
//! released; the calling (main) thread waits for its reports, calls the Python callback with them
//! and checks for signals every 50 ms. A pending `KeyboardInterrupt` (or an exception raised by
//! the callback) sets a cancel flag that the core's progress hook polls between EM iterations and
//! booster rounds, and is raised once the worker has stopped.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use core::progress::{OnProgress, Progress};
use mastery_core as core;
use pyo3::prelude::*;

use crate::error::{internal, invalid, IntoPyResult};

/// How often the waiting thread checks for Ctrl-C.
const POLL: Duration = Duration::from_millis(50);

/// The `progress` argument: `None` or a callable taking `(stage, done, total)`.
pub fn callback<'py>(object: Option<&Bound<'py, PyAny>>) -> PyResult<Option<Bound<'py, PyAny>>> {
    match object {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) if o.is_callable() => Ok(Some(o.clone())),
        Some(o) => Err(invalid(o.py(), "progress", "must be a callable taking (stage, done, total), or None")),
    }
}

/// Runs `work` on a worker thread, reporting to `callback` and stopping on Ctrl-C.
pub fn run<T: Send>(
    py: Python<'_>,
    callback: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce(OnProgress<'_>) -> Result<T, core::MasteryError> + Send,
) -> PyResult<T> {
    let cancel = AtomicBool::new(false);
    let (sender, receiver) = mpsc::channel::<Progress>();
    let sender = Mutex::new((sender, usize::MAX));
    let on = |p: Progress| {
        if let Ok(mut guard) = sender.lock() {
            let (tx, last) = &mut *guard;
            if *last != p.done {
                *last = p.done;
                let _ = tx.send(p);
            }
        }
        if cancel.load(Ordering::Relaxed) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let mut pending: Option<PyErr> = None;
    let outcome = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let result = work(&on);
            // Dropping the sender ends the waiting loop.
            if let Ok(mut guard) = sender.lock() {
                let (closed, _) = mpsc::channel();
                guard.0 = closed;
            }
            result
        });
        let mut receiver = receiver;
        loop {
            let (back, message) = py.detach(move || {
                let m = receiver.recv_timeout(POLL);
                (receiver, m)
            });
            receiver = back;
            match message {
                Ok(p) => {
                    if let (Some(cb), None) = (callback, &pending) {
                        if let Err(e) = cb.call1((p.stage.name(), p.done, p.total)) {
                            pending = Some(e);
                            cancel.store(true, Ordering::Relaxed);
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if pending.is_none() {
                if let Err(e) = py.check_signals() {
                    pending = Some(e);
                    cancel.store(true, Ordering::Relaxed);
                }
            }
            if worker.is_finished() {
                // Deliver what is left, then stop.
                while let Ok(p) = receiver.try_recv() {
                    if let (Some(cb), None) = (callback, &pending) {
                        if let Err(e) = cb.call1((p.stage.name(), p.done, p.total)) {
                            pending = Some(e);
                        }
                    }
                }
                break;
            }
        }
        py.detach(|| worker.join())
    });
    if let Some(e) = pending {
        return Err(e);
    }
    match outcome {
        Ok(result) => result.py_err(py),
        Err(_) => Err(internal(py, "the library panicked; please report this input")),
    }
}
