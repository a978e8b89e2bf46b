//! One connection attempt: spawn or connect, `initialize`, `tools/list` (all pages), all within
//! the start bound; on failure everything started is killed and the cause is put in words.

use super::http;
use super::redact::Redactor;
use super::settings::{McpSettings, McpTransport};
use super::stderr::StderrTail;
use super::stdio::{self, ProcessGroup};
use rmcp::model::{ClientCapabilities, Implementation, InitializeRequestParams, Tool};
use rmcp::service::{ClientInitializeError, RunningService, ServiceExt};
use rmcp::RoleClient;
use std::time::Duration;

/// How long a failed server gets to flush its stderr before the start error is written.
const STDERR_GRACE: Duration = Duration::from_millis(300);

/// A live, initialized server and what it offers.
pub(crate) struct Connection {
    pub service: RunningService<RoleClient, InitializeRequestParams>,
    pub tools: Vec<Tool>,
    /// The stdio server's process group (none over HTTP).
    pub group: Option<ProcessGroup>,
}

fn client_info() -> InitializeRequestParams {
    InitializeRequestParams::new(
        ClientCapabilities::default(),
        Implementation::new("woodwork-actors", env!("CARGO_PKG_VERSION")),
    )
}

/// Connects once. The error is the cause only (the caller says which component and where).
pub(crate) async fn connect(
    settings: &McpSettings,
    redactor: &Redactor,
) -> Result<Connection, String> {
    let bound = settings.start_timeout;
    match &settings.transport {
        McpTransport::Stdio { command, env, cwd } => {
            let tail = StderrTail::default();
            let (child, group) = stdio::spawn(&settings.name, command, env, cwd, redactor, &tail)?;
            let attempt = tokio::time::timeout(bound, handshake(client_info().serve(child))).await;
            match attempt {
                Ok(Ok((service, tools))) => Ok(Connection {
                    service,
                    tools,
                    group: Some(group),
                }),
                failed => {
                    group.kill();
                    tokio::time::sleep(STDERR_GRACE).await;
                    let cause = match failed {
                        Ok(Err(e)) => redactor.apply(&e),
                        _ => format!(
                            "no answer to `initialize` within {}s (an MCP stdio server must speak \
                             JSON-RPC on stdout)",
                            bound.as_secs_f64()
                        ),
                    };
                    Err(format!("{cause}{}", tail.summary()))
                }
            }
        }
        McpTransport::Http { url, headers } => {
            let transport = http::transport(url, headers, bound)?;
            match tokio::time::timeout(bound, handshake(client_info().serve(transport))).await {
                Ok(Ok((service, tools))) => Ok(Connection {
                    service,
                    tools,
                    group: None,
                }),
                Ok(Err(e)) => Err(redactor.apply(&e)),
                Err(_) => Err(format!(
                    "no answer to `initialize` within {}s (is the url an MCP streamable HTTP \
                     endpoint?)",
                    bound.as_secs_f64()
                )),
            }
        }
    }
}

async fn handshake(
    serve: impl std::future::Future<
        Output = Result<RunningService<RoleClient, InitializeRequestParams>, ClientInitializeError>,
    >,
) -> Result<
    (
        RunningService<RoleClient, InitializeRequestParams>,
        Vec<Tool>,
    ),
    String,
> {
    let service = serve.await.map_err(|e| init_error(&e))?;
    match service.peer().list_all_tools().await {
        Ok(tools) => Ok((service, tools)),
        Err(e) => {
            let cause = format!("`tools/list` failed: {}", service_error(&e));
            // Cancelling closes the transport (and so the child's stdin).
            let _ = service.cancel().await;
            Err(cause)
        }
    }
}

fn init_error(e: &ClientInitializeError) -> String {
    let mut s = match e {
        ClientInitializeError::ConnectionClosed(_) => {
            return "the server closed the connection before answering `initialize` (it exited, \
                    or it is not an MCP server)"
                .to_string()
        }
        ClientInitializeError::TransportError { error, .. } => {
            format!("`initialize` failed: {}", transport_chain(error))
        }
        other => format!("`initialize` failed: {}", chain(other)),
    };
    if e.is_authorization_required() {
        s.push_str(" (the server wants authorization: check `headers`)");
    }
    s
}

/// A transport error without rmcp's type-name wrapper, down to the root cause ("Connection
/// refused").
pub(crate) fn transport_chain(e: &rmcp::transport::DynamicTransportError) -> String {
    chain(e.error.as_ref())
}

/// An error and its sources, `: `-joined, each only once.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = next_cause(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = next_cause(s);
    }
    out
}

/// The error's source, including the reqwest error rmcp wraps without declaring it a source
/// (so "Connection refused" reaches the operator).
fn next_cause<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    use rmcp::transport::streamable_http_client::StreamableHttpError;
    if let Some(StreamableHttpError::Client(inner)) =
        e.downcast_ref::<StreamableHttpError<rmcp_reqwest::Error>>()
    {
        return Some(inner);
    }
    e.source()
}

/// A call's error in words, transport errors without rmcp's type names.
pub(crate) fn service_error(e: &rmcp::service::ServiceError) -> String {
    match e {
        rmcp::service::ServiceError::TransportSend(t) => transport_chain(t),
        rmcp::service::ServiceError::TransportClosed => "the connection closed".to_string(),
        other => chain(other),
    }
}
