//! Sessions (DESIGN.md §4): created or resumed by id, one turn at a time per session (single
//! writer), a bounded queue of waiting turns (`enqueue`) or an immediate `SessionBusy` (`reject`),
//! bounded per-session conversation memory, idle eviction after a TTL. The table is a sharded map
//! read directly by the turn path and the status API; the [`SessionManager`] actor evicts.

use crate::envelope::now_unix;
use crate::error::RuntimeError;
use crate::llm::ChatMessage;
use crate::memory::{MemoryLimits, MemoryWindow};
use crate::types::SessionInfo;
use dashmap::DashMap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use woodwork_parser::SessionPolicy;

/// Longest session id accepted.
pub const MAX_SESSION_ID: usize = 128;

struct Session {
    created_at: f64,
    last_active: f64,
    turns: u64,
    busy: bool,
    waiters: VecDeque<oneshot::Sender<SessionTurn>>,
    /// Conversation windows, one per memory component used in this session (usually one).
    memories: Vec<(Arc<str>, MemoryWindow)>,
    /// Agents waiting for the user's answer to `ask_user` (resumed by the session's next input).
    paused: Vec<(Arc<str>, crate::component::agent::Paused)>,
}

/// All sessions.
pub struct SessionTable {
    map: DashMap<Arc<str>, Session>,
    ttl: Duration,
    max_sessions: usize,
    queue_limit: usize,
    created: AtomicU64,
    /// Sessions evicted to make room, waiting for the manager to announce `session.ended`
    /// (at most `max_sessions` ids, since each was a live session).
    evicted: parking_lot::Mutex<Vec<String>>,
}

/// Holding the turn of a session; dropping it hands the turn to the next waiter.
pub struct SessionTurn {
    table: Option<Arc<SessionTable>>,
    id: Arc<str>,
}

impl SessionTurn {
    pub fn id(&self) -> &Arc<str> {
        &self.id
    }
}

impl Drop for SessionTurn {
    fn drop(&mut self) {
        if let Some(table) = self.table.take() {
            table.end_turn(&self.id);
        }
    }
}

/// Either the turn now or a place in the session's queue.
pub enum Admission {
    Now(SessionTurn),
    Queued(Arc<str>, oneshot::Receiver<SessionTurn>),
}

fn new_session_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

fn valid_id(id: &str) -> Result<(), RuntimeError> {
    if id.is_empty() || id.len() > MAX_SESSION_ID {
        return Err(RuntimeError::Invalid(format!(
            "session_id must be 1 to {MAX_SESSION_ID} characters"
        )));
    }
    if id.chars().any(|c| c.is_control()) {
        return Err(RuntimeError::Invalid(
            "session_id must not contain control characters".into(),
        ));
    }
    Ok(())
}

