//! `mcp server`: Model Context Protocol tools over stdio or streamable HTTP, through the official
//! Rust SDK (rmcp). `tools/list` is the description, `tools/call` the action. The backend keeps
//! its server alive itself: a server that exits or breaks its stream is restarted with backoff,
//! and while it is down calls answer `Unavailable` at once.

mod call;
mod connect;
mod describe;
mod http;
mod redact;
mod settings;
mod stderr;
mod stdio;
mod supervise;

pub use settings::{McpSettings, McpTransport, DEFAULT_CALL_TIMEOUT, DEFAULT_START_TIMEOUT};

use crate::backend::{Readiness, ToolBackend, ToolError, ToolFuture, ToolRequest};
use futures_util::future::BoxFuture;
use redact::Redactor;
use rmcp::model::Tool;
use rmcp::service::Peer;
use rmcp::RoleClient;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How long shutdown waits for the server to exit on its own (stdin closed) before killing it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// One `mcp server` component: a supervised connection to one MCP server.
pub struct McpServer {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    settings: McpSettings,
    redactor: Redactor,
    state: Mutex<State>,
    /// `true` once shut down; dropping it (the backend dropped) also stops the supervisor.
    stop: watch::Sender<bool>,
}

struct State {
    readiness: Readiness,
    description: String,
    live: Option<Arc<Live>>,
    supervisor: Option<tokio::task::JoinHandle<()>>,
    started: bool,
}

/// The current connection as calls see it.
pub(crate) struct Live {
    peer: Peer<RoleClient>,
    tools: Vec<Tool>,
    /// Woken by a call that found the connection broken (an HTTP server gone away): the
    /// supervisor then reconnects instead of waiting for the transport to notice.
    broken: Notify,
}

impl McpServer {
    /// Builds the backend without touching the server, so construction never fails or blocks;
    /// `start()` spawns/connects and reports problems.
    pub fn new(settings: McpSettings) -> Self {
        let redactor = Redactor::new(settings.secrets());
        let (stop, _) = watch::channel(false);
        let description = format!("MCP server `{}`: not started yet.", settings.name);
        McpServer {
            inner: Arc::new(Inner {
                settings,
                redactor,
                state: Mutex::new(State {
                    readiness: Readiness::Starting,
                    description,
                    live: None,
                    supervisor: None,
                    started: false,
                }),
                stop,
            }),
        }
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `mcp server `x` (command `...`)`, the prefix of every message about this server.
    fn who(&self) -> String {
        format!(
            "mcp server `{}` ({})",
            self.settings.name,
            self.redactor.apply(&self.settings.location())
        )
    }

    /// Publishes a new connection; `None` (nothing published) once shutdown has begun, checked
    /// under the state lock so a late reconnect cannot mark a shut-down backend Ready.
    fn set_up(&self, tools: Vec<Tool>, peer: Peer<RoleClient>) -> Option<Arc<Live>> {
        let live = Arc::new(Live {
            peer,
            tools,
            broken: Notify::new(),
        });
        let mut st = self.state();
        if self.stopped() {
            return None;
        }
        st.description = describe::description(&live.tools);
        st.readiness = Readiness::Ready;
        st.live = Some(live.clone());
        Some(live)
    }

    fn set_down(&self, cause: &str) {
        let cause = self.redactor.apply(cause);
        let mut st = self.state();
        st.live = None;
        st.description = format!(
            "MCP server `{}` is down ({cause}); it is being restarted and its tools are \
             unavailable until then.",
            self.settings.name
        );
        st.readiness = Readiness::Down(cause);
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }
}

impl ToolBackend for McpServer {
    fn description(&self) -> String {
        self.inner.state().description.clone()
    }

    fn start(&self) -> BoxFuture<'static, Result<(), ToolError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            {
                let mut st = inner.state();
                if st.started {
                    return Ok(());
                }
                st.started = true;
                st.readiness = Readiness::Starting;
            }
            match connect::connect(&inner.settings, &inner.redactor).await {
                Ok(conn) => {
                    let Some(live) = inner.set_up(conn.tools.clone(), conn.service.peer().clone())
                    else {
                        return Err(ToolError::Unavailable(format!(
                            "{} was shut down",
                            inner.who()
                        )));
                    };
                    let handle = tokio::spawn(supervise::run(
                        Arc::downgrade(&inner),
                        inner.stop.subscribe(),
                        conn,
                        live,
                    ));
                    inner.state().supervisor = Some(handle);
                    Ok(())
                }
                Err(cause) => {
                    let msg = inner
                        .redactor
                        .apply(&format!("{}: could not start: {cause}", inner.who()));
                    let mut st = inner.state();
                    st.readiness =
                        Readiness::Down(inner.redactor.apply(&format!("could not start: {cause}")));
                    st.description = format!(
                        "MCP server `{}` could not start; its tools are unavailable.",
                        inner.settings.name
                    );
                    st.started = false;
                    Err(ToolError::Unavailable(msg))
                }
            }
        })
    }

    fn call(&self, request: ToolRequest) -> ToolFuture {
        Box::pin(call::call(self.inner.clone(), request))
    }

    fn readiness(&self) -> Readiness {
        self.inner.state().readiness.clone()
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        let inner = self.inner.clone();
        Box::pin(async move {
            inner.stop.send_replace(true);
            let handle = {
                let mut st = inner.state();
                st.live = None;
                st.readiness = Readiness::Down("shut down".into());
                st.supervisor.take()
            };
            if let Some(mut handle) = handle {
                // The supervisor closes the client, waits SHUTDOWN_GRACE, then kills the group.
                if tokio::time::timeout(SHUTDOWN_GRACE * 2, &mut handle)
                    .await
                    .is_err()
                {
                    handle.abort();
                }
            }
        })
    }
}

impl Drop for McpServer {
    fn drop(&mut self) {
        // Nobody can call a dropped backend: stop the server instead of leaking the process.
        self.inner.stop.send_replace(true);
    }
}
