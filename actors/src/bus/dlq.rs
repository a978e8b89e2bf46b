//! The dead-letter queue: messages that expired or exhausted their retries, kept for inspection
//! and replay. Bounded in letters and in bytes (payload and message), because a count alone let
//! 10,000 large payloads hold gigabytes; when either bound is reached the oldest letters go first
//! (logged, counted in the stats and in `woodwork_dlq_dropped_total`). Letters carry a sequence
//! number so `GET /dlq` can page through them while letters arrive and leave. In a cluster the
//! letters are also kept on the broker ([`mirror`]), so they outlive the node.

pub(crate) mod mirror;

use crate::envelope::{now_unix, Envelope};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Why a message was dead-lettered: a stable code for tools and alerts (the words go in
/// [`DeadLetter::message`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterReason {
    /// The message outlived its TTL before a component handled it.
    TtlExpired,
    /// A retryable failure used up the request's retry budget.
    RetriesExhausted,
    /// A redelivery found the component's mailbox full for the whole send timeout.
    MailboxFull,
    /// An `output webhook` could not deliver an answer: a 4xx, a redirect loop, its retries
    /// spent on 5xx / timeouts / connection errors, or too many deliveries in flight. Replaying
    /// the letter POSTs the answer again.
    WebhookFailed,
}

impl DeadLetterReason {
    /// The code as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterReason::TtlExpired => "ttl_expired",
            DeadLetterReason::RetriesExhausted => "retries_exhausted",
            DeadLetterReason::MailboxFull => "mailbox_full",
            DeadLetterReason::WebhookFailed => "webhook_failed",
        }
    }
}

/// A message that could not be delivered, kept for inspection and replay (and, in a cluster, on
/// the broker as this JSON, hence `Deserialize`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The message id; `POST /dlq/{id}/replay` takes it.
    pub id: String,
    /// Arrival order in this queue, never reused: the paging cursor (`GET /dlq?after=<seq>`).
    pub seq: u64,
    pub reason: DeadLetterReason,
    /// What happened, for a human.
    pub message: String,
    /// Unix seconds.
    pub failed_at: f64,
    /// What this letter counts against the byte bound (its payload as JSON and its message).
    pub bytes: usize,
    pub envelope: Envelope,
}

/// The queue's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DlqLimits {
    /// Most letters kept.
    pub max_letters: usize,
    /// Most bytes kept (see [`DeadLetter::bytes`]).
    pub max_bytes: usize,
}

