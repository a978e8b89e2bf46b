//! The one retry policy of the runtime (DESIGN.md §4, §6): exponential backoff with jitter, the
//! provider's `Retry-After` winning over it, and one retry budget per request. The bus's
//! redeliveries, the model clients' retries and the supervisor's restart backoff all use it, so
//! no two layers retry the same failure with their own budgets (which multiplied: 3 bus × 3 client
//! attempts made 12 provider calls for one request).

use crate::envelope::DEFAULT_MAX_RETRIES;
use std::time::Duration;

/// Most retries one request gets, whichever layer makes them: 1 + 3 = 4 attempts at most.
pub const MAX_RETRIES_PER_REQUEST: u32 = DEFAULT_MAX_RETRIES;

/// Exponential backoff with ±20 % jitter: `base * 2^attempt`, capped at `max`. The jitter spreads
/// the retries of many callers that failed together.
pub fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(20));
    let capped = exp.min(max);
    let jitter = 0.8 + rand::random::<f64>() * 0.4;
    capped.mul_f64(jitter).min(max)
}

/// What a retry decision needs to know about a failure, whoever raised it.
pub trait Retryable {
    /// Whether trying the same work again could succeed.
    fn retryable(&self) -> bool;
    /// The wait the other side asked for (`Retry-After`), if any.
    fn retry_after(&self) -> Option<Duration>;
}

/// How one layer retries: the model client from the component's `max_retries` prop, the bus from
/// the envelope's budget and the component's supervision backoff.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = try once); never more than
    /// [`MAX_RETRIES_PER_REQUEST`] take effect.
    pub max_retries: u32,
    /// Backoff before the first retry; doubled for each further one.
    pub base: Duration,
    /// Ceiling of the exponential backoff.
    pub max_backoff: Duration,
    /// Longest wait this layer accepts; a longer `Retry-After` ends the retries so the caller
    /// (and the breaker) see the error instead of a request parked for minutes.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    /// The model clients' defaults: 2 retries (3 attempts), 250 ms doubling to 8 s, 30 s at most.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The retries this policy really makes (its own setting, within the per-request budget).
    pub fn retries(&self) -> u32 {
        self.max_retries.min(MAX_RETRIES_PER_REQUEST)
    }

    /// The wait before retry number `retry` (0-based) after `err`, or None to give up.
    pub fn wait_before(&self, retry: u32, err: &impl Retryable) -> Option<Duration> {
        if retry >= self.retries() || !err.retryable() {
            return None;
        }
        let wait = backoff(self.base, self.max_backoff, retry)
            .max(err.retry_after().unwrap_or(Duration::ZERO));
        (wait <= self.max_wait).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct E {
        retryable: bool,
        after: Option<Duration>,
    }

    impl Retryable for E {
        fn retryable(&self) -> bool {
            self.retryable
        }
        fn retry_after(&self) -> Option<Duration> {
            self.after
        }
    }

    const TRANSIENT: E = E {
        retryable: true,
        after: None,
    };

    #[test]
    fn gives_up_on_permanent_failures_the_budget_and_too_long_waits() {
        let p = RetryPolicy::default();
        assert!(p.wait_before(0, &TRANSIENT).is_some());
        assert!(p.wait_before(1, &TRANSIENT).is_some());
        assert!(p.wait_before(2, &TRANSIENT).is_none());
        let permanent = E {
            retryable: false,
            after: None,
        };
        assert!(p.wait_before(0, &permanent).is_none());
        let later = E {
            retryable: true,
            after: Some(Duration::from_secs(5)),
        };
        assert!(p.wait_before(0, &later).unwrap() >= Duration::from_secs(5));
        let too_late = E {
            retryable: true,
            after: Some(Duration::from_secs(31)),
        };
        assert!(p.wait_before(0, &too_late).is_none());
    }

    #[test]
    fn no_layer_gets_more_than_the_request_budget() {
        let p = RetryPolicy {
            max_retries: 10,
            ..RetryPolicy::default()
        };
        assert_eq!(p.retries(), MAX_RETRIES_PER_REQUEST);
        assert!(p
            .wait_before(MAX_RETRIES_PER_REQUEST - 1, &TRANSIENT)
            .is_some());
        assert!(p.wait_before(MAX_RETRIES_PER_REQUEST, &TRANSIENT).is_none());
    }

    #[test]
    fn backoff_grows_with_jitter_and_stays_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(300);
        for _ in 0..50 {
            let b0 = backoff(base, max, 0);
            assert!(b0 >= Duration::from_millis(80) && b0 <= Duration::from_millis(120));
            let b1 = backoff(base, max, 1);
            assert!(b1 >= Duration::from_millis(160) && b1 <= max);
            assert!(backoff(base, max, 40) <= max);
        }
    }
}
