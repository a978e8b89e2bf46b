//! The event hub behind `GET /events`: one bus subscription turned into SSE frames once, kept in a
//! replay buffer (the last `window` of events, at most `bytes`) and fanned out live to every feed
//! subscriber.
//!
//! It costs nothing while nobody uses SSE: the hub subscribes to the bus (which makes components
//! build their event payloads) only when a `/events` client connects or a turn stream opens, and
//! lets go again once no `/events` client was connected and no turn stream opened for one replay
//! window. What happened while it was not recording cannot be replayed: a `Last-Event-ID` from
//! then gets a `reset` frame.
//!
//! A subscriber that reads too slowly never slows the pipeline: the live fan-out is a bounded
//! broadcast channel, and one that fell behind is told how many frames it lost (`lagged`).
//! There is one hub per process, like the drain signal: [`install`] at start, [`hub`] to use it.

use bytes::Bytes;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use woodwork_runtime::{Envelope, EventType, MessageBus, MessageId};

/// Events the bus queues for the hub before it loses some (the hub turns each into a frame at
/// once, so this only absorbs bursts).
const BUS_QUEUE: usize = 8192;
/// Frames a live subscriber may fall behind before it loses the oldest (`lagged`). With
/// [`MAX_FRAME`] this bounds what the fan-out holds at 64 MiB in the worst case.
const LIVE_QUEUE: usize = 512;
/// Largest frame the feed carries; a bigger event's payload is replaced by a note of its size.
pub const MAX_FRAME: usize = 128 * 1024;
/// How often the hub ages out old frames and checks whether anyone still uses it.
const TICK: Duration = Duration::from_secs(1);

/// The replay buffer's bounds and the subscriber cap (`serve` flags).
#[derive(Clone, Debug)]
pub struct FeedOptions {
    /// How long a frame stays replayable (`--sse-replay-window`).
    pub window: Duration,
    /// Most bytes of frames kept for replay (`--sse-replay-bytes`).
    pub bytes: usize,
    /// Most concurrent `/events` subscribers (`--events-max-subscribers`); more get 503.
    pub max_subscribers: usize,
}

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions {
            window: Duration::from_secs(60),
            bytes: 8 << 20,
            max_subscribers: 64,
        }
    }
}

/// One event as the feed writes it: what filters look at, and the SSE bytes (`id:`, `event:`,
/// `data:`), rendered on first use. Every streamed turn makes the hub record (so a dropped
/// stream can be resumed), and most recorded events are never read from the feed: rendering
/// them all up front was work on the token path for nothing.
#[derive(Debug)]
pub struct Frame {
    pub id: u64,
    pub event: EventType,
    pub component: Arc<str>,
    pub session: Arc<str>,
    /// The event as it came, without its delivery bookkeeping (`reply`).
    env: Envelope,
    rendered: OnceLock<Bytes>,
    /// What the frame weighs in the buffer: its rendered size, estimated without rendering.
    cost: usize,
    at: Instant,
}

/// The JSON of one feed event (`data:`), the shape README documents: what a client needs of the
/// envelope, nothing of its delivery bookkeeping (retries, TTL, reply).
#[derive(Serialize)]
struct FeedEvent<'a> {
    id: u64,
    event: &'static str,
    component: &'a str,
    sender: &'a str,
    session_id: &'a str,
    timestamp: f64,
    trace_id: Option<&'a str>,
    payload: &'a serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunk_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_final: Option<bool>,
}

/// The component an event is about: its sender (every component sends its own events, runtime
/// events included); for the input the runtime announces itself (sender `api`), the component
/// it went to. Session events have the sender `sessions`.
fn component_of(env: &Envelope) -> Arc<str> {
    match &env.target {
        Some(t) if &*env.sender == "api" => t.clone(),
        _ => env.sender.clone(),
    }
}

impl Frame {
    /// The feed frame of `env` (cheap: pointers are cloned, nothing is rendered yet).
    pub fn of(env: &Envelope) -> Frame {
        let mut env = env.clone();
        env.reply = None;
        let component = component_of(&env);
        let cost = FRAME_OVERHEAD
            + json_len(&env.payload)
            + component.len()
            + env.sender.len()
            + 2 * env.session_id.len()
            + env.trace_id.as_deref().map_or(0, str::len)
            + env.stream_id.as_deref().map_or(0, str::len);
        Frame {
            id: env.event_id(),
            event: env.event_type,
            component,
            session: env.session_id.clone(),
            env,
            rendered: OnceLock::new(),
            cost,
            at: Instant::now(),
        }
    }

