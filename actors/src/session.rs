//! Sessions (DESIGN.md §4): created or resumed by id, one turn at a time per session (single
//! writer), a bounded queue of waiting turns (`enqueue`) or an immediate `SessionBusy` (`reject`),
//! bounded per-session conversation memory, idle eviction after a TTL.
//!
//! The table is bounded twice: in sessions (`max_sessions`: a new session evicts the least
//! recently active idle one, sessions with nothing to lose and one-shot sessions before
//! conversations; `Overloaded` only when every session is busy) and in conversation bytes in
//! total (`memory_budget`: past it, the least recently active idle sessions holding memory are
//! evicted). All of it sits behind one short lock with O(1) work per admission and eviction (see
//! [`slots`]), so admissions never race each other into a spurious `Overloaded`.
//!
//! Ending a session ([`SessionTable::remove`]) cancels its running turn, and the turn's late
//! writes (memory, a paused agent) are fenced off: they name the ended incarnation, not a new
//! session that reuses the id.

mod entry;
mod id;
mod manager;
mod paused;
mod slots;

pub use id::MAX_SESSION_ID;
pub use manager::{EvictIdle, SessionManager};
pub use paused::Paused;

use crate::envelope::now_unix;
use crate::error::{CancelReason, RuntimeError};
use crate::llm::ChatMessage;
use crate::memory::{MemoryLimits, MemoryWindow};
use crate::reply::Turn;
use crate::types::SessionInfo;
use entry::{Running, Session};
use parking_lot::Mutex;
use slots::{Class, Slots};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::oneshot;
use woodwork_parser::SessionPolicy;

/// Default bound on all sessions' conversation memory together (text bytes).
pub const DEFAULT_MEMORY_BUDGET: usize = 256 * 1024 * 1024;

/// What announces a session that ended without a request asking (evicted or expired).
pub type OnEnded = Box<dyn Fn(&str) + Send + Sync>;

#[derive(Default)]
struct Table {
    index: HashMap<Arc<str>, u32>,
    slots: Slots<Session>,
    /// Sum of every session's `memory_bytes`.
    memory_bytes: usize,
}

impl Table {
    fn slot(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The slot of this incarnation (`key` is the `Arc` the session was created with).
    fn slot_of(&self, key: &Arc<str>) -> Option<u32> {
        let slot = self.slot(key)?;
        let s = self.slots.get(slot)?;
        Arc::ptr_eq(&s.key, key).then_some(slot)
    }

    fn take(&mut self, slot: u32) -> Option<Session> {
        let s = self.slots.remove(slot)?;
        self.index.remove(&s.key);
        self.memory_bytes -= s.memory_bytes;
        Some(s)
    }

    /// An idle session's state changed after its turn (a late write): it counts as activity and
    /// may change class.
    fn touched(&mut self, slot: u32) {
        if self.slots.list_of(slot).is_none() {
            return; // busy: it is linked again when its turn ends
        }
        if let Some(s) = self.slots.get_mut(slot) {
            s.last_active = now_unix();
            let class = s.class();
            self.slots.push_back(slot, class);
        }
    }

    /// Gives memory back after many sessions ended: the slab and the index shrink when mostly
    /// empty (O(live sessions), amortised over the removals that emptied them).
    fn shrink(&mut self) {
        if self.slots.is_sparse() {
            let remap = self.slots.compact();
            for slot in self.index.values_mut() {
                *slot = remap[*slot as usize];
            }
        }
        if self.index.capacity() > 1024 && self.index.len() < self.index.capacity() / 4 {
            let keep = self.index.len() * 2;
            self.index.shrink_to(keep);
        }
    }

    /// The idle session to evict for room: the least recently active one with nothing to lose or
    /// a one-shot one, else the least recently active conversation.
    fn victim(&self) -> Option<u32> {
        let oldest = |class| {
            self.slots
                .front(class)
                .and_then(|i| self.slots.get(i).map(|s| (s.last_active, i)))
        };
        match (oldest(Class::Empty), oldest(Class::OneShot)) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a.1 } else { b.1 }),
            (a, b) => a.or(b).map(|(_, i)| i),
        }
        .or_else(|| self.slots.front(Class::Kept))
    }
}

/// A session as `/sessions` shows it.
fn info_of(s: &Session) -> SessionInfo {
    SessionInfo {
        id: s.key.to_string(),
        created_at: s.created_at,
        last_active: s.last_active,
        turns: s.turns,
        busy: s.busy,
        queued: s.waiters.iter().filter(|w| !w.is_closed()).count(),
    }
}

