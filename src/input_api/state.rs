//! What the handlers of one `input api` port share: the runtime, the component it enters the
//! pipeline at, the limits taken from `serve`'s command line, the open-socket count and the
//! shutdown signal.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use woodwork_runtime::Runtime;

/// Limits and auth from `serve`'s options, the same on every input api port.
#[derive(Clone)]
pub struct Settings {
    /// Deadline of one input (`--request-timeout`).
    pub deadline: Duration,
    /// Largest `POST /input` body (`--max-body`).
    pub max_body: usize,
    /// How long a body may take to arrive (`--body-timeout`).
    pub body_timeout: Duration,
    /// The main server's bearer token, required here too when set (README: "woodwork's input
    /// API"). Never empty: `serve` refuses a blank token at startup.
    pub auth_token: Option<String>,
    /// HTTP worker threads per port (`--workers`; `None` = one per core).
    pub workers: Option<usize>,
    /// How long a graceful stop waits for open connections.
    pub shutdown_timeout: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("deadline", &self.deadline)
            .field("max_body", &self.max_body)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// Shared by the workers of one port (behind `web::Data`).
pub struct ApiState {
    pub runtime: Runtime,
    /// The `input api` component: every input on this port enters the pipeline there.
    pub component: String,
    pub settings: Settings,
    /// Open WebSockets, bounded by [`super::ws::MAX_SOCKETS`].
    sockets: AtomicUsize,
    /// Flips to `true` when `serve` begins its shutdown.
    shutdown: watch::Receiver<bool>,
}

impl ApiState {
    pub fn new(
        runtime: Runtime,
        component: String,
        settings: Settings,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        ApiState {
            runtime,
            component,
            settings,
            sockets: AtomicUsize::new(0),
            shutdown,
        }
    }

    /// True once shutdown began: no new input is taken.
    pub fn is_draining(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// A receiver that wakes when shutdown begins (one per socket).
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }

    /// Open WebSockets now.
    pub fn socket_count(&self) -> usize {
        self.sockets.load(Ordering::Acquire)
    }

    /// Counts one more socket unless `max` are open; the slot is freed when the guard drops.
    pub fn open_socket(self: &std::sync::Arc<Self>, max: usize) -> Option<SocketSlot> {
        self.sockets
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| SocketSlot(self.clone()))
    }
}

/// One open socket's place in the count.
pub struct SocketSlot(std::sync::Arc<ApiState>);

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.0.sockets.fetch_sub(1, Ordering::AcqRel);
    }
}