impl Default for DlqLimits {
    /// 10,000 letters, 64 MiB.
    fn default() -> Self {
        DlqLimits {
            max_letters: 10_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// One page of `GET /dlq`.
#[derive(Clone, Debug)]
pub struct DeadLetterPage {
    pub letters: Vec<DeadLetter>,
    /// Letters in the queue now.
    pub total: usize,
    /// The `after` cursor of the next page; None on the last page.
    pub next_after: Option<u64>,
}

/// What a push did.
#[derive(Debug, PartialEq, Eq)]
pub struct Pushed {
    /// The letter's id; None when the letter alone is over the byte bound and was not kept.
    pub id: Option<String>,
    /// Letters dropped to stay within the bounds (the refused one included).
    pub dropped: u64,
    /// The ids of the kept letters dropped to make room (the broker's copies go too).
    pub evicted: Vec<String>,
}

/// The queue's figures for the stats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DlqFigures {
    pub letters: usize,
    pub bytes: usize,
    pub dropped: u64,
}

struct Inner {
    letters: VecDeque<DeadLetter>,
    bytes: usize,
    next_seq: u64,
    dropped: u64,
}

/// The queue itself; a lock per operation (dead-lettering is rare, never on the hop path).
pub struct DeadLetterQueue {
    limits: DlqLimits,
    inner: Mutex<Inner>,
}

/// Counts what serde_json writes, so a payload's size is known without a copy of it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn payload_bytes(value: &serde_json::Value) -> usize {
    let mut count = ByteCount(0);
    // Writing a Value into a counter cannot fail; were it to, the count so far still stands.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

impl DeadLetterQueue {
    /// An empty queue within `limits` (each at least 1).
    pub fn new(limits: DlqLimits) -> DeadLetterQueue {
        DeadLetterQueue {
            limits: DlqLimits {
                max_letters: limits.max_letters.max(1),
                max_bytes: limits.max_bytes.max(1),
            },
            inner: Mutex::new(Inner {
                letters: VecDeque::new(),
                bytes: 0,
                next_seq: 1,
                dropped: 0,
            }),
        }
    }

    /// The queue's bounds.
    pub fn limits(&self) -> DlqLimits {
        self.limits
    }

    /// Adds a letter, dropping the oldest ones until it fits both bounds.
    pub fn push(&self, envelope: Envelope, reason: DeadLetterReason, message: String) -> Pushed {
        self.insert(envelope, reason, message, now_unix())
    }

    /// Puts back a letter kept elsewhere (the broker's copy, at start), with its own time and
    /// reason and a new sequence number; its size is measured again. A letter whose id is held
    /// already is left out (`id` None, nothing dropped).
    pub fn restore(&self, letter: DeadLetter) -> Pushed {
        if self.inner.lock().letters.iter().any(|l| l.id == letter.id) {
            return Pushed {
                id: None,
                dropped: 0,
                evicted: Vec::new(),
            };
        }
        self.insert(
            letter.envelope,
            letter.reason,
            letter.message,
            letter.failed_at,
        )
    }

    fn insert(
        &self,
        envelope: Envelope,
        reason: DeadLetterReason,
        message: String,
        failed_at: f64,
    ) -> Pushed {
        let mut envelope = envelope;
        envelope.reply = None;
        let bytes = payload_bytes(&envelope.payload) + message.len();
        let mut q = self.inner.lock();
        if bytes > self.limits.max_bytes {
            q.dropped += 1;
            return Pushed {
                id: None,
                dropped: 1,
                evicted: Vec::new(),
            };
        }
        let mut evicted = Vec::new();
        while q.letters.len() >= self.limits.max_letters || q.bytes + bytes > self.limits.max_bytes
        {
            let Some(old) = q.letters.pop_front() else {
                break;
            };
            q.bytes -= old.bytes;
            evicted.push(old.id);
        }
        let dropped = evicted.len() as u64;
        q.dropped += dropped;
        let id = envelope.message_id.to_string();
        let seq = q.next_seq;
        q.next_seq += 1;
        q.bytes += bytes;
        q.letters.push_back(DeadLetter {
            id: id.clone(),
            seq,
            reason,
            message,
            failed_at,
            bytes,
            envelope,
        });
        Pushed {
            id: Some(id),
            dropped,
            evicted,
        }
    }

    /// Every letter, oldest first.
    pub fn list(&self) -> Vec<DeadLetter> {
        self.inner.lock().letters.iter().cloned().collect()
    }

    /// At most `limit` letters with a sequence number above `after`, oldest first.
    pub fn page(&self, after: Option<u64>, limit: usize) -> DeadLetterPage {
        let q = self.inner.lock();
        let after = after.unwrap_or(0);
        // Sequence numbers only grow along the queue, so the start is a binary search.
        let start = q.letters.partition_point(|l| l.seq <= after);
        let letters: Vec<DeadLetter> = q
            .letters
            .range(start..)
            .take(limit.max(1))
            .cloned()
            .collect();
        let more = start + letters.len() < q.letters.len();
        DeadLetterPage {
            next_after: letters.last().filter(|_| more).map(|l| l.seq),
            letters,
            total: q.letters.len(),
        }
    }

    /// One letter by id, left in place.
    pub fn get(&self, id: &str) -> Option<DeadLetter> {
        self.inner
            .lock()
            .letters
            .iter()
            .find(|l| l.id == id)
            .cloned()
    }

    /// Removes a letter for replay.
    pub fn take(&self, id: &str) -> Option<DeadLetter> {
        let mut q = self.inner.lock();
        let pos = q.letters.iter().position(|l| l.id == id)?;
        let letter = q.letters.remove(pos)?;
        q.bytes -= letter.bytes;
        Some(letter)
    }

    /// Letters, bytes held and letters dropped so far.
    pub fn figures(&self) -> DlqFigures {
        let q = self.inner.lock();
        DlqFigures {
            letters: q.letters.len(),
            bytes: q.bytes,
            dropped: q.dropped,
        }
    }

    /// Letters held (tests read it; the runtime reads `stats`).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner.lock().letters.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::EventType;
    use std::sync::Arc;

    fn env(payload: serde_json::Value) -> Envelope {
        Envelope::new(
            Arc::from("s"),
            EventType::InputReceived,
            Arc::new(payload),
            Arc::from("t"),
        )
    }

    fn limits(max_letters: usize, max_bytes: usize) -> DlqLimits {
        DlqLimits {
            max_letters,
            max_bytes,
        }
    }

    const R: DeadLetterReason = DeadLetterReason::RetriesExhausted;

    #[test]
    fn bounded_in_count_oldest_dropped_and_take_by_id() {
        let q = DeadLetterQueue::new(limits(2, 1 << 20));
        let a = q.push(env(serde_json::json!(1)), R, "r".into());
        assert_eq!(a.dropped, 0);
        let b = q.push(env(serde_json::json!(2)), R, "r".into()).id.unwrap();
        let c = q.push(env(serde_json::json!(3)), R, "r".into());
        assert_eq!(c.dropped, 1);
        let ids: Vec<_> = q.list().into_iter().map(|l| l.id).collect();
        assert_eq!(ids, vec![b.clone(), c.id.unwrap()]);
        assert!(q.take(&a.id.unwrap()).is_none());
        assert_eq!(
            q.take(&b).unwrap().envelope.payload,
            Arc::new(serde_json::json!(2))
        );
        assert_eq!(q.len(), 1);
        assert_eq!(q.figures().dropped, 1);
    }

    #[test]
    fn bounded_in_bytes_and_a_letter_over_the_bound_is_refused() {
        let q = DeadLetterQueue::new(limits(1000, 100));
        for _ in 0..10 {
            // 32 bytes of payload ("…" with quotes) + 2 of message.
            q.push(env(serde_json::json!("x".repeat(30))), R, "mm".into());
        }
        let f = q.figures();
        assert_eq!(f.letters, 2);
        assert_eq!(f.bytes, 68);
        assert_eq!(f.dropped, 8);
        let refused = q.push(env(serde_json::json!("y".repeat(200))), R, "m".into());
        assert_eq!(refused.id, None);
        assert_eq!(q.figures().letters, 2);
        assert_eq!(q.figures().dropped, 9);
        let id = q.list()[0].id.clone();
        q.take(&id);
        assert_eq!(q.figures().bytes, 34);
    }

    #[test]
    fn restored_letters_keep_their_time_and_reason_get_new_seqs_and_respect_the_bounds() {
        let source = DeadLetterQueue::new(limits(100, 1 << 20));
        for i in 0..3 {
            source.push(
                env(serde_json::json!(i)),
                DeadLetterReason::WebhookFailed,
                "w".into(),
            );
        }
        // Through JSON, as the broker keeps them.
        let stored: Vec<DeadLetter> = source
            .list()
            .iter()
            .map(|l| serde_json::from_slice(&serde_json::to_vec(l).unwrap()).unwrap())
            .collect();
        let q = DeadLetterQueue::new(limits(2, 1 << 20));
        q.push(env(serde_json::json!("local")), R, "r".into());
        let first = q.restore(stored[0].clone());
        assert_eq!(first.id.as_deref(), Some(stored[0].id.as_str()));
        // The same id again is left out.
        assert_eq!(q.restore(stored[0].clone()).id, None);
        // The bound drops the oldest, and says which.
        let local = q.list()[0].id.clone();
        let second = q.restore(stored[1].clone());
        assert_eq!(second.evicted, vec![local]);
        let kept = q.list();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].failed_at, stored[0].failed_at);
        assert_eq!(kept[1].reason, DeadLetterReason::WebhookFailed);
        assert_eq!(kept[1].envelope.payload, stored[1].envelope.payload);
        assert!(kept[0].seq < kept[1].seq && kept[0].seq > 1);
        assert_eq!(q.figures().bytes, kept[0].bytes + kept[1].bytes);
    }

    #[test]
    fn pages_cover_every_letter_once_while_letters_leave() {
        let q = DeadLetterQueue::new(limits(100, 1 << 20));
        for i in 0..10 {
            q.push(env(serde_json::json!(i)), R, "r".into());
        }
        let first = q.page(None, 4);
        assert_eq!(first.letters.len(), 4);
        assert_eq!(first.total, 10);
        // The cursor's own letter leaving does not lose the place.
        q.take(&first.letters[3].id);
        let second = q.page(first.next_after, 4);
        let third = q.page(second.next_after, 4);
        assert_eq!(third.next_after, None);
        let seen: Vec<u64> = [first, second, third]
            .iter()
            .flat_map(|p| p.letters.iter().map(|l| l.seq))
            .collect();
        assert_eq!(seen, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
}
