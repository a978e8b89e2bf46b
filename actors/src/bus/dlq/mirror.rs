//! The dead-letter queue on the broker (DESIGN.md §7, issue #12): in a cluster every letter a
//! node keeps is also put in the KV bucket [`BUCKET`] (key: the letter's id, value: the letter as
//! JSON), a letter taken out for replay or dropped to stay within the bounds is deleted there,
//! and a node starting loads what it finds, so `GET /dlq` still lists them after a restart.
//!
//! The writes run on one task, in order (a delete never overtakes the put of the same letter),
//! fed by a bounded channel: when [`PENDING`] writes wait already, a new one is dropped with a
//! warning and counted in `woodwork_dlq_mirror_dropped_total`, rather than queued without bound.
//! Writes still waiting when the process stops are lost; a letter is then only on this node's
//! list until it restarts (or, for a lost delete, comes back after a restart).

use super::{DeadLetter, DeadLetterQueue};
use bytes::Bytes;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use woodwork_broker::{Broker, Kv};

/// The KV bucket of dead letters.
pub(crate) const BUCKET: &str = "dlq";

/// Writes that may wait for the broker at once.
const PENDING: usize = 1024;

/// Longest one broker call may take before it counts as failed.
const BROKER_BOUND: Duration = Duration::from_secs(10);

/// Letters read at once while loading.
const LOAD_CONCURRENCY: usize = 16;

/// Keys looked at while loading, per letter the local queue holds: several nodes each keep up
/// to their own bound in the one bucket.
const LOAD_KEYS_PER_LETTER: usize = 4;

enum Write {
    Put(String, Bytes),
    Delete(String),
}

/// This node's writer to the broker's copy of the queue.
pub(crate) struct DlqMirror {
    tx: mpsc::Sender<Write>,
}

/// The KV key of letter `id`: a prefix and the id in hex (ids are UUIDs, but a key must be
/// valid on every broker whatever an id holds).
fn key_of(id: &str) -> String {
    crate::cluster::hex_key("l-", id)
}

/// The id a key was made from, or None for a key that is not one of ours.
fn id_of(key: &str) -> Option<String> {
    let hex = key.strip_prefix("l-")?;
    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

async fn bounded<T>(
    call: impl std::future::Future<Output = Result<T, woodwork_broker::BrokerError>>,
) -> Result<T, String> {
    crate::cluster::within(BROKER_BOUND, call).await
}

impl DlqMirror {
    /// Opens the bucket on `broker`, loads the letters it holds into `dlq` (oldest first, within
    /// the queue's bounds: what does not fit is deleted there too) and starts the writer. An
    /// error says why the bucket cannot be used; a letter that cannot be read is skipped with a
    /// warning.
    pub(crate) async fn open(broker: &Broker, dlq: &DeadLetterQueue) -> Result<DlqMirror, String> {
        let kv = bounded(broker.listed_kv(BUCKET, None)).await.map_err(|e| {
            format!("cannot open the dead-letter bucket `{BUCKET}` on the broker: {e}")
        })?;
        let stale = load(&*kv, dlq).await?;
        let (tx, rx) = mpsc::channel(PENDING);
        actix_rt::spawn(write(kv, rx));
        let mirror = DlqMirror { tx };
        for id in stale {
            mirror.delete(&id);
        }
        Ok(mirror)
    }

    /// Puts `letter` on the broker (in the background).
    pub(crate) fn put(&self, letter: &DeadLetter) {
        match serde_json::to_vec(letter) {
            Ok(body) => self.send(Write::Put(key_of(&letter.id), body.into())),
            Err(e) => {
                tracing::warn!(id = %letter.id, error = %e, "a dead letter cannot be encoded for the broker; it is kept on this node only");
            }
        }
    }

    /// Deletes letter `id` on the broker (in the background).
    pub(crate) fn delete(&self, id: &str) {
        self.send(Write::Delete(key_of(id)));
    }

    fn send(&self, w: Write) {
        match self.tx.try_send(w) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!("woodwork_dlq_mirror_dropped_total").increment(1);
                tracing::warn!(
                    pending = PENDING,
                    "too many dead-letter writes wait for the broker: this one is dropped (the letter stays in this node's queue)"
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                metrics::counter!("woodwork_dlq_mirror_dropped_total").increment(1);
            }
        }
    }
}

/// The writer: one write at a time, in order, until every sender is gone.
async fn write(kv: Arc<dyn Kv>, mut rx: mpsc::Receiver<Write>) {
    while let Some(w) = rx.recv().await {
        let (what, key, done) = match w {
            Write::Put(key, body) => {
                let done = bounded(kv.put(&key, body)).await;
                ("put", key, done)
            }
            Write::Delete(key) => {
                let done = bounded(kv.delete(&key)).await;
                ("delete", key, done)
            }
        };
        if let Err(e) = done {
            let id = id_of(&key).unwrap_or(key);
            tracing::warn!(%id, error = %e, "could not {what} a dead letter on the broker");
        }
    }
}

/// Reads every letter of the bucket into `dlq`, oldest first; returns the ids the queue's bounds
/// left out, to delete on the broker as the queue would have dropped them.
async fn load(kv: &dyn Kv, dlq: &DeadLetterQueue) -> Result<Vec<String>, String> {
    let max = dlq
        .limits()
        .max_letters
        .saturating_mul(LOAD_KEYS_PER_LETTER);
    let keys = bounded(kv.keys(max))
        .await
        .map_err(|e| format!("cannot list the dead letters on the broker: {e}"))?;
    let mut letters: Vec<DeadLetter> = futures_util::stream::iter(keys)
        .map(|key| async move {
            let got = bounded(kv.get(&key)).await;
            (key, got)
        })
        .buffer_unordered(LOAD_CONCURRENCY)
        .filter_map(|(key, got)| async move {
            let bytes = match got {
                Ok(Some(b)) => b,
                Ok(None) => return None, // deleted meanwhile
                Err(e) => {
                    tracing::warn!(%key, error = %e, "could not read a dead letter on the broker; skipped");
                    return None;
                }
            };
            match serde_json::from_slice::<DeadLetter>(&bytes) {
                Ok(l) if id_of(&key).as_deref() == Some(l.id.as_str()) => Some(l),
                Ok(_) => {
                    tracing::warn!(%key, "a dead letter on the broker is stored under another id's key; skipped");
                    None
                }
                Err(e) => {
                    tracing::warn!(%key, error = %e, "a value in the dead-letter bucket is not a dead letter; skipped");
                    None
                }
            }
        })
        .collect()
        .await;
    letters.sort_by(|a, b| a.failed_at.total_cmp(&b.failed_at));
    let mut stale = Vec::new();
    let found = letters.len();
    for letter in letters {
        let id = letter.id.clone();
        let pushed = dlq.restore(letter);
        stale.extend(pushed.evicted);
        if pushed.id.is_none() && pushed.dropped > 0 {
            stale.push(id);
        }
    }
    if found > 0 {
        tracing::info!(
            found,
            kept = dlq.figures().letters,
            "loaded the dead letters kept on the broker"
        );
    }
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_are_valid_on_every_broker() {
        let id = "0192f3a4-5b6c-7d8e-9f00-112233445566";
        let key = key_of(id);
        assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert_eq!(id_of(&key).as_deref(), Some(id));
        assert_eq!(id_of("s-6162"), None);
        assert_eq!(id_of("l-6"), None);
        assert_eq!(id_of("l-zz"), None);
    }
}
