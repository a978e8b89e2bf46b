//! A key-value bucket on Redis: plain keys under the bucket's prefix, with PX expiry.

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
}

impl RedisKv {
    pub(super) fn new(broker: RedisBroker, prefix: String, ttl: Option<Duration>) -> RedisKv {
        RedisKv {
            broker,
            prefix,
            ttl,
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
            self.broker.link.query::<()>(&cmd).await
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
            let _: i64 = self
                .broker
                .link
                .query(redis::cmd("DEL").arg(format!("{}{key}", self.prefix)))
                .await?;
            Ok(())
        })
    }

    fn keys(&self, max: usize) -> BoxFuture<'_, Result<Vec<String>, BrokerError>> {
        Box::pin(async move {
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
