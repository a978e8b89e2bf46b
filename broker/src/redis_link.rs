//! A Redis connection that comes back by itself. A `MultiplexedConnection` stays broken once the
//! server went away (restart, failover, network cut), and a node holds its broker for its whole
//! life, so every command goes through a [`Link`]: it hands out the live connection, forgets it
//! when a command shows it is gone, and connects again on the next use, at most once per backoff
//! step (100 ms doubling up to 2 s) so a loop over a dead server neither spins nor floods it.
//! Commands made while the server is away fail with `BrokerError::Unavailable`, bounded by the
//! connect and response timeouts.

use crate::BrokerError;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long connecting may take before the broker counts as unreachable.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on a command's answer (blocking reads add their own wait to it).
pub(crate) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// The first pause between failed connection attempts; doubles per failure.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// The longest pause between connection attempts (a restarted server is found this soon).
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A live connection and the generation it belongs to: each reconnection starts a new one, so a
/// user can tell that what the server held for its old connection (blocked reads, replies in
/// flight) may be gone, and a late failure of an old connection cannot discard a new one.
pub(crate) struct Live {
    pub conn: MultiplexedConnection,
    pub generation: u64,
}

/// A self-healing connection to one Redis server (cheap to clone: clones share it).
#[derive(Clone)]
pub(crate) struct Link {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    /// The URL without credentials, for errors.
    shown: String,
    state: Mutex<State>,
    /// Held while connecting, so concurrent callers make one attempt, not one each.
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    conn: Option<MultiplexedConnection>,
    generation: u64,
    /// Connection attempts failed in a row (sets the backoff).
    failures: u32,
    /// No attempt before this instant (after a failed one).
    next_try: Option<Instant>,
    /// Why the last attempt failed, for the errors of calls that wait for the next one.
    last_error: String,
}

/// Whether a call waits out the backoff before trying to connect (work loops) or tries at once
/// (a health check, which has its own short bound and must see a server that came back).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Patience {
    Backoff,
    Now,
}

impl Link {
    /// Connects now: a server that is not there at start-up is a configuration error to report,
    /// not something to wait for.
    pub(crate) async fn connect(client: redis::Client, shown: &str) -> Result<Link, BrokerError> {
        let link = Link {
            inner: Arc::new(Inner {
                client,
                shown: shown.to_string(),
                state: Mutex::new(State::default()),
                connecting: tokio::sync::Mutex::new(()),
            }),
        };
        link.get(Patience::Now).await?;
        Ok(link)
    }

