//! What every handler shares: the runtime, the readiness flag flipped at shutdown, limits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use woodwork_runtime::Runtime;

/// Shared by all workers (behind `web::Data`, an `Arc`).
pub struct AppState {
    pub runtime: Runtime,
    pub limits: Limits,
    /// Renders `/metrics`; `None` when another recorder was installed first (tests in one process).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub started: Instant,
    draining: Arc<AtomicBool>,
}

/// Request limits from the command line.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest accepted request body, in bytes.
    pub max_body: usize,
    /// Deadline of one input when the request names none.
    pub default_deadline: Duration,
    /// Upper bound a client may ask for with `deadline_ms`.
    pub max_deadline: Duration,
    /// How long a client may take to send its whole body (a stalled upload gets 408).
    pub body_timeout: Duration,
}

impl AppState {
    pub fn new(
        runtime: Runtime,
        limits: Limits,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
        draining: Arc<AtomicBool>,
    ) -> Self {
        AppState {
            runtime,
            limits,
            metrics,
            started: Instant::now(),
            draining,
        }
    }

    /// True once shutdown began: `/readyz` answers 503 and no new input is accepted.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}
