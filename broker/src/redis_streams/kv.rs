//! A key-value bucket on Redis: plain keys under the bucket's prefix, with PX expiry; a bucket
//! that is listed (the node registry, dead letters) also keeps its keys in a sorted set scored
//! by expiry, so listing it reads that set instead of scanning the whole database (whose keys
//! grow with traffic: de-duplication marks, sessions).

use super::{scan, RedisBroker};
use crate::{BrokerError, Kv};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use std::time::Duration;

/// A key-value bucket on Redis: plain keys under the bucket's prefix, with PX expiry.
pub struct RedisKv {
    broker: RedisBroker,
    prefix: String,
    ttl: Option<Duration>,
    /// The sorted set of the bucket's keys (score: expiry in Unix ms, `+inf` for none), for a
    /// listed bucket.
    index: Option<String>,
}

impl RedisKv {
    pub(super) fn new(
        broker: RedisBroker,
        prefix: String,
        ttl: Option<Duration>,
        index: Option<String>,
    ) -> RedisKv {
        RedisKv {
            broker,
            prefix,
            ttl,
            index,
        }
    }
}

impl Kv for RedisKv {
    fn put<'a>(&'a self, key: &'a str, value: Bytes) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(format!("{}{key}", self.prefix)).arg(value.as_ref());
            if let Some(ttl) = self.ttl {
                cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
            }
            let Some(index) = &self.index else {
                return self.broker.link.query::<()>(&cmd).await;
            };
            let expires = match self.ttl {
                Some(ttl) => (now_ms() + ttl.as_millis() as u64).to_string(),
                None => "+inf".to_string(),
            };
            let mut pipe = redis::pipe();
            pipe.atomic()
                .add_command(cmd)
                .ignore()
                .cmd("ZADD")
                .arg(index)
                .arg(expires)
                .arg(key)
                .ignore();
            self.broker.link.query_pipe::<()>(&pipe).await
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BrokerError>> {
        Box::pin(async move {
            let v: Option<Vec<u8>> = self
                .broker
                .link
                .query(redis::cmd("GET").arg(format!("{}{key}", self.prefix)))
                .await?;
            Ok(v.map(Bytes::from))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            pipe.cmd("DEL")
                .arg(format!("{}{key}", self.prefix))
                .ignore();
            if let Some(index) = &self.index {
                pipe.cmd("ZREM").arg(index).arg(key).ignore();
            }
            self.broker.link.query_pipe::<()>(&pipe).await
        })
    }

    fn keys(&self, max: usize) -> BoxFuture<'_, Result<Vec<String>, BrokerError>> {
        Box::pin(async move {
            if let Some(index) = &self.index {
                // Forget what expired, then read the rest (a key expiring in between is found
                // absent by the caller's read, as with a scan).
                let mut pipe = redis::pipe();
                pipe.cmd("ZREMRANGEBYSCORE")
                    .arg(index)
                    .arg("-inf")
                    .arg(format!("({}", now_ms()))
                    .ignore()
                    .cmd("ZRANGE")
                    .arg(index)
                    .arg(0)
                    .arg(max.saturating_sub(1).min(i64::MAX as usize) as i64);
                if max == 0 {
                    return Ok(Vec::new());
                }
                let (keys,): (Vec<String>,) = self.broker.link.query_pipe(&pipe).await?;
                return Ok(keys);
            }
            // SCAN MATCH treats `*?[\` specially: escape them in the prefix.
            let mut pattern = String::new();
            for c in self.prefix.chars() {
                if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            pattern.push('*');
            let keys = scan(&self.broker.link, &pattern, max).await?;
            Ok(keys
                .into_iter()
                .filter_map(|k| k.strip_prefix(&self.prefix).map(str::to_string))
                .collect())
        })
    }
}

/// Now in Unix milliseconds (the index's expiry scores; nodes' clocks are assumed to agree, as
/// for every TTL of the cluster).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
