//! Conversation memory as every reader and writer of it sees it (the agent and llm behaviours,
//! the `memory short_term` tool). One process: the session table's windows, exactly as before
//! (its budgets and its fencing of ended sessions). With a broker (`serve --bus`, DESIGN.md §7) a
//! turn may enter on one node and run its agent on another, whose session table never saw the
//! session, and any node may restart: so the windows live on the broker, in the KV bucket
//! [`BUCKET`], one key per session holding every window of that session
//! (`{memory_name: [[user, ai], …]}`), read at the start of a turn and written after it. The
//! session table keeps its own copy as well (what `/sessions/{id}` shows on the node that has it).
//!
//! A broker that fails or stalls never fails a turn: a read goes on without the memory, a write
//! is skipped, each with a warning. Two writers of one session at once (an agent and its llm on
//! two nodes, each with its own memory) read-modify-write the same key, so one write can lose the
//! other's turn: the KV has no compare-and-set to prevent it.

use crate::cluster::Cluster;
use crate::envelope::Envelope;
use crate::llm::{ChatMessage, Role};
use crate::memory::{MemoryLimits, MemoryRef, MemoryWindow};
use crate::services::Services;
use crate::session::SessionTable;
use crate::types::SessionInfo;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;
use woodwork_broker::{Broker, Kv};

/// The KV bucket of conversation memory.
pub(crate) const BUCKET: &str = "memory";

/// Longest a memory read or write waits for the broker before the turn goes on without it.
const BROKER_BOUND: Duration = Duration::from_secs(5);

/// Key prefix: session ids may hold `:` and `.`, which a NATS key cannot, so the id is hex.
const KEY_PREFIX: &str = "s-";

/// One session's windows as stored: memory name → turns `(user, ai)`, oldest first.
type Windows = BTreeMap<String, Vec<(String, String)>>;

/// Where conversation memory lives for this runtime: the session table, and with a cluster also
/// the broker (which is then the one read).
pub(crate) struct MemoryStore {
    sessions: Arc<SessionTable>,
    shared: Option<Shared>,
}

/// The broker side: the bucket is opened on first use, so building the services stays
/// synchronous and a broker down at that moment is retried by the next turn.
struct Shared {
    broker: Broker,
    /// Keys expire this long after their last write (the sessions' idle TTL), so the bucket does
    /// not keep every conversation forever.
    ttl: Duration,
    bucket: OnceCell<Arc<dyn Kv>>,
}

impl Services {
    /// Conversation memory: what every reader and writer of a session's windows goes through,
    /// so memory follows the session across nodes and restarts when there is a broker.
    pub(crate) fn memory(&self) -> &MemoryStore {
        &self.memory
    }
}

/// The KV key of what `/sessions/{id}` shows of session `id` (next to its memory's key).
fn info_key(id: &str) -> String {
    crate::cluster::hex_key("i-", id)
}

/// The KV key of session `id`: a fixed prefix and the id in lower-case hex (valid on every
/// broker whatever the id holds).
pub(crate) fn session_key(id: &str) -> String {
    crate::cluster::hex_key(KEY_PREFIX, id)
}

/// The window of one memory, rebuilt from stored turns within `limits` (a value written under
/// other limits, or by hand, is bounded again here).
fn window_of(turns: &[(String, String)], limits: MemoryLimits) -> MemoryWindow {
    let mut w = MemoryWindow::default();
    for (user, ai) in turns {
        w.push(limits, user, ai);
    }
    w
}

/// A window back into stored turns.
fn turns_of(w: &MemoryWindow) -> Vec<(String, String)> {
    let mut turns = Vec::with_capacity(w.len());
    let mut user = None;
    for m in w.messages() {
        match m.role {
            Role::User => user = Some(m.content),
            _ => turns.push((user.take().unwrap_or_default(), m.content)),
        }
    }
    turns
}

/// `windows` with one more turn in memory `name`, bounded by `limits`.
fn with_turn(
    mut windows: Windows,
    name: &str,
    limits: MemoryLimits,
    user: &str,
    ai: &str,
) -> Windows {
    let mut w = window_of(
        windows.get(name).map(Vec::as_slice).unwrap_or_default(),
        limits,
    );
    w.push(limits, user, ai);
    windows.insert(name.to_string(), turns_of(&w));
    windows
}

/// Whether the turn that carries `env` was cancelled (its session ended, its caller left): a
/// late write of such a turn must not land in a session that reuses the id.
fn cancelled(env: &Envelope) -> bool {
    env.reply
        .as_ref()
        .and_then(|r| r.turn())
        .is_some_and(|t| t.is_cancelled())
}

