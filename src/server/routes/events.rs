//! `GET /events`: the live event feed (DESIGN.md §5), every pipeline and runtime event as SSE
//! (`id:`, `event:`, `data:` in the shape of [`crate::server::replay`]), filtered by `?type=`,
//! `?component=`, `?session=`; with `Last-Event-ID` (or `?last_event_id=`) it first replays what
//! the client missed. A `lagged` frame tells a client that read too slowly how many frames it
//! lost; keep-alive comments keep idle connections open; the stream ends when the server drains.

use crate::server::error::ApiError;
use crate::server::replay::{self, Frame, Subscription};
use crate::server::sse::{self, KEEP_ALIVE};
use crate::server::state::AppState;
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use woodwork_runtime::EventType;

/// How long a client refused for the subscriber cap is told to wait.
const FULL_RETRY_AFTER: Duration = Duration::from_secs(5);

/// What a subscriber wants to see. Empty lists mean "all".
#[derive(Debug, Default)]
pub struct Filter {
    /// Bit `i` set: `EventType::ALL[i]` is wanted; 0 = every type.
    types: u32,
    components: Vec<String>,
    sessions: Vec<String>,
}

impl Filter {
    /// Reads `type`, `component` and `session` (each repeatable and a comma list) from a query
    /// string; other parameters are ignored. An unknown event type is an error naming the known
    /// ones (a typo would otherwise be a feed that stays silent).
    pub fn parse(query: &str) -> Result<(Filter, Option<u64>), ApiError> {
        let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
            .map_err(|e| ApiError::bad_request("bad_query", format!("bad query string: {e}")))?
            .into_inner();
        let mut f = Filter::default();
        let mut last = None;
        for (key, value) in pairs {
            let values = value.split(',').map(str::trim).filter(|v| !v.is_empty());
            match key.as_str() {
                "type" => {
                    for v in values {
                        f.types |= type_mask(v)?;
                    }
                }
                "component" => f.components.extend(values.map(str::to_string)),
                "session" => f.sessions.extend(values.map(str::to_string)),
                "last_event_id" => last = Some(event_id(&value)?),
                _ => {}
            }
        }
        Ok((f, last))
    }

    /// Whether `frame` passes.
    pub fn keep(&self, frame: &Frame) -> bool {
        (self.types == 0 || self.types & (1 << frame.event as u32) != 0)
            && (self.components.is_empty()
                || self.components.iter().any(|c| **c == *frame.component))
            && (self.sessions.is_empty() || self.sessions.iter().any(|s| **s == *frame.session))
    }
}

/// The bits of the event types `name` selects: one name (`agent.thought`), a prefix with `*`
/// (`agent.*`), or `*`.
fn type_mask(name: &str) -> Result<u32, ApiError> {
    let prefix = name.strip_suffix('*');
    let mask = EventType::ALL
        .iter()
        .filter(|t| match prefix {
            Some(p) => t.as_str().starts_with(p),
            None => t.as_str() == name,
        })
        .fold(0u32, |m, t| m | 1 << (*t as u32));
    if mask == 0 {
        let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        return Err(ApiError::bad_request(
            "unknown_event_type",
            format!(
                "unknown event type `{}` in ?type=; known types: {} (a prefix like agent.* \
                 selects several)",
                crate::server::error::printable(name),
                known.join(", ")
            ),
        ));
    }
    Ok(mask)
}

/// A `Last-Event-ID` value: a number this server sent.
fn event_id(v: &str) -> Result<u64, ApiError> {
    v.trim().parse().map_err(|_| {
        ApiError::bad_request(
            "bad_last_event_id",
            format!(
                "Last-Event-ID `{}` is not an event id: send back the number of the last `id:` \
                 received, or leave it out to start with live events",
                crate::server::error::printable(v)
            ),
        )
    })
}

