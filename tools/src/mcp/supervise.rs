//! Keeping the server alive after a successful start: wait for it to exit, break its stream or
//! be reported broken by a call; kill what is left of it; reconnect with backoff; repeat until
//! shutdown.

use super::backoff::Backoff;
use super::connect::{self, Connection};
use super::{Inner, Live, SHUTDOWN_GRACE};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A connection that stayed up this long resets the backoff.
const STABLE: Duration = Duration::from_secs(10);

pub(crate) async fn run(
    inner: Weak<Inner>,
    mut stop: watch::Receiver<bool>,
    mut conn: Connection,
    mut live: Arc<Live>,
) {
    let mut backoff = Backoff::new();
    loop {
        let up_since = Instant::now();
        let group = conn.group.take();
        let ct = conn.service.cancellation_token();
        let waiting = conn.service.waiting();
        tokio::pin!(waiting);
        let cause = tokio::select! {
            _ = &mut waiting => "the server exited or closed its connection".to_string(),
            _ = live.broken.notified() => {
                ct.cancel();
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, &mut waiting).await;
                "a call found the connection broken".to_string()
            }
            _ = stopped(&mut stop) => {
                // Closing the client closes the server's stdin: a polite server exits.
                ct.cancel();
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, &mut waiting).await;
                drop(group);
                return;
            }
        };
        // Kill what is left: the process group also holds a wrapper's children.
        drop(group);
        drop(live);
        let Some(strong) = inner.upgrade() else {
            return;
        };
        tracing::warn!(component = %strong.settings.name, cause = %cause, "MCP server down; restarting");
        strong.set_down(&cause);
        drop(strong);
        if up_since.elapsed() >= STABLE {
            backoff.reset();
        }
        // Reconnect until it works or we are stopped.
        loop {
            tokio::select! {
                _ = tokio::time::sleep(backoff.next_delay()) => {}
                _ = stopped(&mut stop) => return,
            }
            let Some(strong) = inner.upgrade() else {
                return;
            };
            let attempt = tokio::select! {
                r = connect::connect(&strong.settings, &strong.redactor) => r,
                _ = stopped(&mut stop) => return,
            };
            match attempt {
                Ok(c) => {
                    if *stop.borrow() {
                        return;
                    }
                    tracing::info!(component = %strong.settings.name, tools = c.tools.len(), "MCP server restarted");
                    live = strong.set_up(c.tools.clone(), c.service.peer().clone());
                    conn = c;
                    break;
                }
                Err(e) => {
                    tracing::warn!(component = %strong.settings.name, error = %strong.redactor.apply(&e), "MCP server restart failed");
                    strong.set_down(&format!("restart failed: {e}"));
                }
            }
        }
    }
}

/// Resolves once shutdown was asked for or the backend is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
