//! Retries of one model call: exponential backoff with jitter for retryable failures, honouring the
//! provider's `Retry-After`, within the call's deadline, and never once a token was streamed.

use super::sink::ChunkSink;
use super::{ModelError, ModelErrorKind};
use rand::Rng;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How a provider retries; `max_retries` comes from the component's `max_retries` prop.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = try once).
    pub max_retries: u32,
    /// Backoff before the first retry; doubled for each further one.
    pub base: Duration,
    /// Ceiling of the exponential backoff.
    pub max_backoff: Duration,
    /// Longest wait this client accepts; a longer `Retry-After` ends the call with that error so the
    /// breaker can report it.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
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
    /// The wait before retry number `retry` (0-based) after `err`, or None to give up.
    pub fn wait_before(&self, retry: u32, err: &ModelError) -> Option<Duration> {
        if retry >= self.max_retries || !err.retryable() {
            return None;
        }
        let exp = self
            .base
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_backoff);
        // "Equal jitter": half fixed, half random, so retries of many callers spread out.
        let half = exp / 2;
        let jitter = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
        let backoff = half + Duration::from_millis(jitter);
        let wait = backoff.max(err.retry_after.unwrap_or(Duration::ZERO));
        (wait <= self.max_wait).then_some(wait)
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the deadline passes. Each attempt gets a
/// clone of `sink`; an error after a streamed token is marked `after_first_token` and returned.
pub async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    deadline: Instant,
    sink: &ChunkSink,
    what: &str,
    mut attempt: F,
) -> Result<T, ModelError>
where
    F: FnMut(ChunkSink) -> Fut,
    Fut: Future<Output = Result<T, ModelError>>,
{
    let mut retry = 0;
    loop {
        let bounded = tokio::time::timeout_at(deadline, attempt(sink.clone()));
        let result = tokio::select! {
            r = bounded => match r {
                Ok(r) => r,
                Err(_) => Err(ModelError::new(
                    ModelErrorKind::Timeout,
                    "no complete answer within the component's timeout",
                )),
            },
            _ = sink.closed() => Err(sink.cancelled()),
        };
        let mut err = match result {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        err.after_first_token |= sink.sent();
        let Some(wait) = policy.wait_before(retry, &err) else {
            return Err(err);
        };
        if Instant::now() + wait >= deadline {
            return Err(err);
        }
        tracing::warn!(
            model = what,
            kind = err.kind.as_str(),
            status = err.status,
            retry = retry + 1,
            wait_ms = wait.as_millis() as u64,
            "model call failed; retrying"
        );
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = sink.closed() => return Err(sink.cancelled()),
        }
        retry += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_up_on_permanent_streamed_or_too_long_waits() {
        let p = RetryPolicy::default();
        let mut e = ModelError::new(ModelErrorKind::Server, "x");
        assert!(p.wait_before(0, &e).is_some());
        assert!(p.wait_before(2, &e).is_none());
        e.retry_after = Some(Duration::from_secs(5));
        assert!(p.wait_before(0, &e).unwrap() >= Duration::from_secs(5));
        e.retry_after = Some(Duration::from_secs(31));
        assert!(p.wait_before(0, &e).is_none());
        e.retry_after = None;
        e.after_first_token = true;
        assert!(p.wait_before(0, &e).is_none());
        assert!(p
            .wait_before(0, &ModelError::new(ModelErrorKind::Auth, "x"))
            .is_none());
    }
}
