//! The WebSocket `/input` of an `input api` port. A socket is one session: it is greeted with
//! `session.connected`, each input it sends runs one turn in that session (one at a time, later
//! ones queued, boundedly), and it is sent that turn's events then the final `agent.response` (or
//! `agent.error` when the turn failed). Bad frames get an `error` frame and the socket stays open.
//!
//! Bounds: open sockets per port ([`MAX_SOCKETS`]), frame size ([`MAX_FRAME`] answered with an
//! error; past [`HARD_FRAME`] the socket is closed 1009), queued inputs per socket
//! ([`MAX_QUEUED`]), the time a send may wait on a client that does not read ([`SEND_TIMEOUT`]),
//! and a ping every [`PING_EVERY`] that closes a peer silent for [`PEER_TIMEOUT`]. A socket that
//! closes mid-answer drops its turn's event stream, which cancels the turn.

use super::error::InputApiError;
use super::frames::{self, ClientFrame, FrameError, ServerFrame};
use super::state::{ApiState, SocketSlot};
use crate::server::drain;
use crate::server::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use woodwork_runtime::envelope::now_unix;
use woodwork_runtime::{EventStream, InputRequest, InputResponse, RuntimeError, RuntimeEvent};

/// Open WebSockets per `input api` port; past it an upgrade is answered 503.
pub const MAX_SOCKETS: usize = 1024;
/// Largest text frame read as input; a larger one is answered with an `error` frame.
pub const MAX_FRAME: usize = 64 * 1024;
/// Largest frame (or fragmented message) read at all: past it the socket is closed (1009), since
/// the rest of such a frame cannot be skipped. Bounds a socket's read buffer.
pub const HARD_FRAME: usize = 256 * 1024;
/// Inputs waiting behind a running turn on one socket; more are answered with an `error` frame.
pub const MAX_QUEUED: usize = 16;
/// How long one frame may wait for a client that is not reading before the socket is closed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The server pings this often.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// A peer that sent nothing (not even a pong) for this long is closed.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// `GET /input` with an upgrade: opens the socket (503 when the port is draining or full).
pub async fn open(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, InputApiError> {
    if state.is_draining() {
        return Err(ApiError::shutting_down().into());
    }
    let state = state.into_inner();
    let Some(slot) = state.open_socket(MAX_SOCKETS) else {
        tracing::warn!(component = %state.component, "WebSocket refused: {MAX_SOCKETS} already open");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_sockets",
            format!(
                "input api `{}` already has {MAX_SOCKETS} WebSockets open: retry later, or close \
                 idle ones",
                state.component
            ),
        )
        .with_retry_after(Duration::from_secs(1))
        .into());
    };
    let (res, session, stream) = actix_ws::handle(&req, body).map_err(|e| {
        ApiError::bad_request(
            "not_websocket",
            format!(
                "GET /input is the WebSocket endpoint ({e}): connect with a WebSocket client \
                 (ws://…/input), or POST /input with {{\"input\": \"hello\"}}"
            ),
        )
    })?;
    let stream = stream
        .max_frame_size(HARD_FRAME)
        .aggregate_continuations()
        .max_continuation_size(HARD_FRAME);
    let socket = Socket {
        session_id: uuid::Uuid::new_v4().to_string(),
        subscribed: vec!["*".to_string()],
        turn: None,
        queue: VecDeque::new(),
        closing: false,
        last_seen: Instant::now(),
        session,
        state,
        _slot: slot,
    };
    actix_rt::spawn(socket.run(stream));
    Ok(res)
}

