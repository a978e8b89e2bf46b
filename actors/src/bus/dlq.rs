//! The bounded dead-letter queue: messages that expired or exhausted their retries, kept for
//! inspection and replay. When full, the oldest letter is dropped (logged and counted).

use crate::envelope::{now_unix, Envelope};
use crate::types::DeadLetter;
use parking_lot::Mutex;
use std::collections::VecDeque;

/// The queue itself; a lock per operation (dead-lettering is rare, never on the hop path).
pub struct DeadLetterQueue {
    capacity: usize,
    letters: Mutex<VecDeque<DeadLetter>>,
}

impl DeadLetterQueue {
    /// An empty queue holding at most `capacity` letters.
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

    /// Every letter, oldest first (for `GET /dlq`).
    pub fn list(&self) -> Vec<DeadLetter> {
        self.letters.lock().iter().cloned().collect()
    }

    /// Removes a letter for replay.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::EventType;
    use std::sync::Arc;

    fn env(n: u64) -> Envelope {
        Envelope::new(
            Arc::from("s"),
            EventType::InputReceived,
            Arc::new(serde_json::json!(n)),
            Arc::from("t"),
        )
    }

    #[test]
    fn bounded_oldest_dropped_and_take_by_id() {
        let q = DeadLetterQueue::new(2);
        let (a, dropped) = q.push(env(1), "r".into());
        assert!(!dropped);
        let (b, _) = q.push(env(2), "r".into());
        let (c, dropped) = q.push(env(3), "r".into());
        assert!(dropped);
        let ids: Vec<_> = q.list().into_iter().map(|l| l.id).collect();
        assert_eq!(ids, vec![b.clone(), c]);
        assert!(q.take(&a).is_none());
        assert_eq!(
            q.take(&b).unwrap().envelope.payload,
            Arc::new(serde_json::json!(2))
        );
        assert_eq!(q.len(), 1);
    }
}