    /// The SSE bytes of the frame, rendered once, by whichever subscriber needs them first.
    pub fn bytes(&self) -> &Bytes {
        self.rendered
            .get_or_init(|| render(&self.env, &self.component))
    }

    /// Bytes the frame holds, for the buffer's bound.
    fn cost(&self) -> usize {
        self.cost
    }
}

/// The fixed part of a frame: `id:`/`event:` lines and the JSON keys and numbers around the
/// payload (an over-estimate, so the byte bound holds).
const FRAME_OVERHEAD: usize = 320;

/// The length of `v` as compact JSON, or a little more (escapes counted at their longest),
/// without writing it.
fn json_len(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    match v {
        Value::Null => 4,
        Value::Bool(_) => 5,
        Value::Number(_) => 24,
        Value::String(s) => str_len(s),
        Value::Array(a) => 2 + a.iter().map(|x| json_len(x) + 1).sum::<usize>(),
        Value::Object(o) => {
            2 + o
                .iter()
                .map(|(k, x)| str_len(k) + 2 + json_len(x))
                .sum::<usize>()
        }
    }
}

/// A JSON string's length with its quotes, each escaped byte counted as `\u00XX`.
fn str_len(s: &str) -> usize {
    let escaped = s
        .bytes()
        .filter(|b| *b < 0x20 || *b == b'"' || *b == b'\\')
        .count();
    s.len() + 2 + 5 * escaped
}

/// The SSE frame of a recorded event; a payload that would make it bigger than [`MAX_FRAME`]
/// is replaced by a note of its size.
fn render(env: &Envelope, component: &str) -> Bytes {
    let timestamp = env
        .payload
        .get("timestamp")
        .and_then(|v| v.as_f64())
        .unwrap_or_else(woodwork_runtime::envelope::now_unix);
    let mut data = FeedEvent {
        id: env.event_id(),
        event: env.event_type.as_str(),
        component,
        sender: &env.sender,
        session_id: &env.session_id,
        timestamp,
        trace_id: env.trace_id.as_deref(),
        payload: &env.payload,
        stream_id: env.stream_id.as_deref(),
        chunk_index: env.chunk_index,
        is_final: env.is_final,
    };
    let name = env.event_type.as_str();
    let bytes = crate::server::sse::frame_with_id(data.id, name, &data);
    if bytes.len() <= MAX_FRAME {
        return bytes;
    }
    let omitted = serde_json::json!({
        "omitted": format!(
            "a payload of {} bytes, over the feed's {} KiB frame limit",
            bytes.len(),
            MAX_FRAME / 1024
        )
    });
    data.payload = &omitted;
    crate::server::sse::frame_with_id(data.id, name, &data)
}

/// The replay buffer: frames in arrival order, within the window and the byte bound.
struct Ring {
    frames: VecDeque<Arc<Frame>>,
    bytes: usize,
    /// Every event numbered from here on is in `frames` (or still on its way to it); `u64::MAX`
    /// while the hub is not recording.
    covered_from: u64,
}

impl Ring {
    fn evict(&mut self, window: Duration, max_bytes: usize, extra: usize) {
        let now = Instant::now();
        while let Some(front) = self.frames.front() {
            let old = now.saturating_duration_since(front.at) > window;
            if !old && self.bytes + extra <= max_bytes {
                break;
            }
            self.bytes -= front.cost();
            self.covered_from = self.covered_from.max(front.id.saturating_add(1));
            self.frames.pop_front();
        }
    }
}

struct Activity {
    recording: bool,
    last_use: Instant,
}

/// The feed's hub: bus subscription, replay buffer, live fan-out, subscriber count.
pub struct EventHub {
    /// The bus to subscribe to when recording starts: the runtime's current one (a `--watch`
    /// reload may have replaced the one it started with).
    bus: Box<dyn Fn() -> Arc<dyn MessageBus> + Send + Sync>,
    options: FeedOptions,
    ring: Mutex<Ring>,
    live: broadcast::Sender<Arc<Frame>>,
    activity: Mutex<Activity>,
    subscribers: AtomicUsize,
}

/// Why a subscription was refused: the cap (`max_subscribers`) is reached.
#[derive(Debug)]
pub struct Full {
    pub max: usize,
}

/// What a new subscriber gets: a `reset` to send first (when events it asked for are gone),
/// the frames it missed, then the live channel. Holding it counts against the cap.
pub struct Subscription {
    pub reset: Option<Reset>,
    pub replay: VecDeque<Arc<Frame>>,
    pub live: broadcast::Receiver<Arc<Frame>>,
    pub _guard: SubscriberGuard,
}