impl MemoryStore {
    /// The store of a runtime: the session table alone, or with `cluster` the broker too. `ttl`
    /// is how long an untouched session's memory is kept on the broker.
    pub(crate) fn new(
        sessions: Arc<SessionTable>,
        cluster: Option<&Arc<Cluster>>,
        ttl: Duration,
    ) -> MemoryStore {
        MemoryStore {
            sessions,
            shared: cluster.map(|c| Shared {
                broker: c.broker.clone(),
                ttl,
                bucket: OnceCell::new(),
            }),
        }
    }

    /// The session's window of memory `m`, as chat messages to put before the input (empty
    /// when none, or when the broker cannot be read: the turn goes on without it).
    pub(crate) async fn recall(&self, env: &Envelope, m: &MemoryRef) -> Vec<ChatMessage> {
        let Some(shared) = &self.shared else {
            return self.sessions.recall(&env.session_id, &m.name);
        };
        match shared.load(&env.session_id).await {
            Ok(windows) => windows
                .get(&*m.name)
                .map(|turns| window_of(turns, m.limits).messages())
                .unwrap_or_default(),
            Err(e) => {
                tracing::warn!(session_id = %env.session_id, memory = &*m.name, error = %e, "could not read the session's memory from the broker; this turn goes on without it");
                Vec::new()
            }
        }
    }

    /// The session's window of memory `name` as `[USER]` / `[AI]` lines (the memory tool's
    /// `read`); empty when none or unreadable.
    pub(crate) async fn render(&self, env: &Envelope, name: &str, limits: MemoryLimits) -> String {
        let Some(shared) = &self.shared else {
            return self.sessions.render_memory(&env.session_id, name);
        };
        match shared.load(&env.session_id).await {
            Ok(windows) => windows
                .get(name)
                .map(|turns| window_of(turns, limits).render())
                .unwrap_or_default(),
            Err(e) => {
                tracing::warn!(session_id = %env.session_id, memory = name, error = %e, "could not read the session's memory from the broker");
                String::new()
            }
        }
    }

    /// Records one completed turn in the session's window of memory `m`.
    pub(crate) async fn record(&self, env: &Envelope, m: &MemoryRef, user: &str, ai: &str) {
        self.sessions
            .record(&env.session_id, &m.name, m.limits, user, ai);
        let Some(shared) = &self.shared else {
            return;
        };
        if cancelled(env) {
            return;
        }
        let written = async {
            let windows = shared.load(&env.session_id).await?;
            let windows = with_turn(windows, &m.name, m.limits, user, ai);
            shared.store(&env.session_id, &windows).await
        }
        .await;
        if let Err(e) = written {
            tracing::warn!(session_id = %env.session_id, memory = &*m.name, error = %e, "could not write the session's memory to the broker; the next turn will not remember this one");
        }
    }

    /// Forgets the session's window of memory `name` (the memory tool's `clear`); true if it held
    /// any turn.
    pub(crate) async fn clear(&self, env: &Envelope, name: &str) -> bool {
        let local = self.sessions.clear_memory(&env.session_id, name);
        let Some(shared) = &self.shared else {
            return local;
        };
        let cleared = async {
            let mut windows = shared.load(&env.session_id).await?;
            let held = windows.remove(name).is_some_and(|t| !t.is_empty());
            if held {
                shared.store(&env.session_id, &windows).await?;
            }
            Ok::<bool, String>(held)
        }
        .await;
        match cleared {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(session_id = %env.session_id, memory = name, error = %e, "could not clear the session's memory on the broker");
                local
            }
        }
    }

    /// Records on the broker what `/sessions/{id}` shows after a turn entered here, merged with
    /// what an earlier process of the cluster recorded (the turns add up; the first creation
    /// time stays), so the session outlives the node that holds it; `fresh`: the id was made
    /// up by this process for this turn, so there is nothing to merge (no read). Nothing
    /// without a broker.
    pub(crate) async fn note_turn(&self, local: SessionInfo, fresh: bool) {
        let Some(shared) = &self.shared else {
            return;
        };
        let id = local.id.clone();
        let noted = async {
            let kv = shared.bucket().await?;
            let key = info_key(&local.id);
            let stored: Option<SessionInfo> = if fresh {
                None
            } else {
                bounded(kv.get(&key))
                    .await?
                    .and_then(|b| serde_json::from_slice(&b).ok())
            };
            let mut info = local;
            info.busy = false;
            info.queued = 0;
            if let Some(s) = stored {
                info.turns = info.turns.max(s.turns + 1);
                info.created_at = info.created_at.min(s.created_at);
            }
            let body = serde_json::to_vec(&info).map_err(|e| e.to_string())?;
            bounded(kv.put(&key, body.into())).await
        }
        .await;
        if let Err(e) = noted {
            tracing::warn!(session_id = %id, error = %e, "could not record the session on the broker");
        }
    }

    /// The session as the broker last recorded it (another node's, or before a restart).
    pub(crate) async fn session(&self, id: &str) -> Option<SessionInfo> {
        let shared = self.shared.as_ref()?;
        let kv = shared.bucket().await.ok()?;
        let bytes = bounded(kv.get(&info_key(id))).await.ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    /// Deletes the session's memory from the broker (ending a session); true if it held some.
    /// Without a broker there is nothing beyond the session table, which its owner clears.
    pub(crate) async fn forget(&self, id: &str) -> bool {
        let Some(shared) = &self.shared else {
            return false;
        };
        let forgot = async {
            let kv = shared.bucket().await?;
            let key = session_key(id);
            let held = bounded(kv.get(&key)).await?.is_some()
                || bounded(kv.get(&info_key(id))).await?.is_some();
            bounded(kv.delete(&key)).await?;
            bounded(kv.delete(&info_key(id))).await?;
            Ok::<bool, String>(held)
        }
        .await;
        forgot.unwrap_or_else(|e| {
            tracing::warn!(session_id = id, error = %e, "could not delete the session's memory on the broker; it expires with the session TTL");
            false
        })
    }
}

