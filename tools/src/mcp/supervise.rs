//! Keeping the server alive after a successful start: wait for it to exit, break its stream or
//! be reported broken by a call; kill what is left of it; reconnect with backoff; repeat until
//! shutdown.

use super::connect::{self, Connection};
use super::{Inner, Live, SHUTDOWN_GRACE};
use crate::backoff::Backoff;
use rmcp::model::{ClientRequest, PingRequest};
use rmcp::service::{Peer, ServiceError};
use rmcp::RoleClient;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A connection that stayed up this long resets the backoff.
const STABLE: Duration = Duration::from_secs(10);
/// An HTTP server is pinged this often when idle, so /health notices it went away without
/// waiting for a call to fail (a stdio server's exit is seen at once).
const PING_EVERY: Duration = Duration::from_secs(10);
const PING_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn run(
    inner: Weak<Inner>,
    mut stop: watch::Receiver<bool>,
    mut conn: Connection,
    mut live: Arc<Live>,
) {
    // 100 ms doubling to 5 s: a server that crashed once is back at once, a crash loop costs little.
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        let up_since = Instant::now();
        // Only stdio servers have a process group; HTTP ones need pings to be watched.
        let pinged = conn.group.is_none();
        let group = conn.group.take();
        let peer = live.peer.clone();
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
            cause = unreachable_by_ping(&peer), if pinged => {
                ct.cancel();
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, &mut waiting).await;
                cause
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
                    let Some(l) = strong.set_up(c.tools.clone(), c.service.peer().clone()) else {
                        return;
                    };
                    tracing::info!(component = %strong.settings.name, tools = c.tools.len(), "MCP server restarted");
                    live = l;
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

/// Pings every `PING_EVERY`; resolves with the cause once a ping fails at the transport (a
/// slow answer is not a failure: a busy server is not a dead one).
async fn unreachable_by_ping(peer: &Peer<RoleClient>) -> String {
    loop {
        tokio::time::sleep(PING_EVERY).await;
        let ping = ClientRequest::PingRequest(PingRequest::default());
        match tokio::time::timeout(PING_TIMEOUT, peer.send_request(ping)).await {
            Ok(Err(e @ (ServiceError::TransportSend(_) | ServiceError::TransportClosed))) => {
                return format!(
                    "the server stopped answering: {}",
                    connect::service_error(&e)
                );
            }
            _ => continue,
        }
    }
}

/// Resolves once shutdown was asked for or the backend is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