/// The `reset` frame's facts: the id the client gave, and the id from which the buffer has
/// every event (the frame's own `id:`, so reconnecting after it asks for what follows).
#[derive(Debug, Serialize)]
pub struct Reset {
    pub last_event_id: u64,
    #[serde(skip)]
    pub resumed_after: u64,
    pub message: String,
}

/// Counts one subscriber while alive; dropping it frees the slot and marks the hub used now
/// (so a client that reconnects within the window finds what it missed).
pub struct SubscriberGuard {
    hub: Arc<EventHub>,
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        let left = self.hub.subscribers.fetch_sub(1, Ordering::AcqRel) - 1;
        metrics::gauge!("woodwork_events_subscribers").set(left as f64);
        self.hub.activity.lock().last_use = Instant::now();
    }
}

static HUB: OnceLock<Arc<EventHub>> = OnceLock::new();

/// Makes `hub` the process's hub (once; later calls are ignored).
pub fn install(hub: Arc<EventHub>) {
    let _ = HUB.set(hub);
}

/// The process's hub, once `serve` installed it.
pub fn hub() -> Option<&'static Arc<EventHub>> {
    HUB.get()
}

/// A turn stream opened: record events, so what it misses after a drop can be read from
/// `/events`. A no-op before [`install`].
pub fn touch() {
    if let Some(h) = HUB.get() {
        h.activate();
    }
}

impl EventHub {
    /// A hub over the bus `bus` gives, not recording until first used.
    pub fn new(
        bus: impl Fn() -> Arc<dyn MessageBus> + Send + Sync + 'static,
        options: FeedOptions,
    ) -> Arc<EventHub> {
        let (live, _) = broadcast::channel(LIVE_QUEUE);
        Arc::new(EventHub {
            bus: Box::new(bus),
            options,
            ring: Mutex::new(Ring {
                frames: VecDeque::new(),
                bytes: 0,
                covered_from: u64::MAX,
            }),
            live,
            activity: Mutex::new(Activity {
                recording: false,
                last_use: Instant::now(),
            }),
            subscribers: AtomicUsize::new(0),
        })
    }

    /// Marks the hub used now and starts recording if it was not. Must run inside the actix
    /// system (the recorder is spawned on the current arbiter).
    pub fn activate(self: &Arc<Self>) {
        let mut a = self.activity.lock();
        a.last_use = Instant::now();
        if a.recording {
            return;
        }
        a.recording = true;
        let rx = (self.bus)().subscribe(None, BUS_QUEUE);
        self.ring.lock().covered_from = MessageId::next().lo;
        tracing::info!("event feed: recording events for /events and turn-stream resumption");
        actix_rt::spawn(self.clone().record(rx));
    }