/// All sessions.
pub struct SessionTable {
    table: Mutex<Table>,
    ttl: Duration,
    max_sessions: usize,
    queue_limit: usize,
    memory_budget: usize,
    created: AtomicU64,
    on_ended: OnceLock<OnEnded>,
}

/// Holding the turn of a session; dropping it hands the turn to the next waiter.
pub struct SessionTurn {
    table: Option<Arc<SessionTable>>,
    id: Arc<str>,
}

impl SessionTurn {
    /// The session's id, as the session's own `Arc` (envelopes of the turn carry clones of it).
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

impl SessionTable {
    /// A table with the default conversation-memory budget.
    pub fn new(ttl: Duration, max_sessions: usize, queue_limit: usize) -> Arc<SessionTable> {
        Self::with_memory_budget(ttl, max_sessions, queue_limit, DEFAULT_MEMORY_BUDGET)
    }

    /// A table whose sessions keep at most `memory_budget` bytes of conversation in total.
    pub fn with_memory_budget(
        ttl: Duration,
        max_sessions: usize,
        queue_limit: usize,
        memory_budget: usize,
    ) -> Arc<SessionTable> {
        Arc::new(SessionTable {
            table: Mutex::new(Table::default()),
            ttl,
            max_sessions: max_sessions.clamp(1, u32::MAX as usize - 1),
            queue_limit,
            memory_budget,
            created: AtomicU64::new(0),
            on_ended: OnceLock::new(),
        })
    }

    /// Where evictions and expiries are announced (`session.ended`); set once, at start.
    pub fn set_on_ended(&self, f: OnEnded) {
        let _ = self.on_ended.set(f);
    }

    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn len(&self) -> usize {
        self.table.lock().slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Conversation bytes kept by all sessions together (bounded by the memory budget, plus what
    /// sessions busy with a turn hold beyond it until their turn ends).
    pub fn memory_bytes(&self) -> usize {
        self.table.lock().memory_bytes
    }

    fn announce(&self, ended: Vec<Session>) {
        if let Some(f) = self.on_ended.get() {
            for s in &ended {
                f(&s.key);
            }
        }
        // Their memory and waiters are freed here, outside the lock.
        drop(ended);
    }

    /// Starts a turn in session `id` (a new session when `None` or unknown). Returns whether the
    /// session was created.
    pub fn begin(
        self: &Arc<Self>,
        id: Option<&str>,
        policy: SessionPolicy,
    ) -> Result<(Admission, bool), RuntimeError> {
        let owned;
        let (id, anonymous) = match id {
            Some(id) => {
                id::check(id)?;
                (id, false)
            }
            None => {
                owned = id::new_session_id();
                (owned.as_str(), true)
            }
        };
        let now = now_unix();
        let mut t = self.table.lock();
        if let Some(slot) = t.slot(id) {
            t.slots.unlink(slot);
            if let Some(s) = t.slots.get_mut(slot) {
                s.last_active = now;
                if !s.busy {
                    s.busy = true;
                    s.turns += 1;
                    let key = s.key.clone();
                    drop(t);
                    return Ok((Admission::Now(self.turn(key)), false));
                }
                return match policy {
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
                        Ok((Admission::Queued(s.key.clone(), rx), false))
                    }
                };
            }
        }
        let mut evicted = Vec::new();
        if t.slots.len() >= self.max_sessions {
            // Decided under the lock: concurrent admissions cannot pick the same victim.
            match t.victim().and_then(|v| t.take(v)) {
                Some(s) => evicted.push(s),
                // Every session is busy: a real overload, not a full table of idle ones.
                None => {
                    return Err(RuntimeError::Overloaded {
                        retry_after: Duration::from_secs(1),
                    })
                }
            }
        }
        let key: Arc<str> = Arc::from(id);
        let slot = t.slots.insert(Session::new(key.clone(), anonymous, now));
        t.index.insert(key.clone(), slot);
        drop(t);
        self.created.fetch_add(1, Ordering::Relaxed);
        self.announce(evicted);
        Ok((Admission::Now(self.turn(key)), true))
    }

    fn turn(self: &Arc<Self>, key: Arc<str>) -> SessionTurn {
        SessionTurn {
            table: Some(self.clone()),
            id: key,
        }
    }

    /// Ends the current turn: the next live waiter gets it, else the session goes idle.
    fn end_turn(self: &Arc<Self>, key: &Arc<str>) {
        let mut t = self.table.lock();
        // Nothing to do when the session was ended (or its id reused) meanwhile.
        let Some(slot) = t.slot_of(key) else {
            return;
        };
        let Some(s) = t.slots.get_mut(slot) else {
            return;
        };
        s.last_active = now_unix();
        s.running = None;
        while let Some(tx) = s.waiters.pop_front() {
            if tx.is_closed() {
                continue;
            }
            s.turns += 1;
            match tx.send(self.turn(key.clone())) {
                Ok(()) => return,
                Err(mut turn) => {
                    // The waiter went away between the check and the send: disarm that turn
                    // so dropping it does not re-enter this function (and its lock).
                    turn.table = None;
                    s.turns -= 1;
                }
            }
        }
        s.busy = false;
        let class = s.class();
        t.slots.push_back(slot, class);
        let evicted = self.within_budget(&mut t);
        drop(t);
        self.announce(evicted);
    }

    /// Evicts the least recently active idle sessions holding memory (one-shot ones first)
    /// until all conversation memory fits the budget again. Busy sessions are left alone: what
    /// they hold is bounded by their windows and is trimmed when their turn ends.
    fn within_budget(&self, t: &mut Table) -> Vec<Session> {
        let mut evicted = Vec::new();
        while t.memory_bytes > self.memory_budget {
            let Some(slot) = t
                .slots
                .front(Class::OneShot)
                .or_else(|| t.slots.front(Class::Kept))
            else {
                break;
            };
            match t.take(slot) {
                Some(s) => evicted.push(s),
                None => break,
            }
        }
        evicted
    }

    /// Registers the turn running in the session, so ending the session cancels it. False when
    /// the session was ended since the turn was admitted.
    pub fn attach(&self, key: &Arc<str>, turn: &Arc<Turn>, component: &Arc<str>) -> bool {
        let mut t = self.table.lock();
        let Some(slot) = t.slot_of(key) else {
            return false;
        };
        match t.slots.get_mut(slot) {
            Some(s) => {
                s.running = Some(Running {
                    turn: turn.clone(),
                    component: component.clone(),
                });
                true
            }
            None => false,
        }
    }

    /// The `/sessions/{id}` view.
    pub fn info(&self, id: &str) -> Option<SessionInfo> {
        let t = self.table.lock();
        t.slots.get(t.slot(id)?).map(info_of)
    }

    /// The `limit` most recently active sessions, most recent first, and how many there are in
    /// all (`GET /sessions`). One pass over the table under its lock: two numbers copied per
    /// session, then a partial sort of those; only the `limit` listed are built.
    pub fn recent(&self, limit: usize) -> (usize, Vec<SessionInfo>) {
        let t = self.table.lock();
        let mut order: Vec<(f64, u32)> = t
            .index
            .values()
            .filter_map(|&slot| t.slots.get(slot).map(|s| (s.last_active, slot)))
            .collect();
        let total = order.len();
        let newest_first = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0);
        if limit < order.len() {
            order.select_nth_unstable_by(limit, newest_first);
            order.truncate(limit);
        }
        order.sort_unstable_by(newest_first);
        let sessions = order
            .into_iter()
            .filter_map(|(_, slot)| t.slots.get(slot))
            .map(info_of)
            .collect();
        (total, sessions)
    }

