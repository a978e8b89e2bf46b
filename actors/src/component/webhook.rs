//! `output webhook { url, headers?, timeout?, retries? }` (DESIGN.md §5): each final answer it
//! receives is POSTed as `{session_id, component, output, trace_id, timestamp}`.
//!
//! The delivery is a side effect that must not lose the answer: the caller gets the answer at
//! once, as from any output, and the POST runs beside it. A 5xx, a timeout (`timeout` seconds per
//! attempt, default 10) or a connection error is retried `retries` times (default 3) with the
//! runtime's one exponential backoff with jitter ([`crate::bus::retry::backoff`], between the
//! component's supervision `backoff_min` and `backoff_max`); a 4xx, a redirect loop (more than
//! [`MAX_REDIRECTS`] hops) or the last failure puts the answer in the dead-letter queue as
//! `webhook_failed` (replaying the letter POSTs it again) and counts in the component's `failed`.
//! Deliveries in flight are bounded by the component's mailbox capacity; an answer arriving
//! past that bound goes to the dead-letter queue at once rather than wait without bound.
//!
//! Header values are secrets: they are sent and never logged, shown in errors or in
//! `/components`; the URL is shown without credentials or query (`public_url`).

use super::work::{Produced, Work};
use crate::bus::retry::backoff;
use crate::bus::{DeadLetterReason, MessageBus};
use crate::cell::ComponentCell;
use crate::envelope::{now_unix, Envelope, EventType};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use woodwork_parser::spec::{Spec, SpecError};
use woodwork_parser::Component;

/// Redirects followed per POST; one more is a failure (a redirect loop ends here).
pub const MAX_REDIRECTS: usize = 5;

/// Where and how answers are POSTed: read once from the spec when the component starts.
struct Target {
    url: reqwest::Url,
    /// The URL as shown in logs, errors and dead letters: no credentials, no query.
    shown: String,
    /// Header values are marked sensitive (never printed by reqwest's Debug).
    headers: HeaderMap,
    timeout: Duration,
    retries: u32,
    backoff_min: Duration,
    backoff_max: Duration,
}

/// The behaviour of an `output webhook`.
pub struct Webhook {
    target: Arc<Target>,
    bus: Arc<dyn MessageBus>,
    /// Deliveries in flight; a permit is held from the first POST to the last.
    inflight: Arc<Semaphore>,
    bound: usize,
    /// Where deliveries run, so shutdown waits for them (`Services::background`).
    tracker: TaskTracker,
}

/// Why an `output webhook` cannot start; `context` names the component, and no message shows a
/// header's value.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSetupError {
    /// Its props do not read as a webhook spec (a hand-built config with a wrong type).
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{context}: not an `output webhook`")]
    NotAWebhook { context: String },
    /// The shared client could not be built (TLS backend initialisation); every webhook fails alike.
    #[error("cannot create the webhook HTTP client: {0}")]
    Client(#[source] Arc<reqwest::Error>),
    #[error("{context}: `url`: {source}; write e.g. url: \"https://example.com/hook\"")]
    Url {
        context: String,
        source: crate::hooks::webhook::WebhookUrlError,
    },
    #[error("{context}: `headers`: `{name}` is not a valid HTTP header name")]
    HeaderName { context: String, name: String },
    #[error("{context}: `headers`: the value of `{name}` is not a valid HTTP header value (printable ASCII, no line breaks)")]
    HeaderValue { context: String, name: String },
    #[error("{context}: `timeout` must be above 0 seconds")]
    ZeroTimeout { context: String },
    #[error("{context}: `retries` is {retries}; use at most {max}")]
    TooManyRetries {
        context: String,
        retries: u64,
        max: u64,
    },
}

/// One client for every webhook output (connection pools shared), with bounded redirects.
fn client() -> Result<&'static reqwest::Client, WebhookSetupError> {
    static CLIENT: OnceLock<Result<reqwest::Client, Arc<reqwest::Error>>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
                .build()
                .map_err(Arc::new)
        })
        .as_ref()
        .map_err(|e| WebhookSetupError::Client(e.clone()))
}