    /// Turns bus events into frames until nobody used the hub for a window.
    async fn record(self: Arc<Self>, mut rx: mpsc::Receiver<Envelope>) {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                env = rx.recv() => match env {
                    Some(env) => self.push(Arc::new(Frame::of(&env))),
                    // The bus is gone (shutdown): stop, so a later use subscribes afresh.
                    None => {
                        self.stop(&mut self.activity.lock());
                        return;
                    }
                },
                _ = tick.tick() => {
                    self.ring.lock().evict(self.options.window, self.options.bytes, 0);
                    if self.stop_if_idle() {
                        return;
                    }
                }
            }
        }
    }

    /// Stops recording when no subscriber is connected and nothing used the hub for a window.
    fn stop_if_idle(&self) -> bool {
        let mut a = self.activity.lock();
        let idle = self.subscribers.load(Ordering::Acquire) == 0
            && a.last_use.elapsed() >= self.options.window;
        if idle {
            self.stop(&mut a);
            tracing::info!("event feed: idle for the replay window; recording stopped");
        }
        idle
    }

    /// Stops recording and drops the buffer (nothing newer can be vouched for).
    fn stop(&self, a: &mut Activity) {
        a.recording = false;
        let mut ring = self.ring.lock();
        ring.frames.clear();
        ring.bytes = 0;
        ring.covered_from = u64::MAX;
    }

    /// Keeps `frame` for replay and sends it to the live subscribers (under the buffer's lock,
    /// so a subscriber joining sees each frame exactly once: in its replay or live).
    fn push(&self, frame: Arc<Frame>) {
        let cost = frame.cost();
        let mut ring = self.ring.lock();
        ring.evict(self.options.window, self.options.bytes, cost);
        if cost <= self.options.bytes {
            ring.bytes += cost;
            ring.frames.push_back(frame.clone());
        } else {
            ring.covered_from = ring.covered_from.max(frame.id.saturating_add(1));
        }
        let _ = self.live.send(frame);
    }

    /// A new subscriber, resuming after `last` (a `Last-Event-ID`) when given: the frames it
    /// missed that `keep` accepts, or a `reset` first when some are gone.
    pub fn subscribe(
        self: &Arc<Self>,
        last: Option<u64>,
        keep: impl Fn(&Frame) -> bool,
    ) -> Result<Subscription, Full> {
        let max = self.options.max_subscribers;
        let now = self.subscribers.fetch_add(1, Ordering::AcqRel) + 1;
        if now > max {
            self.subscribers.fetch_sub(1, Ordering::AcqRel);
            return Err(Full { max });
        }
        metrics::gauge!("woodwork_events_subscribers").set(now as f64);
        let guard = SubscriberGuard { hub: self.clone() };
        self.activate();
        let ring = self.ring.lock();
        let live = self.live.subscribe();
        let Some(last) = last else {
            return Ok(Subscription {
                reset: None,
                replay: VecDeque::new(),
                live,
                _guard: guard,
            });
        };
        let next = MessageId::next().lo;
        let reset = if last >= next {
            Some(Reset {
                last_event_id: last,
                resumed_after: next,
                message: format!(
                    "event id {last} was not sent by this server process (it restarted?): \
                     events since then are lost; live events follow"
                ),
            })
        } else if last.saturating_add(1) < ring.covered_from {
            let resumed_after = ring.covered_from.min(next).saturating_sub(1);
            Some(Reset {
                last_event_id: last,
                resumed_after,
                message: format!(
                    "events after id {last} are no longer in the replay buffer (it keeps {} s, \
                     up to {} bytes, while anyone uses the feed): some were lost; what it still \
                     has follows, then live events",
                    self.options.window.as_secs(),
                    self.options.bytes
                ),
            })
        } else {
            None
        };
        let replay = ring
            .frames
            .iter()
            .filter(|f| f.id > last && keep(f))
            .cloned()
            .collect();
        Ok(Subscription {
            reset,
            replay,
            live,
            _guard: guard,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Arc<Frame> {
        let env = Envelope::new(
            Arc::from("s1"),
            EventType::AgentThought,
            Arc::new(serde_json::json!({ "thought": text })),
            Arc::from("bot"),
        );
        Arc::new(Frame::of(&env))
    }

    #[test]
    fn the_byte_bound_evicts_oldest_first_and_moves_the_covered_mark() {
        let frames: Vec<_> = (0..10).map(|i| frame(&format!("thought {i}"))).collect();
        let cost = frames[0].cost();
        let mut ring = Ring {
            frames: VecDeque::new(),
            bytes: 0,
            covered_from: frames[0].id,
        };
        for f in &frames {
            ring.evict(Duration::from_secs(60), 3 * cost + 2, f.cost());
            ring.bytes += f.cost();
            ring.frames.push_back(f.clone());
        }
        let kept: Vec<u64> = ring.frames.iter().map(|f| f.id).collect();
        let last3: Vec<u64> = frames[7..].iter().map(|f| f.id).collect();
        assert_eq!(kept, last3);
        assert_eq!(
            ring.covered_from,
            frames[6].id + 1,
            "everything after the last evicted"
        );
        assert!(ring.bytes <= 3 * cost + 2);
    }

    #[test]
    fn feed_frames_carry_the_envelope_id_and_the_documented_fields() {
        let f = frame("hm");
        let text = std::str::from_utf8(f.bytes()).unwrap();
        assert!(text.starts_with(&format!("id: {}\nevent: agent.thought\ndata: ", f.id)));
        let data: serde_json::Value =
            serde_json::from_str(text.lines().nth(2).unwrap().trim_start_matches("data: "))
                .unwrap();
        assert_eq!(data["id"], f.id);
        assert_eq!(data["component"], "bot");
        assert_eq!(data["session_id"], "s1");
        assert_eq!(data["payload"]["thought"], "hm");
        assert!(data.get("retry_count").is_none(), "no delivery bookkeeping");
    }

    #[test]
    fn the_estimated_cost_covers_the_rendered_frame() {
        for text in [
            "",
            "plain",
            "quotes \" and \\ backslashes",
            "control \n\t\u{1} bytes",
            &"ü".repeat(300),
        ] {
            let f = frame(text);
            assert!(
                f.cost() >= f.bytes().len(),
                "{text:?}: {} < {}",
                f.cost(),
                f.bytes().len()
            );
        }
    }

    #[test]
    fn an_oversized_payload_is_replaced_by_a_note() {
        let f = frame(&"x".repeat(MAX_FRAME + 10));
        assert!(f.bytes().len() < 1024);
        assert!(std::str::from_utf8(f.bytes()).unwrap().contains("omitted"));
    }
}