/// `GET /events` (and HEAD: the headers only, no subscription).
pub async fn events(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (filter, mut last) = Filter::parse(req.query_string())?;
    if let Some(h) = req.headers().get("last-event-id") {
        let text = h.to_str().map_err(|_| {
            ApiError::bad_request("bad_last_event_id", "Last-Event-ID is not ASCII text")
        })?;
        if !text.trim().is_empty() {
            last = Some(event_id(text)?);
        }
    }
    let mut res = HttpResponse::Ok();
    res.content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"));
    if req.method() == Method::HEAD {
        return Ok(res.finish());
    }
    if state.is_draining() {
        return Err(ApiError::shutting_down());
    }
    let Some(hub) = replay::hub() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "feed_unavailable",
            "the event feed is not running in this server",
        ));
    };
    let sub = hub.subscribe(last, |f| filter.keep(f)).map_err(|full| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_subscribers",
            format!(
                "the event feed already has its {} subscribers (--events-max-subscribers); \
                 retry in {} s",
                full.max,
                FULL_RETRY_AFTER.as_secs()
            ),
        )
        .with_retry_after(FULL_RETRY_AFTER)
    })?;
    tracing::info!(
        resumed = last.is_some(),
        replayed = sub.replay.len(),
        "event feed subscriber connected"
    );
    Ok(res.streaming(body(sub, filter, state.into_inner())))
}

/// Where a subscriber's stream is.
struct Feed {
    sub: Subscription,
    filter: Filter,
    state: Arc<AppState>,
    keep_alive: tokio::time::Interval,
    /// The id of the last frame sent (a `lagged` frame repeats it: reconnecting with it replays
    /// what was lost, while still buffered).
    last_sent: u64,
}

/// The subscriber's SSE body: `reset` (if any), the replay, then live frames.
fn body(
    mut sub: Subscription,
    filter: Filter,
    state: Arc<AppState>,
) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> {
    let first = sub.reset.take().map(|r| {
        let id = r.resumed_after;
        (id, sse::frame_with_id(id, "reset", &r))
    });
    let feed = Feed {
        last_sent: first.as_ref().map(|(id, _)| *id).unwrap_or(0),
        sub,
        filter,
        state,
        keep_alive: tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE),
    };
    let first = futures_util::stream::iter(first.map(|(_, b)| Ok(b)));
    first.chain(futures_util::stream::unfold(feed, next_frame))
}

use futures_util::StreamExt;

async fn next_frame(mut feed: Feed) -> Option<(Result<Bytes, Infallible>, Feed)> {
    if let Some(f) = feed.sub.replay.pop_front() {
        feed.last_sent = f.id;
        return Some((Ok(f.bytes().clone()), feed));
    }
    loop {
        tokio::select! {
            got = feed.sub.live.recv() => match got {
                Ok(f) => {
                    // No id check: the replay and the live channel never overlap (taken under
                    // one lock), and ids made on two threads may arrive a little out of order.
                    if !feed.filter.keep(&f) {
                        continue;
                    }
                    feed.last_sent = f.id;
                    return Some((Ok(f.bytes().clone()), feed));
                }
                Err(RecvError::Lagged(n)) => {
                    metrics::counter!("woodwork_events_lagged_total").increment(n);
                    let body = serde_json::json!({
                        "missed": n,
                        "message": format!(
                            "this client read too slowly and lost {n} events (of every type, \
                             before filtering); reconnect with Last-Event-ID: {} to read them \
                             from the replay buffer while it still has them",
                            feed.last_sent
                        ),
                    });
                    let frame = sse::frame_with_id(feed.last_sent, "lagged", &body);
                    return Some((Ok(frame), feed));
                }
                Err(RecvError::Closed) => return None,
            },
            _ = feed.keep_alive.tick() => {
                if feed.state.is_draining() {
                    return None;
                }
                return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), feed));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filters_take_names_prefixes_and_lists() {
        let (f, last) = Filter::parse("type=agent.*,session.created&last_event_id=7").unwrap();
        assert_eq!(last, Some(7));
        let bit = |t: EventType| f.types & (1 << t as u32) != 0;
        assert!(bit(EventType::AgentThought));
        assert!(bit(EventType::AgentResponse));
        assert!(bit(EventType::SessionCreated));
        assert!(!bit(EventType::SessionEnded));
        assert!(!bit(EventType::StreamChunk));
    }

    #[test]
    fn an_unknown_type_is_a_400_naming_the_known_ones() {
        let err = Filter::parse("type=agent.thougth").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("agent.thought"), "{}", err.message);
        assert!(Filter::parse("last_event_id=abc").is_err());
        assert!(Filter::parse("component=x&session=a,b&other=1").is_ok());
    }
}
