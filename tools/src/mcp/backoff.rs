//! Restart delays: exponential with jitter, so a crash-looping server costs little and several
//! servers that died together do not restart in lockstep.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

pub(crate) const FIRST: Duration = Duration::from_millis(100);
pub(crate) const MAX: Duration = Duration::from_secs(5);

pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff { next: FIRST }
    }

    /// The next delay: uniform in [d/2, d] where d doubles from 100 ms up to 5 s.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (d * 2).min(MAX);
        let half = d / 2;
        let span = (d - half).as_nanos() as u64;
        let jitter = if span == 0 { 0 } else { random() % span };
        half + Duration::from_nanos(jitter)
    }

    pub(crate) fn reset(&mut self) {
        self.next = FIRST;
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

    #[test]
    fn delays_grow_to_the_cap_within_their_jitter_band() {
        let mut b = Backoff::new();
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
