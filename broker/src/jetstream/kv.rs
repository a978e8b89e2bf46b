//! A key-value bucket on NATS JetStream (`WW_<ns>_<bucket>`), keys encoded for NATS subjects.

use super::{NatsBroker, RECONNECT_PATIENCE};
use crate::{BrokerError, Kv};
use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;

/// A KV bucket on NATS. Keys are encoded (`=XX` for bytes NATS does not allow in keys).
pub struct NatsKv {
    broker: NatsBroker,
    store: kv::Store,
}

impl NatsKv {
    pub(super) fn new(broker: NatsBroker, store: kv::Store) -> NatsKv {
        NatsKv { broker, store }
    }
}

fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

fn decode_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Kv for NatsKv {
    fn put<'a>(&'a self, key: &'a str, value: Bytes) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            self.broker.await_connection(RECONNECT_PATIENCE).await?;
            self.store
                .put(encode_key(key), value)
                .await
                .map_err(|e| self.broker.failure("a KV put", e))?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BrokerError>> {
        Box::pin(async move {
            self.broker.await_connection(RECONNECT_PATIENCE).await?;
            self.store
                .get(encode_key(key))
                .await
                .map_err(|e| self.broker.failure("a KV get", e))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            self.broker.await_connection(RECONNECT_PATIENCE).await?;
            self.store
                .purge(encode_key(key))
                .await
                .map_err(|e| self.broker.failure("a KV delete", e))
        })
    }

    fn keys(&self, max: usize) -> BoxFuture<'_, Result<Vec<String>, BrokerError>> {
        Box::pin(async move {
            self.broker.await_connection(RECONNECT_PATIENCE).await?;
            let mut keys = match self.store.keys().await {
                Ok(k) => k,
                Err(e) => return Err(self.broker.failure("listing KV keys", e)),
            };
            let mut out = Vec::new();
            while let Some(k) = keys.next().await {
                let k = k.map_err(|e| self.broker.failure("listing KV keys", e))?;
                out.push(decode_key(&k));
                if out.len() >= max {
                    break;
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_the_encoding() {
        for k in ["a", "sess-1_x/y", "with space", "dots.and=eq", "ünï", ""] {
            let e = encode_key(k);
            assert!(
                e.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_/=".contains(&b)),
                "{e}"
            );
            assert_eq!(decode_key(&e), k);
        }
    }
}
