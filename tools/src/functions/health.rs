//! Restart bookkeeping: whether the worker is up, and when to try again after a failed start,
//! so a file that keeps failing to import is retried with growing pauses instead of in a loop.

use crate::backoff::Backoff;
use crate::Readiness;
use std::time::{Duration, Instant};

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub(super) struct Health {
    pub readiness: Readiness,
    backoff: Backoff,
    retry_at: Option<Instant>,
    last_error: String,
}

impl Health {
    pub fn new() -> Health {
        Health {
            readiness: Readiness::Starting,
            backoff: Backoff::new(FIRST_BACKOFF, MAX_BACKOFF),
            retry_at: None,
            last_error: String::new(),
        }
    }

    pub fn started(&mut self) {
        self.readiness = Readiness::Ready;
        self.backoff.reset();
        self.retry_at = None;
    }

    /// A start failed: back off exponentially (250 ms doubling, capped at 30 s, jittered).
    pub fn start_failed(&mut self, error: &str) {
        self.retry_at = Some(Instant::now() + self.backoff.next_delay());
        self.last_error = error.to_string();
        self.readiness = Readiness::Down(error.to_string());
    }

    /// The worker was lost (timeout, crash): a restart follows at once.
    pub fn restarting(&mut self) {
        self.readiness = Readiness::Starting;
    }

    /// While backing off: how long until the next attempt, and the last error.
    pub fn backing_off(&self) -> Option<(Duration, &str)> {
        let wait = self.retry_at?.checked_duration_since(Instant::now())?;
        (!wait.is_zero()).then_some((wait, self.last_error.as_str()))
    }
}