/// A broker call within [`BROKER_BOUND`], its error in words.
async fn bounded<T>(
    call: impl std::future::Future<Output = Result<T, woodwork_broker::BrokerError>>,
) -> Result<T, String> {
    crate::cluster::within(BROKER_BOUND, call).await
}

impl Shared {
    async fn bucket(&self) -> Result<&Arc<dyn Kv>, String> {
        self.bucket
            .get_or_try_init(|| bounded(self.broker.kv(BUCKET, Some(self.ttl))))
            .await
            .map_err(|e| format!("cannot open the KV bucket `{BUCKET}`: {e}"))
    }

    /// Every window of session `id` (none yet: empty). A value that is not such a map is an
    /// error, not an empty memory, so a write does not silently replace it.
    async fn load(&self, id: &str) -> Result<Windows, String> {
        let kv = self.bucket().await?;
        match bounded(kv.get(&session_key(id))).await? {
            None => Ok(Windows::new()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!("the stored memory of the session is not a map of memory windows: {e}")
            }),
        }
    }

    async fn store(&self, id: &str, windows: &Windows) -> Result<(), String> {
        let kv = self.bucket().await?;
        let body = serde_json::to_vec(windows).map_err(|e| e.to_string())?;
        bounded(kv.put(&session_key(id), body.into())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_turns: usize, max_bytes: usize) -> MemoryLimits {
        MemoryLimits {
            max_turns,
            max_bytes,
        }
    }

    #[test]
    fn keys_are_hex_under_a_prefix_and_valid_on_every_broker() {
        assert_eq!(session_key("ab:1.Z"), "s-61623a312e5a");
        let key = session_key("sess/ion é.:*");
        assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert_ne!(session_key("a"), session_key("A"));
        // Distinct ids never share a key (hex of the bytes is injective).
        assert_ne!(session_key("ab"), session_key("a:b"));
    }

    #[test]
    fn a_stored_window_keeps_the_last_turns_within_the_turn_bound() {
        let mut w = Windows::new();
        for i in 0..5 {
            w = with_turn(
                w,
                "mem",
                limits(3, 1000),
                &format!("q{i}"),
                &format!("a{i}"),
            );
        }
        let turns = &w["mem"];
        assert_eq!(
            turns,
            &vec![
                ("q2".to_string(), "a2".to_string()),
                ("q3".to_string(), "a3".to_string()),
                ("q4".to_string(), "a4".to_string()),
            ]
        );
    }

    #[test]
    fn a_stored_window_stays_within_the_byte_bound_and_windows_stay_apart() {
        let mut w = Windows::new();
        for _ in 0..10 {
            w = with_turn(w, "short", limits(100, 50), "0123456789", "0123456789");
        }
        w = with_turn(w, "other", limits(100, 1000), "hello", "world");
        let bytes: usize = w["short"].iter().map(|(u, a)| u.len() + a.len()).sum();
        assert!(bytes <= 50, "{bytes}");
        assert_eq!(w["short"].len(), 2);
        assert_eq!(w["other"], vec![("hello".to_string(), "world".to_string())]);
        // The stored form is the documented one.
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(json["other"], serde_json::json!([["hello", "world"]]));
    }

    #[test]
    fn turns_read_back_are_bounded_by_the_readers_limits() {
        let stored: Vec<(String, String)> = (0..10)
            .map(|i| (format!("q{i}"), "x".repeat(100)))
            .collect();
        let w = window_of(&stored, limits(4, 250));
        assert!(w.len() <= 4);
        assert!(w.bytes() <= 250);
        assert_eq!(turns_of(&w).last().unwrap().0, "q9");
        // A turn of an empty user text survives the round trip.
        let w = window_of(&[(String::new(), "ai".into())], limits(4, 250));
        assert_eq!(turns_of(&w), vec![(String::new(), "ai".to_string())]);
    }
}