    /// Ends a session: its running turn is cancelled (its caller is told the session ended),
    /// waiting turns are refused, its memory is freed. True if it existed.
    pub fn remove(&self, id: &str) -> bool {
        let removed = {
            let mut t = self.table.lock();
            t.slot(id).and_then(|slot| t.take(slot))
        };
        let Some(mut s) = removed else {
            return false;
        };
        if let Some(r) = s.running.take() {
            r.turn
                .cancel_with(RuntimeError::Cancelled(CancelReason::SessionEnded {
                    session_id: id.to_string(),
                    component: r.component.to_string(),
                }));
        }
        true
    }

    /// Every conversation window of the session, oldest turn first (what `/sessions` shows).
    pub fn history(&self, id: &str) -> Vec<ChatMessage> {
        let t = self.table.lock();
        t.slot(id)
            .and_then(|slot| t.slots.get(slot))
            .map(|s| s.memories.iter().flat_map(|(_, w)| w.messages()).collect())
            .unwrap_or_default()
    }

    fn with_window<R>(
        &self,
        id: &str,
        memory: &str,
        f: impl FnOnce(&MemoryWindow) -> R,
    ) -> Option<R> {
        let t = self.table.lock();
        let s = t.slots.get(t.slot(id)?)?;
        s.memories
            .iter()
            .find(|(m, _)| &**m == memory)
            .map(|(_, w)| f(w))
    }

