//! Bringing a lost worker back: one task per backend restarts it right away (so readiness
//! recovers without waiting for a call), backing off while the file keeps failing to import.

use super::Inner;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

impl Inner {
    /// The worker is gone (killed after a timeout, crashed): restart it now, not at the next
    /// call, so readiness recovers on its own.
    pub(super) fn lost_worker(self: &Arc<Self>) {
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        self.health().restarting();
        self.supervise();
    }

    /// Makes sure one task is (re)starting the worker, with backoff between failed attempts.
    pub(super) fn supervise(self: &Arc<Self>) {
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return; // the next call starts the worker itself
        };
        if self
            .supervising
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        rt.spawn(restart_loop(Arc::downgrade(self)));
    }
}

/// Restarts the worker until one is running (or the backend is gone or shut down). Holds only
/// a weak reference while it waits, so a dropped backend is not kept alive by it.
async fn restart_loop(inner: Weak<Inner>) {
    struct Done(Weak<Inner>);
    impl Drop for Done {
        fn drop(&mut self) {
            if let Some(i) = self.0.upgrade() {
                i.supervising.store(false, Ordering::Release);
            }
        }
    }
    let _done = Done(inner.clone());
    loop {
        let Some(i) = inner.upgrade() else { return };
        if i.stopped.load(Ordering::Acquire) {
            return;
        }
        let mut slot = i.slot.lock().await;
        if slot.is_some() {
            return;
        }
        let wait = i.health().backing_off().map(|(w, _)| w);
        if let Some(wait) = wait {
            drop(slot);
            drop(i);
            tokio::time::sleep(wait).await;
            continue;
        }
        if let Ok(w) = i.start_worker().await {
            *slot = Some(w);
            return;
        }
    }
}
