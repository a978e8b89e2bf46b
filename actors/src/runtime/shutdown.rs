//! Graceful shutdown: stop accepting, drain the requests in flight (bounded), then stop the
//! components in reverse start order and their worker processes.

use super::Runtime;
use crate::supervisor::ShutdownChildren;
use std::sync::atomic::Ordering;

impl Runtime {
    /// Stops accepting work, waits (bounded) for requests in flight, then stops the components in
    /// reverse start order, each within the shutdown timeout.
    pub async fn shutdown(&self) {
        self.inner.accepting.store(false, Ordering::Release);
        // A reload under way finishes (or gives up) first, so the generation stopped below is
        // the last one; bounded, then shutdown goes ahead regardless.
        let services = self.services();
        let _no_reload =
            tokio::time::timeout(services.opts.shutdown_timeout, self.inner.reload.lock())
                .await
                .ok();
        let generation = self.generation();
        let opts = &generation.services.opts;
        let drain = async {
            loop {
                let notified = self.inner.idle.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.inner.active.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let bound = opts
            .shutdown_timeout
            .saturating_mul(self.router().cells().len().max(1) as u32);
        if tokio::time::timeout(bound, drain).await.is_err() {
            tracing::warn!("shutdown: requests still in flight after {bound:?}; stopping anyway");
        }
        let _ = generation
            .root
            .send(ShutdownChildren {
                timeout: opts.shutdown_timeout,
            })
            .await;
        for cell in self.router().cells().iter() {
            cell.hooks.stop_workers().await;
            if let Some(tool) = &cell.backends.tool {
                tool.shutdown().await;
            }
        }
    }
}