impl SessionTable {
    pub fn new(ttl: Duration, max_sessions: usize, queue_limit: usize) -> Arc<SessionTable> {
        Arc::new(SessionTable {
            map: DashMap::new(),
            ttl,
            max_sessions,
            queue_limit,
            created: AtomicU64::new(0),
            evicted: parking_lot::Mutex::new(Vec::new()),
        })
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Starts a turn in session `id` (a new session when `None` or unknown). Returns whether the
    /// session was created.
    pub fn begin(
        self: &Arc<Self>,
        id: Option<&str>,
        policy: SessionPolicy,
    ) -> Result<(Admission, bool), RuntimeError> {
        let id: Arc<str> = match id {
            Some(id) => {
                valid_id(id)?;
                Arc::from(id)
            }
            None => Arc::from(new_session_id()),
        };
        let now = now_unix();
        if !self.map.contains_key(&id)
            && self.map.len() >= self.max_sessions
            && self.evict_least_recent() == 0
        {
            // Every session is busy: a real overload, not a full table of idle ones.
            return Err(RuntimeError::Overloaded {
                retry_after: Duration::from_secs(1),
            });
        }
        let mut created = false;
        let mut entry = self.map.entry(id.clone()).or_insert_with(|| {
            created = true;
            Session {
                created_at: now,
                last_active: now,
                turns: 0,
                busy: false,
                waiters: VecDeque::new(),
                memories: Vec::new(),
                paused: Vec::new(),
            }
        });
        if created {
            self.created.fetch_add(1, Ordering::Relaxed);
        }
        let s = entry.value_mut();
        s.last_active = now;
        if !s.busy {
            s.busy = true;
            s.turns += 1;
            drop(entry);
            return Ok((
                Admission::Now(SessionTurn {
                    table: Some(self.clone()),
                    id,
                }),
                created,
            ));
        }
        match policy {
            SessionPolicy::Reject => Err(RuntimeError::SessionBusy {
                session_id: id.to_string(),
            }),
            SessionPolicy::Enqueue => {
                s.waiters.retain(|w| !w.is_closed());
                if s.waiters.len() >= self.queue_limit {
                    return Err(RuntimeError::SessionBusy {
                        session_id: id.to_string(),
                    });
                }
                let (tx, rx) = oneshot::channel();
                s.waiters.push_back(tx);
                Ok((Admission::Queued(id, rx), created))
            }
        }
    }

    /// Ends the current turn: the next live waiter gets it, else the session goes idle.
    fn end_turn(self: &Arc<Self>, id: &Arc<str>) {
        let Some(mut entry) = self.map.get_mut(id) else {
            return;
        };
        let s = entry.value_mut();
        s.last_active = now_unix();
        while let Some(tx) = s.waiters.pop_front() {
            if tx.is_closed() {
                continue;
            }
            s.turns += 1;
            let turn = SessionTurn {
                table: Some(self.clone()),
                id: id.clone(),
            };
            match tx.send(turn) {
                Ok(()) => return,
                Err(mut turn) => {
                    // The waiter went away between the check and the send: disarm that turn
                    // so dropping it does not re-enter this function.
                    turn.table = None;
                    s.turns -= 1;
                }
            }
        }
        s.busy = false;
    }

    /// The `/sessions/{id}` view.
    pub fn info(&self, id: &str) -> Option<SessionInfo> {
        self.map.get(id).map(|s| SessionInfo {
            id: id.to_string(),
            created_at: s.created_at,
            last_active: s.last_active,
            turns: s.turns,
            busy: s.busy,
            queued: s.waiters.iter().filter(|w| !w.is_closed()).count(),
        })
    }

    /// Removes a session; waiting turns are refused. True if it existed.
    pub fn remove(&self, id: &str) -> bool {
        self.map.remove(id).is_some()
    }

    /// Every conversation window of the session, oldest turn first (what `/sessions` shows).
    pub fn history(&self, id: &str) -> Vec<ChatMessage> {
        self.map
            .get(id)
            .map(|s| s.memories.iter().flat_map(|(_, w)| w.messages()).collect())
            .unwrap_or_default()
    }

    /// The session's window of memory component `memory`, as chat messages (empty when none).
    pub fn recall(&self, id: &str, memory: &str) -> Vec<ChatMessage> {
        self.map
            .get(id)
            .and_then(|s| {
                s.memories
                    .iter()
                    .find(|(m, _)| &**m == memory)
                    .map(|(_, w)| w.messages())
            })
            .unwrap_or_default()
    }

    /// The session's window of `memory` as the Python engine renders it (`[USER]` / `[AI]`
    /// lines): what the memory tool's `read` answers.
    pub fn render_memory(&self, id: &str, memory: &str) -> String {
        self.map
            .get(id)
            .and_then(|s| {
                s.memories
                    .iter()
                    .find(|(m, _)| &**m == memory)
                    .map(|(_, w)| w.render())
            })
            .unwrap_or_default()
    }

    /// Forgets the session's window of `memory` (the memory tool's `clear`); true if it held any turn.
    pub fn clear_memory(&self, id: &str, memory: &str) -> bool {
        let Some(mut s) = self.map.get_mut(id) else {
            return false;
        };
        let before = s.memories.len();
        s.memories.retain(|(m, w)| &**m != memory || w.is_empty());
        before != s.memories.len()
    }

    /// Records one completed turn in the session's window of `memory`, forgetting the oldest
    /// turns past `limits`.
    pub fn record(&self, id: &str, memory: &Arc<str>, limits: MemoryLimits, user: &str, ai: &str) {
        if let Some(mut s) = self.map.get_mut(id) {
            let i = match s.memories.iter().position(|(m, _)| m == memory) {
                Some(i) => i,
                None => {
                    s.memories.push((memory.clone(), MemoryWindow::default()));
                    s.memories.len() - 1
                }
            };
            s.memories[i].1.push(limits, user, ai);
        }
    }

    /// Makes room in a full table by evicting the least recently active idle sessions: 1% of the
    /// table at once, so a stream of new sessions pays one scan per hundred, not one each.
    /// Returns how many went; their `session.ended` is announced by the manager.
    fn evict_least_recent(&self) -> usize {
        let mut idle: Vec<(f64, Arc<str>)> = self
            .map
            .iter()
            .filter(|e| !e.busy && e.waiters.is_empty())
            .map(|e| (e.last_active, e.key().clone()))
            .collect();
        let batch = (self.max_sessions / 100).clamp(1, idle.len().max(1));
        if idle.is_empty() {
            return 0;
        }
        if batch < idle.len() {
            idle.select_nth_unstable_by(batch - 1, |a, b| a.0.total_cmp(&b.0));
            idle.truncate(batch);
        }
        let mut gone = Vec::with_capacity(idle.len());
        for (_, id) in idle {
            // Re-checked under the entry lock: it may have started a turn since the scan.
            if self
                .map
                .remove_if(&id, |_, s| !s.busy && s.waiters.is_empty())
                .is_some()
            {
                gone.push(id.to_string());
            }
        }
        let n = gone.len();
        self.evicted.lock().extend(gone);
        n
    }

    /// Sessions evicted to make room since the last call.
    pub fn take_evicted(&self) -> Vec<String> {
        std::mem::take(&mut *self.evicted.lock())
    }

    /// Parks an agent's loop until the session's next input (`ask_user`).
    pub fn pause(&self, id: &str, agent: &Arc<str>, state: crate::component::agent::Paused) {
        if let Some(mut s) = self.map.get_mut(id) {
            s.paused.retain(|(a, _)| a != agent);
            s.paused.push((agent.clone(), state));
        }
    }

    /// Takes the parked loop of `agent` in this session, if it asked the user something.
    pub fn resume(&self, id: &str, agent: &str) -> Option<crate::component::agent::Paused> {
        let mut s = self.map.get_mut(id)?;
        let i = s.paused.iter().position(|(a, _)| &**a == agent)?;
        Some(s.paused.swap_remove(i).1)
    }

    /// Evicts sessions idle longer than the TTL; returns their ids.
    pub fn evict_idle(&self) -> Vec<String> {
        let cutoff = now_unix() - self.ttl.as_secs_f64();
        let mut gone = Vec::new();
        self.map.retain(|id, s| {
            let keep = s.busy || s.last_active >= cutoff;
            if !keep {
                gone.push(id.to_string());
            }
            keep
        });
        gone
    }
}

/// The session manager actor: runs idle eviction on its own schedule.
pub struct SessionManager {
    pub table: Arc<SessionTable>,
    pub on_ended: Box<dyn Fn(&str) + Send>,
}

impl actix::Actor for SessionManager {
    type Context = actix::Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        use actix::AsyncContext;
        // Timers need a running tokio runtime (not there when a never-polled actor is dropped).
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let every = (self.table.ttl / 4).clamp(Duration::from_millis(10), Duration::from_secs(60));
        ctx.run_interval(every, |act, _| {
            for id in act.table.evict_idle() {
                (act.on_ended)(&id);
            }
        });
        ctx.run_interval(Duration::from_millis(100), |act, _| {
            for id in act.table.take_evicted() {
                (act.on_ended)(&id);
            }
        });
        let gauge = metrics::gauge!("woodwork_sessions_active");
        ctx.run_interval(Duration::from_secs(1), move |act, _| {
            gauge.set(act.table.len() as f64);
        });
    }
}

