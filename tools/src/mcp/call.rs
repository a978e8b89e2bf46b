//! One `tools/call`: pick the tool, check the inputs, bound the wait, and turn every outcome
//! into an observation or a `ToolError` the agent can act on.

use super::{describe, Inner};
use crate::backend::{ToolError, ToolRequest};
use crate::shown::json_kind as kind;
use rmcp::model::{CallToolRequestParams, ErrorCode};
use rmcp::service::ServiceError;
use serde_json::Value;
use std::sync::Arc;

pub(crate) async fn call(inner: Arc<Inner>, req: ToolRequest) -> Result<String, ToolError> {
    let live = {
        let st = inner.state();
        match &st.live {
            Some(live) => live.clone(),
            None => {
                let why = match &st.readiness {
                    crate::Readiness::Down(cause) => cause.clone(),
                    _ => "not started".to_string(),
                };
                return Err(ToolError::Unavailable(format!(
                    "{} is down: {why}",
                    inner.who()
                )));
            }
        }
    };
    let names = || {
        live.tools
            .iter()
            .map(|t| t.name.as_ref())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = match req.action.as_deref().map(str::trim) {
        Some(a) if !a.is_empty() => {
            if !live.tools.iter().any(|t| t.name == a) {
                return Err(ToolError::Failed(format!(
                    "unknown action `{a}`: this MCP server's tools are {}",
                    names()
                )));
            }
            a.to_string()
        }
        _ if live.tools.len() == 1 => live.tools[0].name.to_string(),
        _ if live.tools.is_empty() => {
            return Err(ToolError::Failed("this MCP server lists no tools".into()))
        }
        _ => {
            return Err(ToolError::Failed(format!(
                "name an action: one of {}",
                names()
            )))
        }
    };
    let args = match req.inputs {
        Value::Object(map) => map,
        Value::Null => Default::default(),
        other => {
            return Err(ToolError::Failed(format!(
                "the inputs must be a JSON object of the tool's arguments (see `{name}` in the \
                 tool description), not {}",
                kind(&other)
            )))
        }
    };
    let params = CallToolRequestParams::new(name).with_arguments(args);
    let timeout = inner.settings.call_timeout;
    match tokio::time::timeout(timeout, live.peer.call_tool(params)).await {
        Err(_) => Err(ToolError::Timeout(timeout)),
        Ok(Ok(result)) => {
            describe::observation(result).map_err(|e| ToolError::Failed(inner.redactor.apply(&e)))
        }
        Ok(Err(ServiceError::McpError(e))) => {
            let text = inner.redactor.apply(&e.message);
            Err(ToolError::Failed(if e.code == ErrorCode::INVALID_PARAMS {
                format!("invalid arguments: {text}")
            } else {
                text
            }))
        }
        Ok(Err(ServiceError::Timeout { .. })) => Err(ToolError::Timeout(timeout)),
        Ok(Err(e @ (ServiceError::TransportClosed | ServiceError::TransportSend(_)))) => {
            live.broken.notify_one();
            Err(ToolError::Unavailable(inner.redactor.apply(&format!(
                "{}: the connection broke during the call ({}); restarting it",
                inner.who(),
                super::connect::service_error(&e)
            ))))
        }
        Ok(Err(e)) => Err(ToolError::Failed(
            inner.redactor.apply(&super::connect::chain(&e)),
        )),
    }
}