/// Why the loop stopped, and how the socket is closed.
enum End {
    /// The peer closed or vanished: nothing more to send.
    Gone,
    /// We close it with this code and reason.
    Close(CloseCode, &'static str),
}

/// One step of the loop.
enum Step {
    Event(Option<RuntimeEvent>),
    Frame(Option<Result<AggregatedMessage, actix_ws::ProtocolError>>),
    Tick,
    Shutdown,
    DrainExpired,
}

struct Socket {
    state: Arc<ApiState>,
    session: Session,
    session_id: String,
    subscribed: Vec<String>,
    /// The running turn's events; dropping it cancels the turn.
    turn: Option<EventStream>,
    queue: VecDeque<String>,
    /// Shutdown began: no new input; close once the running turn ends.
    closing: bool,
    last_seen: Instant,
    _slot: SocketSlot,
}

/// `input.received` carries the bare input inside the runtime; woodwork's clients read it as
/// `{input, inputs, session_id, component_id, component_type}`. Other payloads already are.
fn woodwork_payload(env: &woodwork_runtime::Envelope) -> Option<Value> {
    if env.event_type != woodwork_runtime::EventType::InputReceived || env.payload.is_object() {
        return None;
    }
    Some(json!({
        "input": &*env.payload,
        "inputs": {},
        "session_id": &*env.session_id,
        "component_id": &*env.sender,
        "component_type": "input",
    }))
}

async fn next_event(turn: &mut Option<EventStream>) -> Option<RuntimeEvent> {
    match turn {
        Some(events) => events.next().await,
        None => std::future::pending().await,
    }
}

impl Socket {
    async fn run(mut self, mut stream: AggregatedMessageStream) {
        let component = self.state.component.clone();
        tracing::info!(component = %component, session_id = %self.session_id, "WebSocket opened");
        let hello = json!({"session_id": self.session_id, "subscribed_components": ["*"]});
        let end = if self
            .send_frame("session.connected", &hello, &component)
            .await
        {
            self.serve(&mut stream).await
        } else {
            End::Gone
        };
        // A turn still running belongs to a socket that is going away: cancel it.
        if self.turn.take().is_some() {
            tracing::info!(component = %component, session_id = %self.session_id,
                "WebSocket closed mid-answer; cancelling the turn");
        }
        if let End::Close(code, why) = end {
            let reason = CloseReason {
                code,
                description: Some(why.to_string()),
            };
            let _ = tokio::time::timeout(SEND_TIMEOUT, self.session.close(Some(reason))).await;
        }
        tracing::info!(component = %component, session_id = %self.session_id, "WebSocket closed");
    }

    async fn serve(&mut self, stream: &mut AggregatedMessageStream) -> End {
        let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        let mut shutdown = self.state.shutdown_signal();
        if *shutdown.borrow_and_update() {
            return End::Close(CloseCode::Away, "the server is shutting down");
        }
        let drained = drain::expired();
        tokio::pin!(drained);
        loop {
            let (closing, running) = (self.closing, self.turn.is_some());
            let step = tokio::select! {
                ev = next_event(&mut self.turn) => Step::Event(ev),
                msg = stream.recv() => Step::Frame(msg),
                _ = ping.tick() => Step::Tick,
                _ = shutdown.changed(), if !closing => Step::Shutdown,
                _ = &mut drained, if closing && running => Step::DrainExpired,
            };
            let outcome = match step {
                Step::Event(ev) => self.on_event(ev).await,
                Step::Frame(msg) => self.on_frame(msg).await,
                Step::Tick => {
                    if self.last_seen.elapsed() > PEER_TIMEOUT {
                        tracing::info!(session_id = %self.session_id, "WebSocket peer silent; closing");
                        Err(End::Close(CloseCode::Policy, "no answer to pings"))
                    } else {
                        let pinged =
                            tokio::time::timeout(SEND_TIMEOUT, self.session.ping(b"")).await;
                        match pinged {
                            Ok(Ok(())) => Ok(()),
                            _ => Err(End::Gone),
                        }
                    }
                }
                Step::Shutdown => {
                    self.closing = true;
                    self.refuse_queued().await
                }
                Step::DrainExpired => {
                    self.turn = None;
                    let e = drain::cut_short();
                    self.send_failure(&e).await;
                    Err(End::Close(CloseCode::Away, "the server is shutting down"))
                }
            };
            if let Err(end) = outcome {
                return end;
            }
            if self.closing && self.turn.is_none() {
                return End::Close(CloseCode::Away, "the server is shutting down");
            }
        }
    }