/// Evict idle sessions now (tests, admin).
pub struct EvictIdle;

impl actix::Message for EvictIdle {
    type Result = usize;
}

impl actix::Handler<EvictIdle> for SessionManager {
    type Result = usize;

    fn handle(&mut self, _: EvictIdle, _: &mut Self::Context) -> usize {
        let gone = self.table.evict_idle();
        for id in &gone {
            (self.on_ended)(id);
        }
        gone.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Arc<SessionTable> {
        SessionTable::new(Duration::from_secs(60), 10, 4)
    }

    fn now(a: Admission) -> SessionTurn {
        match a {
            Admission::Now(t) => t,
            Admission::Queued(..) => panic!("expected the turn at once"),
        }
    }

    fn queued(a: Admission) -> oneshot::Receiver<SessionTurn> {
        match a {
            Admission::Queued(_, rx) => rx,
            Admission::Now(_) => panic!("expected to wait"),
        }
    }

    #[tokio::test]
    async fn the_turn_skips_waiters_that_went_away() {
        let t = table();
        let first = now(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
        let gone = queued(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
        let waiting = queued(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
        drop(gone);
        drop(first);
        let second = waiting.await.unwrap();
        assert!(t.info("s").unwrap().busy);
        drop(second);
        let info = t.info("s").unwrap();
        assert!(!info.busy);
        assert_eq!(info.turns, 2);
    }

    #[tokio::test]
    async fn a_turn_handed_to_a_dropped_receiver_passes_on() {
        let t = table();
        let first = now(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
        let a = queued(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
        let b = queued(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
        drop(first); // hands the turn to `a`, which never looks at it
        drop(a); // the unreceived turn is dropped with the channel and passes on
        let turn = b.await.unwrap();
        assert_eq!(turn.id().as_ref(), "s");
    }

    #[test]
    fn queue_limit_max_sessions_and_bad_ids() {
        let t = table();
        let _busy = now(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
        let mut waiting = Vec::new();
        for _ in 0..4 {
            waiting.push(queued(
                t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0,
            ));
        }
        assert_eq!(
            t.begin(Some("s"), SessionPolicy::Enqueue)
                .err()
                .unwrap()
                .code(),
            "session_busy"
        );
        assert_eq!(
            t.begin(Some("s"), SessionPolicy::Reject)
                .err()
                .unwrap()
                .code(),
            "session_busy"
        );
        for i in 0..9 {
            drop(
                t.begin(Some(&format!("o{i}")), SessionPolicy::Enqueue)
                    .unwrap(),
            );
        }
        // Full of idle sessions: the least recently active idle one makes room, never the busy one.
        drop(t.begin(Some("newcomer"), SessionPolicy::Enqueue).unwrap());
        let evicted = t.take_evicted();
        assert_eq!(evicted.len(), 1, "{evicted:?}");
        assert!(evicted[0].starts_with('o'), "{evicted:?}");
        assert!(t.info(&evicted[0]).is_none());
        assert!(t.info("s").is_some() && t.info("newcomer").is_some());
        assert!(t.take_evicted().is_empty());
        assert!(t.begin(Some("bad\nid"), SessionPolicy::Enqueue).is_err());
    }

    #[test]
    fn a_table_full_of_busy_sessions_is_overloaded() {
        let t = SessionTable::new(Duration::from_secs(60), 3, 4);
        let _turns: Vec<_> = (0..3)
            .map(|i| {
                now(t
                    .begin(Some(&format!("b{i}")), SessionPolicy::Enqueue)
                    .unwrap()
                    .0)
            })
            .collect();
        assert_eq!(
            t.begin(Some("one-too-many"), SessionPolicy::Enqueue)
                .err()
                .unwrap()
                .code(),
            "overloaded"
        );
        assert!(t.take_evicted().is_empty());
    }
}
