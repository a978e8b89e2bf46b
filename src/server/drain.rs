//! The end of the drain: when `--drain-timeout` runs out after SIGTERM, requests still running are
//! answered 503 `shutting_down` (with `Retry-After`) instead of having their connection dropped
//! under them — a client that gets an empty reply cannot tell a crash from a restart, nor know
//! that retrying is safe. Streams still open end with an `error` event the same way.
//!
//! Process-wide: one `serve` per process, and the SSE body, built deep in a handler, must see it
//! without every layer in between carrying it.

use crate::server::error::ApiError;
use actix_web::http::StatusCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

static EXPIRED: AtomicBool = AtomicBool::new(false);
static NOTIFY: Notify = Notify::const_new();

/// Ends the drain after `timeout` (spawned on the current runtime).
pub fn expire_after(timeout: Duration) {
    actix_rt::spawn(async move {
        tokio::time::sleep(timeout).await;
        expire();
    });
}

/// Ends the drain now: everything still waiting in [`expired`] resolves.
pub fn expire() {
    if !EXPIRED.swap(true, Ordering::AcqRel) {
        tracing::warn!("drain timeout reached: answering 503 to requests still running");
    }
    NOTIFY.notify_waiters();
}

/// Resolves once the drain is over (at once if it already is). Cheap until polled while pending:
/// a request that finishes on its first poll never registers.
pub async fn expired() {
    let notified = NOTIFY.notified();
    if EXPIRED.load(Ordering::Acquire) {
        return;
    }
    notified.await;
}

/// The answer to a request the drain's end cut short.
pub fn cut_short() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "shutting_down",
        "the server is shutting down and stopped this request when its drain timeout ran out: \
         retry it (against another instance)",
    )
    .with_retry_after(Duration::from_secs(1))
}