    /// An event of the running turn, or its end.
    async fn on_event(&mut self, ev: Option<RuntimeEvent>) -> Result<(), End> {
        let sent = match ev {
            Some(RuntimeEvent::Event(env)) => {
                if !frames::forwarded(env.event_type) || !self.wants(&env.sender) {
                    return Ok(());
                }
                let payload = woodwork_payload(&env);
                let frame = ServerFrame {
                    event: env.event_type.as_str(),
                    payload: payload.as_ref().unwrap_or(&*env.payload),
                    sender: &env.sender,
                    session_id: &env.session_id,
                    timestamp: env.created_at,
                };
                self.send_text(frame.text()).await
            }
            Some(RuntimeEvent::Done(resp)) => {
                self.turn = None;
                self.send_answer(&resp).await
            }
            Some(RuntimeEvent::Failed(e)) => {
                self.turn = None;
                self.send_failure(&ApiError::from(e)).await
            }
            None => {
                self.turn = None;
                let e = RuntimeError::ComponentFailed {
                    component: self.state.component.clone(),
                    message: "the event stream ended without a final response".into(),
                };
                self.send_failure(&ApiError::from(e)).await
            }
        };
        if !sent {
            return Err(End::Gone);
        }
        if self.turn.is_none() && !self.closing {
            if let Some(next) = self.queue.pop_front() {
                return self.start_turn(next).await;
            }
        }
        Ok(())
    }

    /// A frame from the client.
    async fn on_frame(
        &mut self,
        msg: Option<Result<AggregatedMessage, actix_ws::ProtocolError>>,
    ) -> Result<(), End> {
        self.last_seen = Instant::now();
        let refused = match msg {
            None => return Err(End::Gone),
            Some(Ok(AggregatedMessage::Close(_))) => {
                return Err(End::Close(CloseCode::Normal, "closed by the client"))
            }
            Some(Ok(AggregatedMessage::Ping(b))) => {
                return match tokio::time::timeout(SEND_TIMEOUT, self.session.pong(&b)).await {
                    Ok(Ok(())) => Ok(()),
                    _ => Err(End::Gone),
                };
            }
            Some(Ok(AggregatedMessage::Pong(_))) => return Ok(()),
            Some(Ok(AggregatedMessage::Binary(b))) => FrameError {
                code: "binary_frame",
                message: format!(
                    "binary frames are not read ({} bytes ignored): send text, JSON like \
                     {{\"type\": \"user_input\", \"input\": \"hello\"}} or plain",
                    b.len()
                ),
            },
            Some(Ok(AggregatedMessage::Text(text))) if text.len() > MAX_FRAME => FrameError {
                code: "frame_too_large",
                message: format!(
                    "a frame of {} bytes is over the {MAX_FRAME}-byte limit: send shorter input",
                    text.len()
                ),
            },
            Some(Ok(AggregatedMessage::Text(text))) => match frames::parse(&text) {
                Ok(ClientFrame::Input(input)) => return self.take_input(input).await,
                Ok(ClientFrame::Subscribe(components)) => return self.subscribe(components).await,
                Err(e) => e,
            },
            Some(Err(actix_ws::ProtocolError::Overflow)) => {
                let e = FrameError {
                    code: "frame_too_large",
                    message: format!(
                        "a frame over {HARD_FRAME} bytes closes the socket: send input under \
                         {MAX_FRAME} bytes"
                    ),
                };
                self.send_error(&e).await;
                return Err(End::Close(CloseCode::Size, "frame too large"));
            }
            Some(Err(e)) => {
                tracing::info!(session_id = %self.session_id, "WebSocket protocol error: {e}");
                return Err(End::Close(CloseCode::Protocol, "protocol error"));
            }
        };
        tracing::debug!(session_id = %self.session_id, code = refused.code, "frame refused");
        if self.send_error(&refused).await {
            Ok(())
        } else {
            Err(End::Gone)
        }
    }

    /// Input: run now, or queue behind the running turn.
    async fn take_input(&mut self, input: String) -> Result<(), End> {
        let refused = if self.closing {
            Some(FrameError {
                code: "shutting_down",
                message: "the server is shutting down and takes no new input: reconnect to \
                          another instance"
                    .into(),
            })
        } else if self.turn.is_none() {
            return self.start_turn(input).await;
        } else if self.queue.len() >= MAX_QUEUED {
            Some(FrameError {
                code: "busy",
                message: format!(
                    "{MAX_QUEUED} inputs are already waiting behind the running one: wait for \
                     their answers before sending more"
                ),
            })
        } else {
            self.queue.push_back(input);
            None
        };
        match refused {
            Some(e) if !self.send_error(&e).await => Err(End::Gone),
            _ => Ok(()),
        }
    }