impl Webhook {
    /// The behaviour for `c`; an error (naming the component and the key, never a header's
    /// value) means the component cannot start.
    pub fn new(
        c: &Component,
        bus: Arc<dyn MessageBus>,
        bound: usize,
        tracker: TaskTracker,
    ) -> Result<Webhook, WebhookSetupError> {
        let context = woodwork_parser::spec::context(c);
        let spec = match c.spec()? {
            Spec::Webhook(w) => w,
            _ => return Err(WebhookSetupError::NotAWebhook { context }),
        };
        client()?;
        let url = crate::hooks::webhook::validate(&spec.url).map_err(|source| {
            WebhookSetupError::Url {
                context: context.clone(),
                source,
            }
        })?;
        let shown = woodwork_tools::shown::public_url(url.as_str())
            .unwrap_or_else(|| "webhook".to_string());
        let mut headers = HeaderMap::new();
        for (name, value) in &spec.headers {
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                WebhookSetupError::HeaderName {
                    context: context.clone(),
                    name: name.to_string(),
                }
            })?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
                WebhookSetupError::HeaderValue {
                    context: context.clone(),
                    name: name.to_string(),
                }
            })?;
            value.set_sensitive(true);
            headers.insert(header, value);
        }
        let timeout = c.timeout.unwrap_or(Duration::from_secs_f64(
            woodwork_parser::schema::defaults::WEBHOOK_TIMEOUT_S,
        ));
        if timeout.is_zero() {
            return Err(WebhookSetupError::ZeroTimeout { context });
        }
        let max = woodwork_parser::schema::defaults::WEBHOOK_MAX_RETRIES as u64;
        if spec.retries > max {
            return Err(WebhookSetupError::TooManyRetries {
                context,
                retries: spec.retries,
                max,
            });
        }
        let retries = spec.retries as u32;
        let bound = bound.max(1);
        Ok(Webhook {
            target: Arc::new(Target {
                url,
                shown,
                headers,
                timeout,
                retries,
                backoff_min: c.supervision.backoff_min,
                backoff_max: c.supervision.backoff_max,
            }),
            bus,
            inflight: Arc::new(Semaphore::new(bound)),
            bound,
            tracker,
        })
    }

    /// Handles one message: stream pieces end here; an answer is returned to the caller at once
    /// and its delivery starts beside it.
    pub fn handle(&mut self, env: &Envelope, cell: &Arc<ComponentCell>) -> Work {
        if matches!(
            env.event_type,
            EventType::StreamChunk | EventType::StreamCompleted | EventType::StreamFailed
        ) {
            let mut quiet = Produced::shared(env.event_type, env.payload.clone());
            quiet.announce = false;
            return Work::Now(Ok(quiet));
        }
        let output = env.text();
        let body = serde_json::json!({
            "session_id": &*env.session_id,
            "component": &*cell.name,
            "output": output,
            "trace_id": env.trace_id.as_deref(),
            "timestamp": now_unix(),
        });
        // The letter a failed delivery leaves: the answer's text, addressed to this component,
        // so `POST /dlq/{id}/replay` runs it through here again (and POSTs it).
        let mut letter = env.clone();
        letter.reply = None;
        letter.payload = Arc::new(serde_json::Value::String(output));
        letter.target = Some(cell.name.clone());
        match self.inflight.clone().try_acquire_owned() {
            Ok(permit) => {
                let delivery = Delivery {
                    target: self.target.clone(),
                    bus: self.bus.clone(),
                    cell: cell.clone(),
                };
                actix::spawn(self.tracker.track_future(async move {
                    delivery.run(body, letter).await;
                    drop(permit);
                }));
            }
            Err(_) => {
                let cause = format!(
                    "{} deliveries already in flight (the component's mailbox capacity); not sent",
                    self.bound
                );
                give_up(&self.target, &*self.bus, cell, letter, &cause);
            }
        }
        Work::Now(Ok(Produced::shared(
            EventType::ComponentResponse,
            env.payload.clone(),
        )))
    }
}

/// What one delivery needs after the handler returned.
struct Delivery {
    target: Arc<Target>,
    bus: Arc<dyn MessageBus>,
    cell: Arc<ComponentCell>,
}

/// Why one POST failed, in words without the URL's secrets or any header.
struct Failed {
    cause: String,
    retryable: bool,
}

impl Delivery {
    /// POSTs until it succeeds, a failure is permanent or the retries are spent.
    async fn run(self, body: serde_json::Value, letter: Envelope) {
        let t = &self.target;
        let mut retry = 0;
        loop {
            let failed = match post(t, &body).await {
                Ok(()) => return,
                Err(f) => f,
            };
            if !failed.retryable || retry >= t.retries {
                let cause = if failed.retryable {
                    format!("{} (after {} attempts)", failed.cause, retry + 1)
                } else {
                    failed.cause
                };
                give_up(t, &*self.bus, &self.cell, letter, &cause);
                return;
            }
            let wait = backoff(t.backoff_min, t.backoff_max, retry);
            tracing::debug!(
                component = &*self.cell.name,
                url = %t.shown,
                retry = retry + 1,
                ?wait,
                "webhook delivery failed, retrying: {}",
                failed.cause
            );
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }
}

/// A delivery failed for good: counted on the component, logged, and dead-lettered.
fn give_up(t: &Target, bus: &dyn MessageBus, cell: &ComponentCell, letter: Envelope, cause: &str) {
    let message = format!("webhook POST to {} failed: {cause}", t.shown);
    cell.count_failed();
    cell.record_failure(&message);
    let id = bus.dead_letter(letter, DeadLetterReason::WebhookFailed, message.clone());
    tracing::warn!(
        component = &*cell.name,
        dead_letter = id.as_deref().unwrap_or("(too large to keep)"),
        "{message}"
    );
}

/// One POST with the per-attempt timeout.
async fn post(t: &Target, body: &serde_json::Value) -> Result<(), Failed> {
    let client = client().map_err(|e| Failed {
        cause: e.to_string(),
        retryable: false,
    })?;
    let sent = client
        .post(t.url.clone())
        .headers(t.headers.clone())
        .timeout(t.timeout)
        .json(body)
        .send()
        .await;
    let resp = match sent {
        Ok(resp) => resp,
        Err(e) if e.is_redirect() => {
            return Err(Failed {
                cause: format!(
                    "redirected more than {MAX_REDIRECTS} times (a redirect loop?); point `url` at the final address"
                ),
                retryable: false,
            })
        }
        Err(e) if e.is_timeout() => {
            return Err(Failed {
                cause: format!("no answer within {:?} (`timeout`)", t.timeout),
                retryable: true,
            })
        }
        Err(e) => {
            return Err(Failed {
                cause: error_chain(e),
                retryable: true,
            })
        }
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    Err(Failed {
        cause: format!("answered HTTP {status}"),
        retryable: status.is_server_error(),
    })
}

/// A reqwest error and its causes, without the URL (it may carry credentials).
fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
