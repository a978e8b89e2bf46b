//! The receiving end of streamed text as providers see it: remembers whether any token went out
//! (a call that streamed is never retried) and turns a vanished receiver into cancellation.

use super::{ChunkSender, ModelError, ModelErrorKind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Cheap to clone: every attempt of one call shares the "already streamed" flag.
#[derive(Clone, Debug, Default)]
pub struct ChunkSink {
    tx: Option<ChunkSender>,
    sent: Arc<AtomicBool>,
}

impl ChunkSink {
    /// Wraps the caller's sender; None means an unstreamed call.
    pub fn new(tx: Option<ChunkSender>) -> Self {
        ChunkSink {
            tx,
            sent: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the caller asked for a streamed reply.
    pub fn is_streaming(&self) -> bool {
        self.tx.is_some()
    }

    /// Whether at least one chunk reached the caller.
    pub fn sent(&self) -> bool {
        self.sent.load(Ordering::Relaxed)
    }

    /// Resolves once the caller dropped the receiver (never, for an unstreamed call), so a call
    /// waiting on a silent provider stops as soon as nobody wants its answer.
    pub async fn closed(&self) {
        match &self.tx {
            Some(tx) => tx.closed().await,
            None => std::future::pending().await,
        }
    }

    /// The error for a call abandoned by its caller.
    pub fn cancelled(&self) -> ModelError {
        let mut err = ModelError::new(
            ModelErrorKind::Cancelled,
            "the receiver of the streamed reply went away; the call was abandoned",
        );
        err.after_first_token = self.sent();
        err
    }

    /// Sends one text delta, waiting while the receiver is full (backpressure). Empty deltas are
    /// skipped. A dropped receiver ends the call as `Cancelled`.
    pub async fn send(&self, text: &str) -> Result<(), ModelError> {
        let Some(tx) = &self.tx else { return Ok(()) };
        if text.is_empty() {
            return Ok(());
        }
        if tx.send(text.to_owned()).await.is_err() {
            return Err(self.cancelled());
        }
        self.sent.store(true, Ordering::Relaxed);
        Ok(())
    }
}