    /// The session's window of memory component `memory`, as chat messages (empty when none).
    pub fn recall(&self, id: &str, memory: &str) -> Vec<ChatMessage> {
        self.with_window(id, memory, MemoryWindow::messages)
            .unwrap_or_default()
    }

    /// The session's window of `memory` as the Python engine renders it (`[USER]` / `[AI]`
    /// lines): what the memory tool's `read` answers.
    pub fn render_memory(&self, id: &str, memory: &str) -> String {
        self.with_window(id, memory, MemoryWindow::render)
            .unwrap_or_default()
    }

    /// Forgets the session's window of `memory` (the memory tool's `clear`); true if it held any turn.
    pub fn clear_memory(&self, id: &str, memory: &str) -> bool {
        let mut t = self.table.lock();
        let Some(slot) = t.slot(id) else {
            return false;
        };
        let Some(s) = t.slots.get_mut(slot) else {
            return false;
        };
        let Some(i) = s.memories.iter().position(|(m, _)| &**m == memory) else {
            return false;
        };
        let (_, window) = s.memories.swap_remove(i);
        s.memory_bytes -= window.bytes();
        t.memory_bytes -= window.bytes();
        t.touched(slot);
        drop(t);
        !window.is_empty()
    }

    /// Records one completed turn in the session's window of `memory`, forgetting the oldest
    /// turns past `limits`, then keeps all sessions' memory within the budget.
    ///
    /// `id` must be the session id the turn's envelopes carry (a clone of [`SessionTurn::id`]):
    /// a turn of a session that was ended writes nothing, even when a new session took its id.
    pub fn record(
        &self,
        id: &Arc<str>,
        memory: &Arc<str>,
        limits: MemoryLimits,
        user: &str,
        ai: &str,
    ) {
        let mut t = self.table.lock();
        let Some(slot) = t.slot_of(id) else {
            return;
        };
        let Some(s) = t.slots.get_mut(slot) else {
            return;
        };
        let i = match s.memories.iter().position(|(m, _)| m == memory) {
            Some(i) => i,
            None => {
                s.memories.push((memory.clone(), MemoryWindow::default()));
                s.memories.len() - 1
            }
        };
        let window = &mut s.memories[i].1;
        let before = window.bytes();
        window.push(limits, user, ai);
        let after = window.bytes();
        s.memory_bytes = s.memory_bytes - before + after;
        t.memory_bytes = t.memory_bytes - before + after;
        t.touched(slot);
        let evicted = self.within_budget(&mut t);
        drop(t);
        self.announce(evicted);
    }

    /// Parks an agent's loop until the session's next input (`ask_user`). Like [`Self::record`],
    /// `id` must be the turn's own session id, so an ended session's turn parks nothing.
    pub fn pause(&self, id: &Arc<str>, agent: &Arc<str>, state: Paused) {
        let mut t = self.table.lock();
        let Some(slot) = t.slot_of(id) else {
            return;
        };
        if let Some(s) = t.slots.get_mut(slot) {
            s.paused.retain(|(a, _)| a != agent);
            s.paused.push((agent.clone(), state));
            t.touched(slot);
        }
    }

    /// Takes the parked loop of `agent` in this session, if it asked the user something.
    pub fn resume(&self, id: &str, agent: &str) -> Option<Paused> {
        let mut t = self.table.lock();
        let slot = t.slot(id)?;
        let s = t.slots.get_mut(slot)?;
        let i = s.paused.iter().position(|(a, _)| &**a == agent)?;
        let state = s.paused.swap_remove(i).1;
        t.touched(slot);
        Some(state)
    }

    /// Evicts sessions idle longer than the TTL (announcing each); returns how many went. Idle
    /// lists are in order of last activity, so this looks at the expired sessions only, a batch
    /// per lock so a mass expiry does not stall admissions.
    pub fn evict_idle(&self) -> usize {
        const BATCH: usize = 4096;
        let cutoff = now_unix() - self.ttl.as_secs_f64();
        let mut total = 0;
        loop {
            let mut gone = Vec::new();
            {
                let mut t = self.table.lock();
                for class in Class::ALL {
                    while gone.len() < BATCH {
                        let Some(slot) = t.slots.front(class) else {
                            break;
                        };
                        if t.slots.get(slot).is_none_or(|s| s.last_active >= cutoff) {
                            break;
                        }
                        match t.take(slot) {
                            Some(s) => gone.push(s),
                            None => break,
                        }
                    }
                }
                if gone.len() < BATCH {
                    t.shrink();
                }
            }
            let n = gone.len();
            total += n;
            self.announce(gone);
            if n < BATCH {
                return total;
            }
        }
    }
}

#[cfg(test)]
mod tests;