    /// Another link to the same server with its own connection (a consumer's blocking reads
    /// hold the connection they run on), connected now.
    pub(crate) async fn sibling(&self) -> Result<Link, BrokerError> {
        Link::connect(self.inner.client.clone(), &self.inner.shown).await
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent (plain fields).
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live connection, connecting again first when the last one broke.
    pub(crate) async fn get(&self, patience: Patience) -> Result<Live, BrokerError> {
        if let Some(live) = self.current() {
            return Ok(live);
        }
        if patience == Patience::Backoff {
            let wait = self
                .state()
                .next_try
                .map(|t| t.saturating_duration_since(Instant::now()));
            if let Some(wait) = wait.filter(|w| !w.is_zero()) {
                tokio::time::sleep(wait).await;
            }
        }
        let _one_at_a_time = self.inner.connecting.lock().await;
        if let Some(live) = self.current() {
            return Ok(live);
        }
        if patience == Patience::Backoff {
            // Another caller's attempt failed while this one waited: share its answer rather
            // than knock again before the backoff says so.
            let state = self.state();
            if let Some(wait) = state
                .next_try
                .map(|t| t.saturating_duration_since(Instant::now()))
            {
                if !wait.is_zero() {
                    return Err(BrokerError::Unavailable {
                        url: self.inner.shown.clone(),
                        cause: format!(
                            "{} (reconnecting; the next attempt is made after {wait:?})",
                            state.last_error
                        ),
                    });
                }
            }
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let attempt = self
            .inner
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await;
        let mut state = self.state();
        match attempt {
            Ok(conn) => {
                if state.failures > 0 {
                    tracing::info!(broker = %self.inner.shown, attempts = state.failures + 1, "reconnected to Redis");
                }
                state.generation += 1;
                state.failures = 0;
                state.next_try = None;
                state.conn = Some(conn.clone());
                Ok(Live {
                    conn,
                    generation: state.generation,
                })
            }
            Err(e) => {
                state.failures = state.failures.saturating_add(1);
                let backoff = BACKOFF_MIN
                    .saturating_mul(1u32 << state.failures.min(8).saturating_sub(1))
                    .min(BACKOFF_MAX);
                state.next_try = Some(Instant::now() + backoff);
                state.last_error = e.to_string();
                tracing::warn!(broker = %self.inner.shown, failures = state.failures, retry_in = ?backoff, error = %e, "cannot connect to Redis");
                Err(BrokerError::Unavailable {
                    url: self.inner.shown.clone(),
                    cause: format!(
                        "{e} (connection attempt {} failed; the next is made after {backoff:?})",
                        state.failures
                    ),
                })
            }
        }
    }

    fn current(&self) -> Option<Live> {
        let state = self.state();
        state.conn.clone().map(|conn| Live {
            conn,
            generation: state.generation,
        })
    }

    /// The result of a command run on the connection of `generation`: an error that shows the
    /// connection is gone makes the next call connect again.
    pub(crate) fn check<T>(
        &self,
        generation: u64,
        result: Result<T, RedisError>,
    ) -> Result<T, BrokerError> {
        result.map_err(|e| {
            if breaks_connection(&e) {
                let mut state = self.state();
                if state.generation == generation && state.conn.take().is_some() {
                    tracing::warn!(broker = %self.inner.shown, error = %e, "Redis connection lost; reconnecting on next use");
                }
            }
            self.error(e)
        })
    }

    /// `e` as a broker error naming this server.
    pub(crate) fn error(&self, e: RedisError) -> BrokerError {
        classify(&self.inner.shown, e)
    }

    /// The error for `what` taking longer than `bound` (the caller gave up waiting).
    pub(crate) fn timed_out(&self, what: &str, bound: Duration) -> BrokerError {
        BrokerError::Unavailable {
            url: self.inner.shown.clone(),
            cause: format!("no answer to {what} within {bound:?}"),
        }
    }

    /// Runs `cmd` on the live connection; when that connection turns out to be gone (the server
    /// restarted since its last use), once more on a fresh one, so the first command after a
    /// restart does not fail for nothing. Only idempotent commands go through here.
    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, BrokerError> {
        self.retried(|mut conn| async move { cmd.query_async(&mut conn).await })
            .await
    }

    /// [`Link::query`] for a pipeline (its commands go in one round trip; an atomic one as a
    /// transaction): only for pipelines that can run twice.
    pub(crate) async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, BrokerError> {
        self.retried(|mut conn| async move { pipe.query_async(&mut conn).await })
            .await
    }

    /// `run` on the live connection, once more on a fresh one when that one is broken.
    async fn retried<T, F, Fut>(&self, run: F) -> Result<T, BrokerError>
    where
        F: Fn(redis::aio::MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = Result<T, RedisError>>,
    {
        let live = self.get(Patience::Backoff).await?;
        match run(live.conn).await {
            Err(e) if breaks_connection(&e) => {
                let _ = self.check::<()>(live.generation, Err(e));
                let live = self.get(Patience::Now).await?;
                let result = run(live.conn).await;
                self.check(live.generation, result)
            }
            other => self.check(live.generation, other),
        }
    }
}

/// Whether `e` means the connection cannot carry another command (as opposed to a command the
/// server refused on a healthy connection).
fn breaks_connection(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error()
}

/// Server answers that mean "not now" rather than "never": loading the data set after a restart,
/// a replica without its primary, a cluster slot moving.
fn busy(e: &RedisError) -> bool {
    matches!(e.code(), Some("LOADING" | "MASTERDOWN" | "TRYAGAIN"))
}

/// Transient failures (connection, timeouts, a server still loading) are `Unavailable`; the rest
/// is a refusal.
pub(crate) fn classify(shown: &str, e: RedisError) -> BrokerError {
    if breaks_connection(&e) || busy(&e) {
        BrokerError::Unavailable {
            url: shown.to_string(),
            cause: e.to_string(),
        }
    } else {
        BrokerError::Refused {
            what: "a Redis command".into(),
            cause: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::{ErrorKind, ServerErrorKind};

    #[test]
    fn a_loading_server_is_unavailable_and_a_refusal_is_not() {
        let loading =
            RedisError::from((ErrorKind::Server(ServerErrorKind::BusyLoading), "loading"));
        let e = classify("redis://h", loading);
        assert!(e.is_transient(), "{e}");
        assert!(e.to_string().contains("redis://h"), "{e}");
        let wrong = RedisError::from((
            ErrorKind::Server(ServerErrorKind::ResponseError),
            "WRONGTYPE",
        ));
        assert!(!breaks_connection(&wrong));
        assert!(!classify("redis://h", wrong).is_transient());
        let io = RedisError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(breaks_connection(&io));
        assert!(classify("redis://h", io).is_transient());
    }
}
