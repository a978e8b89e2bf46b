//! One session's state in the table, and which eviction class it belongs to.

use super::slots::Class;
use super::Paused;
use super::SessionTurn;
use crate::memory::MemoryWindow;
use crate::reply::Turn;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::oneshot;

/// The turn running in a session, so ending the session can stop it.
pub(super) struct Running {
    pub turn: Arc<Turn>,
    /// The entry component, named in the error its caller gets.
    pub component: Arc<str>,
}

pub(super) struct Session {
    /// The id, and this incarnation's identity: every envelope of a turn carries a clone of this
    /// `Arc`, so a write from a turn of an ended session is told apart from one of a new session
    /// that reuses the id.
    pub key: Arc<str>,
    pub created_at: f64,
    pub last_active: f64,
    pub turns: u64,
    pub busy: bool,
    /// Created for a request that named no session (the id is ours).
    pub anonymous: bool,
    pub waiters: VecDeque<oneshot::Sender<SessionTurn>>,
    /// Conversation windows, one per memory component used in this session (usually one).
    pub memories: Vec<(Arc<str>, MemoryWindow)>,
    /// Text bytes in `memories` (what the table's memory budget counts).
    pub memory_bytes: usize,
    /// Agents waiting for the user's answer to `ask_user` (resumed by the session's next input).
    pub paused: Vec<(Arc<str>, Paused)>,
    pub running: Option<Running>,
}

impl Session {
    /// A session whose first turn starts now.
    pub fn new(key: Arc<str>, anonymous: bool, now: f64) -> Session {
        Session {
            key,
            created_at: now,
            last_active: now,
            turns: 1,
            busy: true,
            anonymous,
            waiters: VecDeque::new(),
            memories: Vec::new(),
            memory_bytes: 0,
            paused: Vec::new(),
            running: None,
        }
    }

    /// Which idle list it waits on: what evicting it would lose. An agent waiting for the
    /// user's answer is always kept: the user was asked to come back.
    pub fn class(&self) -> Class {
        if !self.paused.is_empty() {
            Class::Kept
        } else if self.memories.iter().all(|(_, w)| w.is_empty()) {
            Class::Empty
        } else if self.anonymous && self.turns <= 1 {
            Class::OneShot
        } else {
            Class::Kept
        }
    }
}