    async fn start_turn(&mut self, input: String) -> Result<(), End> {
        let request = InputRequest {
            component: self.state.component.clone(),
            input: Value::String(input),
            session_id: Some(self.session_id.clone()),
            deadline: Some(self.state.settings.deadline),
            ..InputRequest::default()
        };
        match self.state.runtime.send_stream(request).await {
            Ok(events) => {
                self.turn = Some(events);
                Ok(())
            }
            Err(e) => {
                if self.send_failure(&ApiError::from(e)).await {
                    Ok(())
                } else {
                    Err(End::Gone)
                }
            }
        }
    }

    /// Adds components to the socket's list (woodwork's semantics) and acknowledges.
    async fn subscribe(&mut self, components: Vec<String>) -> Result<(), End> {
        for c in components {
            if !self.subscribed.contains(&c) && self.subscribed.len() <= frames::MAX_SUBSCRIBE {
                self.subscribed.push(c);
            }
        }
        let payload = json!({"subscribed_components": self.subscribed});
        let component = self.state.component.clone();
        if self
            .send_frame("session.subscribed", &payload, &component)
            .await
        {
            Ok(())
        } else {
            Err(End::Gone)
        }
    }

    /// Inputs still queued at shutdown are answered, not silently dropped.
    async fn refuse_queued(&mut self) -> Result<(), End> {
        let n = self.queue.len();
        self.queue.clear();
        if n == 0 {
            return Ok(());
        }
        let e = FrameError {
            code: "shutting_down",
            message: format!(
                "the server is shutting down: {n} queued input(s) were not run; send them to \
                 another instance"
            ),
        };
        if self.send_error(&e).await {
            Ok(())
        } else {
            Err(End::Gone)
        }
    }

    fn wants(&self, sender: &str) -> bool {
        self.subscribed.iter().any(|s| s == "*" || s == sender)
    }

    /// The final `agent.response`: `payload.response` is the answer's text.
    async fn send_answer(&mut self, resp: &InputResponse) -> bool {
        let sender = resp
            .outputs
            .first()
            .map(|o| o.component.clone())
            .unwrap_or_else(|| self.state.component.clone());
        let mut payload = json!({
            "response": resp.text().unwrap_or_default(),
            "session_id": resp.session_id,
            "component_id": sender,
        });
        if resp.outputs.len() > 1 {
            payload["outputs"] = json!(resp.outputs);
        }
        self.send_frame("agent.response", &payload, &sender).await
    }

    /// A turn that failed ends with `agent.error` carrying the HTTP API's code and message.
    async fn send_failure(&mut self, e: &ApiError) -> bool {
        tracing::info!(session_id = %self.session_id, code = e.code, "turn failed: {}", e.message);
        let component = self.state.component.clone();
        let payload = json!({
            "error": e.message,
            "code": e.code,
            "status": e.status.as_u16(),
            "component_id": component,
        });
        self.send_frame("agent.error", &payload, &component).await
    }

    /// An `error` frame for a refused client frame.
    async fn send_error(&mut self, e: &FrameError) -> bool {
        let component = self.state.component.clone();
        let payload = json!({"error": e.message, "code": e.code});
        self.send_frame("error", &payload, &component).await
    }

    async fn send_frame(&mut self, event: &str, payload: &Value, sender: &str) -> bool {
        let text = ServerFrame {
            event,
            payload,
            sender,
            session_id: &self.session_id,
            timestamp: now_unix(),
        }
        .text();
        self.send_text(text).await
    }

    /// False when the client is gone or has not read for [`SEND_TIMEOUT`].
    async fn send_text(&mut self, text: String) -> bool {
        match tokio::time::timeout(SEND_TIMEOUT, self.session.text(text)).await {
            Ok(Ok(())) => true,
            Ok(Err(_)) => false,
            Err(_) => {
                tracing::info!(session_id = %self.session_id, "WebSocket client is not reading; closing");
                false
            }
        }
    }
}
