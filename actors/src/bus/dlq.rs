//! The bounded dead-letter queue: messages that expired or exhausted their retries, kept for
//! inspection and replay. When full, the oldest letter is dropped (logged and counted).

use crate::envelope::{now_unix, Envelope};
use crate::types::DeadLetter;
use parking_lot::Mutex;
use std::collections::VecDeque;

pub struct DeadLetterQueue {
    capacity: usize,
    letters: Mutex<VecDeque<DeadLetter>>,
}

impl DeadLetterQueue {
    pub fn new(capacity: usize) -> DeadLetterQueue {
        DeadLetterQueue {
            capacity: capacity.max(1),
            letters: Mutex::new(VecDeque::new()),
        }
    }

    /// Adds a letter; returns its id and whether an old letter had to be dropped.
    pub fn push(&self, envelope: Envelope, reason: String) -> (String, bool) {
        let id = envelope.message_id.to_string();
        let mut envelope = envelope;
        envelope.reply = None;
        let letter = DeadLetter {
            id: id.clone(),
            envelope,
            reason,
            failed_at: now_unix(),
        };
        let mut q = self.letters.lock();
        let dropped = if q.len() >= self.capacity {
            q.pop_front();
            true
        } else {
            false
        };
        q.push_back(letter);
        (id, dropped)
    }

    pub fn list(&self) -> Vec<DeadLetter> {
        self.letters.lock().iter().cloned().collect()
    }

    pub fn take(&self, id: &str) -> Option<DeadLetter> {
        let mut q = self.letters.lock();
        let pos = q.iter().position(|l| l.id == id)?;
        q.remove(pos)
    }

    pub fn len(&self) -> usize {
        self.letters.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
