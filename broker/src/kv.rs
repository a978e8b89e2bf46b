//! Small values under keys, in one bucket of a namespace: node heartbeats (with a TTL),
//! sessions and their memory (without).

use crate::BrokerError;
use bytes::Bytes;
use futures_util::future::BoxFuture;

/// A key-value bucket on the broker.
pub trait Kv: Send + Sync {
    /// Sets `key` (a bucket with a TTL restarts the key's clock).
    fn put<'a>(&'a self, key: &'a str, value: Bytes) -> BoxFuture<'a, Result<(), BrokerError>>;
    /// The value of `key`, if set and not expired.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BrokerError>>;
    /// Removes `key` (no error when absent).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), BrokerError>>;
    /// Every live key, at most `max` of them.
    fn keys(&self, max: usize) -> BoxFuture<'_, Result<Vec<String>, BrokerError>>;
}
