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
        // In a cluster the component queues are still consumed while this node's own turns
        // finish: their later hops may come back to components hosted here.
        // A reload under way finishes (or gives up) first, so the generation stopped below is
        // the last one; bounded, then shutdown goes ahead regardless.
        let services = self.services();
        let _no_reload =
            tokio::time::timeout(services.opts.shutdown_timeout, self.inner.reload.lock())
                .await
                .ok();
        let generation = self.generation();
        let opts = &generation.services.opts;
        // `accepting` is off: no new turn starts, so `wait` ends when the last one did.
        self.inner.turns.close();
        let bound = opts
            .shutdown_timeout
            .saturating_mul(self.router().cells().len().max(1) as u32);
        if tokio::time::timeout(bound, self.inner.turns.wait())
            .await
            .is_err()
        {
            tracing::warn!("shutdown: requests still in flight after {bound:?}; stopping anyway");
        }
        // What answered turns left running (a webhook delivery waiting to retry) finishes too,
        // within the same bound: an answer is not dropped half-way through its delivery.
        let background = &generation.services.background;
        background.close();
        if tokio::time::timeout(bound, background.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                left = background.len(),
                "shutdown: deliveries still running after {bound:?}; stopping anyway"
            );
        }
        // In a cluster: stop taking work from the broker, let handled hops send their results,
        // leave the registry at once.
        if let Some(c) = &generation.services.cluster {
            c.leave(bound).await;
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
