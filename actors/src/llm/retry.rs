//! Retries of one model call, with the runtime's one retry policy ([`crate::bus::retry`]):
//! backoff with jitter for retryable failures, honouring the provider's `Retry-After`, within the
//! call's deadline, and never once a token was streamed. The error it gives up with says how many
//! calls were made, so the bus knows this request's retry budget is spent.

use super::sink::ChunkSink;
use super::{ModelError, ModelErrorKind};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

pub use crate::bus::retry::{RetryPolicy, Retryable};

impl Retryable for ModelError {
    fn retryable(&self) -> bool {
        ModelError::retryable(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
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
        err.attempts = retry + 1;
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
    fn model_errors_retry_per_their_kind_and_never_after_a_token() {
        let p = RetryPolicy::default();
        let mut e = ModelError::new(ModelErrorKind::Server, "x");
        assert!(p.wait_before(0, &e).is_some());
        assert!(p.wait_before(2, &e).is_none());
        e.retry_after = Some(Duration::from_secs(5));
        assert!(p.wait_before(0, &e).unwrap() >= Duration::from_secs(5));
        e.retry_after = None;
        e.after_first_token = true;
        assert!(p.wait_before(0, &e).is_none());
        for kind in [ModelErrorKind::Auth, ModelErrorKind::Config] {
            assert!(p.wait_before(0, &ModelError::new(kind, "x")).is_none());
        }
    }

    #[tokio::test]
    async fn the_error_given_up_with_counts_the_calls() {
        let sink = ChunkSink::new(None);
        let deadline = Instant::now() + Duration::from_secs(30);
        let policy = RetryPolicy {
            base: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            ..RetryPolicy::default()
        };
        let mut calls = 0;
        let err = run::<(), _, _>(&policy, deadline, &sink, "t", |_| {
            calls += 1;
            async { Err(ModelError::new(ModelErrorKind::Server, "down")) }
        })
        .await
        .unwrap_err();
        assert_eq!((calls, err.attempts), (3, 3));
        let err = run::<(), _, _>(&policy, deadline, &sink, "t", |_| async {
            Err(ModelError::new(ModelErrorKind::Config, "404"))
        })
        .await
        .unwrap_err();
        assert_eq!(err.attempts, 1);
    }
}
