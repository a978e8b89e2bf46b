//! Per-component circuit breaker (DESIGN.md §4): closed → open after N consecutive failures →
//! half-open after the reset timeout → closed after M successes. The closed fast path is one
//! atomic load; transitions take an uncontended lock.

use crate::types::BreakerState;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::time::{Duration, Instant};
use woodwork_parser::BreakerSpec;

const CLOSED: u8 = 0;
const HALF_OPEN: u8 = 1;
const OPEN: u8 = 2;

struct Inner {
    half_open_successes: u32,
    opened_at: Option<Instant>,
    /// Trial calls still allowed in this half-open period.
    trial_budget: u32,
    half_open_since: Option<Instant>,
}

/// One component's breaker.
pub struct Breaker {
    spec: BreakerSpec,
    state: AtomicU8,
    consecutive_failures: AtomicU32,
    inner: Mutex<Inner>,
}

/// A state change, for events and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: BreakerState,
    pub to: BreakerState,
}

fn decode(v: u8) -> BreakerState {
    match v {
        CLOSED => BreakerState::Closed,
        HALF_OPEN => BreakerState::HalfOpen,
        _ => BreakerState::Open,
    }
}

fn encode(s: BreakerState) -> u8 {
    match s {
        BreakerState::Closed => CLOSED,
        BreakerState::HalfOpen => HALF_OPEN,
        BreakerState::Open => OPEN,
    }
}

impl Breaker {
    /// A closed breaker with the component's settings.
    pub fn new(spec: BreakerSpec) -> Breaker {
        Breaker {
            spec,
            state: AtomicU8::new(CLOSED),
            consecutive_failures: AtomicU32::new(0),
            inner: Mutex::new(Inner {
                half_open_successes: 0,
                opened_at: None,
                trial_budget: 0,
                half_open_since: None,
            }),
        }
    }

    pub fn spec(&self) -> &BreakerSpec {
        &self.spec
    }

    /// The current position (an open breaker whose timeout passed reports half-open).
    pub fn state(&self) -> BreakerState {
        let s = decode(self.state.load(Ordering::Acquire));
        if s == BreakerState::Open {
            if let Some(at) = self.inner.lock().opened_at {
                if at.elapsed() >= self.spec.reset_timeout {
                    return BreakerState::HalfOpen;
                }
            }
        }
        s
    }

    /// May a call go through now? `Err(retry_after)` when open; moves open → half-open once the
    /// reset timeout passed. Half-open lets `success_threshold` trial calls through per reset
    /// period (refilled after it, so trials that never report cannot wedge the breaker).
    pub fn allow(&self) -> Result<Option<Transition>, Duration> {
        if self.state.load(Ordering::Acquire) == CLOSED {
            return Ok(None);
        }
        let mut inner = self.inner.lock();
        let trials = self.spec.success_threshold.max(1);
        match self.state.load(Ordering::Acquire) {
            CLOSED => Ok(None),
            HALF_OPEN => {
                let since = inner
                    .half_open_since
                    .map(|t| t.elapsed())
                    .unwrap_or_default();
                if inner.trial_budget > 0 {
                    inner.trial_budget -= 1;
                    Ok(None)
                } else if since >= self.spec.reset_timeout {
                    inner.trial_budget = trials - 1;
                    inner.half_open_since = Some(Instant::now());
                    Ok(None)
                } else {
                    Err(self.spec.reset_timeout - since)
                }
            }
            _ => {
                let elapsed = inner.opened_at.map(|t| t.elapsed()).unwrap_or_default();
                if elapsed >= self.spec.reset_timeout {
                    inner.half_open_successes = 0;
                    inner.trial_budget = trials - 1;
                    inner.half_open_since = Some(Instant::now());
                    self.state.store(HALF_OPEN, Ordering::Release);
                    Ok(Some(Transition {
                        from: BreakerState::Open,
                        to: BreakerState::HalfOpen,
                    }))
                } else {
                    Err(self.spec.reset_timeout - elapsed)
                }
            }
        }
    }

    /// A call succeeded.
    pub fn on_success(&self) -> Option<Transition> {
        let s = self.state.load(Ordering::Acquire);
        if s == CLOSED {
            // Fast path: nothing to reset unless failures were counted.
            if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
                self.consecutive_failures.store(0, Ordering::Relaxed);
            }
            return None;
        }
        let mut inner = self.inner.lock();
        if self.state.load(Ordering::Acquire) == HALF_OPEN {
            inner.half_open_successes += 1;
            if inner.half_open_successes >= self.spec.success_threshold.max(1) {
                self.consecutive_failures.store(0, Ordering::Relaxed);
                inner.opened_at = None;
                self.state.store(CLOSED, Ordering::Release);
                return Some(Transition {
                    from: BreakerState::HalfOpen,
                    to: BreakerState::Closed,
                });
            }
        }
        None
    }

    /// A call failed (error, timeout or panic).
    pub fn on_failure(&self) -> Option<Transition> {
        let mut inner = self.inner.lock();
        let from = decode(self.state.load(Ordering::Acquire));
        let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        let open = match from {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => failures >= self.spec.failure_threshold.max(1),
            BreakerState::Open => false,
        };
        if open {
            inner.opened_at = Some(Instant::now());
            inner.half_open_successes = 0;
            self.state
                .store(encode(BreakerState::Open), Ordering::Release);
            return Some(Transition {
                from,
                to: BreakerState::Open,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> BreakerSpec {
        BreakerSpec {
            failure_threshold: 2,
            reset_timeout: Duration::from_millis(30),
            success_threshold: 2,
            call_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn opens_half_opens_and_closes() {
        let b = Breaker::new(spec());
        assert_eq!(b.on_failure(), None);
        assert_eq!(b.on_failure().map(|t| t.to), Some(BreakerState::Open));
        assert!(b.allow().is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(
            b.allow().unwrap().map(|t| t.to),
            Some(BreakerState::HalfOpen)
        );
        assert_eq!(b.on_success(), None);
        assert_eq!(b.on_success().map(|t| t.to), Some(BreakerState::Closed));
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn half_open_admits_only_the_trial_calls() {
        let b = Breaker::new(spec());
        b.on_failure();
        b.on_failure();
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow().is_ok()); // open -> half-open, trial 1
        assert!(b.allow().is_ok()); // trial 2 (success_threshold 2)
        assert!(b.allow().is_err()); // no more trials until they report
        b.on_success();
        assert_eq!(b.on_success().map(|t| t.to), Some(BreakerState::Closed));
        assert!(b.allow().is_ok());
    }

    #[test]
    fn a_failure_in_half_open_reopens() {
        let b = Breaker::new(spec());
        b.on_failure();
        b.on_failure();
        std::thread::sleep(Duration::from_millis(40));
        b.allow().unwrap();
        assert_eq!(b.on_failure().map(|t| t.to), Some(BreakerState::Open));
    }
}
