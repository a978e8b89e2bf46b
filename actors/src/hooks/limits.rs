//! How much one hook may run at once and for how long: without a cap, 300 requests firing a
//! command hook start 300 shells and the process runs out of file descriptors.

use super::error::HookError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long one hook or pipe run (command, Python call, webhook) may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Runs of one hook at once; more wait for a slot.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// How long a pipe waits for a slot of its pipe: as long as a request waits by default, since a
/// pipe stands in its message's way and is not skipped (a hook waits only its own timeout).
pub const PIPE_SLOT_WAIT: Duration = Duration::from_secs(60);

/// One hook's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HookLimits {
    /// Longest run; a command past it is killed with its whole process group.
    pub timeout: Duration,
    /// Most runs at once.
    pub concurrency: usize,
}

impl Default for HookLimits {
    fn default() -> Self {
        HookLimits {
            timeout: DEFAULT_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// A hook's run slots, shared by its clones.
#[derive(Clone, Debug)]
pub struct Slots {
    sem: Arc<Semaphore>,
    limit: usize,
}

impl Slots {
    pub fn new(limit: usize) -> Slots {
        let limit = limit.clamp(1, Semaphore::MAX_PERMITS);
        Slots {
            sem: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// A slot, waiting (first come, first served) at most `wait`; `what` names the hook in the
    /// error.
    pub async fn acquire(
        &self,
        what: impl FnOnce() -> String,
        wait: Duration,
    ) -> Result<OwnedSemaphorePermit, HookError> {
        match tokio::time::timeout(wait, self.sem.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(_)) => Err(HookError::Internal("hook slots closed")),
            Err(_) => Err(HookError::Busy {
                what: what(),
                limit: self.limit,
                waited: wait,
            }),
        }
    }
}
