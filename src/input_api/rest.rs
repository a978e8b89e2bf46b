//! The REST side of woodwork's input protocol: `GET /` (what this port serves), `GET /health`
//! (the runtime's health seen from this component), `POST /input {"input", "session_id"?}` →
//! `{"status": "success", "message": "Input processed", "output", "session_id"}`.

use super::error::InputApiError;
use super::state::ApiState;
use crate::server::error::ApiError;
use crate::server::input_body;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use woodwork_runtime::{HealthStatus, InputRequest};

/// `GET /`: the component and its endpoints, as woodwork's own server describes itself.
pub async fn root(state: web::Data<ApiState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "component": state.component,
        "type": "input api",
        "description": "woodwork input API: send input over REST or WebSocket",
        "endpoints": {
            "websocket": "/input",
            "rest_input": "/input",
            "health": "/health",
        },
    }))
}

/// `GET /health`: `status` is the runtime's (503 when unhealthy), with this component's state and
/// the open WebSockets.
pub async fn health(state: web::Data<ApiState>) -> HttpResponse {
    let report = state.runtime.health();
    let mine = report.components.get(&state.component);
    let status = if state.is_draining() || report.status == HealthStatus::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    HttpResponse::build(status).json(json!({
        "status": if state.is_draining() { json!("draining") } else { json!(report.status) },
        "component": state.component,
        "state": mine.map(|c| json!(c.state)),
        "websocket_sessions": state.socket_count(),
        "uptime_s": report.uptime_s,
    }))
}

/// The body of `POST /input`. Unknown fields are ignored, as woodwork's own server does.
#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    session_id: Option<Value>,
}

/// The success answer.
#[derive(Serialize)]
struct Answer<'a> {
    status: &'static str,
    message: &'static str,
    output: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs: Option<&'a [woodwork_runtime::ComponentOutput]>,
    session_id: &'a str,
}

/// `POST /input`: runs the pipeline from this component and answers when it ends.
pub async fn post_input(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, InputApiError> {
    if state.is_draining() {
        return Err(ApiError::shutting_down().into());
    }
    let limits = &state.settings;
    let body =
        input_body::read_bounded(&req, payload, limits.max_body, limits.body_timeout).await?;
    let body: Body = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_body",
            format!(
                "malformed JSON body ({e}): send {{\"input\": \"hello\", \"session_id\": \"optional-id\"}}"
            ),
        )
    })?;
    let input = input_text(body.input)?;
    let session_id = match body.session_id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            input_body::check_session_id(&s, "`session_id`")?;
            Some(s)
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "bad_session_id",
                "`session_id` must be a string (a UUID works); omit it to start a new session",
            )
            .into())
        }
    };
    let request = InputRequest {
        component: state.component.clone(),
        input: Value::String(input),
        session_id,
        deadline: Some(limits.deadline),
        ..InputRequest::default()
    };
    // A client that goes away drops this future, which cancels the turn.
    let resp = state.runtime.send(request).await?;
    static NULL: Value = Value::Null;
    Ok(HttpResponse::Ok().json(Answer {
        status: "success",
        message: "Input processed",
        output: resp.outputs.first().map(|o| &o.output).unwrap_or(&NULL),
        outputs: (resp.outputs.len() > 1).then_some(resp.outputs.as_slice()),
        session_id: &resp.session_id,
    }))
}

/// The input text: a string that is not blank (400 `Input is required` otherwise, woodwork's
/// message for a missing or empty input).
pub fn input_text(input: Option<Value>) -> Result<String, ApiError> {
    match input {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            Err(ApiError::bad_request("input_required", "Input is required"))
        }
        Some(other) => Err(ApiError::bad_request(
            "bad_input",
            format!(
                "`input` must be a string, not {}: send {{\"input\": \"hello\"}}",
                woodwork_tools::shown::json_kind(&other)
            ),
        )),
    }
}

/// Anything the routes do not serve: 404, or 405 on a known path, in this port's error shape.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    let allow = match path {
        "/" | "/health" => Some("GET, HEAD"),
        "/input" => Some("GET, POST"),
        _ => None,
    };
    let method = req.method().as_str();
    InputApiError(match allow {
        Some(allow) => ApiError::method_not_allowed(method, path, allow),
        None => ApiError::not_found(
            "not_found",
            format!(
                "no route for {method} {}: this input api serves GET /, GET /health, POST /input \
                 and the WebSocket /input",
                crate::server::error::printable(path)
            ),
        ),
    })
    .error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_empty_and_blank_inputs_are_woodworks_400() {
        for v in [None, Some(Value::Null), Some(json!("")), Some(json!("  "))] {
            let e = input_text(v).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.message.as_str()),
                (400, "Input is required")
            );
        }
        let e = input_text(Some(json!(42))).unwrap_err();
        assert!(e.message.contains("not a number"), "{}", e.message);
        assert_eq!(input_text(Some(json!("hi"))).unwrap(), "hi");
    }
}
