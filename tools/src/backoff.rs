//! Restart delays of the backends' supervisors (MCP servers, function workers): exponential with
//! jitter, so a crash-looping process costs little and several that died together do not restart
//! in lockstep.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

pub(crate) struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Delays doubling from `first` up to `max`.
    pub(crate) fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The next delay: uniform in [d/2, d] where d doubles from `first` up to `max`.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (d * 2).min(self.max);
        let half = d / 2;
        let span = (d - half).as_nanos() as u64;
        let jitter = if span == 0 { 0 } else { random() % span };
        half + Duration::from_nanos(jitter)
    }

    pub(crate) fn reset(&mut self) {
        self.next = self.first;
    }
}

/// A random u64 from std's per-process random hash keys (no extra dependency).
fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(std::time::Instant::now().elapsed().as_nanos() as u64);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    #[test]
    fn delays_grow_to_the_cap_within_their_jitter_band() {
        let mut b = Backoff::new(FIRST, MAX);
        let mut expected = FIRST;
        for _ in 0..12 {
            let d = b.next_delay();
            assert!(d >= expected / 2 && d <= expected, "{d:?} vs {expected:?}");
            expected = (expected * 2).min(MAX);
        }
        b.reset();
        assert!(b.next_delay() <= FIRST);
    }
}
