//! The work queue on NATS JetStream: a work-queue stream per queue (`WW_<ns>_Q_<queue>`, subject
//! `ww.<ns>.q.<queue>`) with `Nats-Msg-Id` de-duplication, one durable pull consumer (`workers`)
//! that every replica pulls through (explicit ack, `ack_wait` = the claim bound, so what a dead
//! consumer held is redelivered to a live one), `max_deliver` one past the queue's bound so the
//! last delivery can be moved to the dead-letter stream (`WW_<ns>_DLQ`, subject
//! `ww.<ns>.dlq.<queue>`), and KV buckets (`WW_<ns>_<bucket>`) for state.

use crate::queue::{Consumer, DeadMessage, Delivery, Handle, QueueConfig, WorkQueue};
use crate::url::{checked_name, BrokerUrl};
use crate::{BrokerError, Kv};
use async_nats::jetstream::{self, consumer, kv, stream};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use std::time::Duration;

const DURABLE: &str = "workers";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to a NATS server with JetStream, for one namespace.
#[derive(Clone)]
pub struct NatsBroker {
    js: jetstream::Context,
    ns: String,
    shown: String,
}

fn refused(what: impl Into<String>) -> impl Fn(String) -> BrokerError {
    let what = what.into();
    move |cause| BrokerError::Refused {
        what: what.clone(),
        cause,
    }
}

impl NatsBroker {
    pub(crate) async fn connect(url: &BrokerUrl, ns: String) -> Result<NatsBroker, BrokerError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .connect(url.raw.as_str())
            .await
            .map_err(|e| BrokerError::Unavailable {
                url: url.shown.clone(),
                cause: e.to_string(),
            })?;
        Ok(NatsBroker {
            js: jetstream::new(client),
            ns,
            shown: url.shown.clone(),
        })
    }

    async fn dlq_stream(&self) -> Result<stream::Stream, BrokerError> {
        self.js
            .get_or_create_stream(stream::Config {
                name: format!("WW_{}_DLQ", self.ns),
                subjects: vec![format!("ww.{}.dlq.>", self.ns)],
                max_messages: 100_000,
                ..Default::default()
            })
            .await
            .map_err(|e| refused("creating the dead-letter stream")(e.to_string()))
    }

    pub(crate) async fn queue(
        &self,
        name: &str,
        config: QueueConfig,
    ) -> Result<NatsQueue, BrokerError> {
        let name = checked_name("queue", name)?;
        let subject = format!("ww.{}.q.{name}", self.ns);
        let stream = self
            .js
            .get_or_create_stream(stream::Config {
                name: format!("WW_{}_Q_{name}", self.ns),
                subjects: vec![subject.clone()],
                retention: stream::RetentionPolicy::WorkQueue,
                max_messages: i64::try_from(config.max_len).unwrap_or(i64::MAX),
                duplicate_window: config.dedupe_window,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                refused(format!("creating the stream of queue `{name}`"))(e.to_string())
            })?;
        self.dlq_stream().await?;
        let consumer: consumer::PullConsumer = stream
            .get_or_create_consumer(
                DURABLE,
                consumer::pull::Config {
                    durable_name: Some(DURABLE.into()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: config.claim_idle,
                    max_deliver: i64::from(config.max_deliveries) + 1,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| {
                refused(format!("creating the consumer of queue `{name}`"))(e.to_string())
            })?;
        Ok(NatsQueue {
            broker: self.clone(),
            dlq_subject: format!("ww.{}.dlq.{name}", self.ns),
            name,
            subject,
            consumer,
            config,
        })
    }

    pub(crate) async fn kv(
        &self,
        name: &str,
        ttl: Option<Duration>,
    ) -> Result<NatsKv, BrokerError> {
        let name = checked_name("bucket", name)?;
        let bucket = format!("WW_{}_{name}", self.ns);
        // The bucket's stream is made here, as the client library would make it, because its
        // own `create_key_value` first asks for account details that NATS 2.9 answers in a
        // form this client version cannot read.
        self.js
            .get_or_create_stream(stream::Config {
                name: format!("KV_{bucket}"),
                subjects: vec![format!("$KV.{bucket}.>")],
                max_messages_per_subject: 1,
                max_age: ttl.unwrap_or_default(),
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                discard: stream::DiscardPolicy::New,
                ..Default::default()
            })
            .await
            .map_err(|e| refused(format!("creating the bucket `{name}`"))(e.to_string()))?;
        let store = self
            .js
            .get_key_value(&bucket)
            .await
            .map_err(|e| refused(format!("opening the bucket `{name}`"))(e.to_string()))?;
        Ok(NatsKv { store })
    }

    /// Deletes every stream and bucket of the namespace.
    pub(crate) async fn purge_namespace(&self) -> Result<(), BrokerError> {
        let prefixes = [format!("WW_{}_", self.ns), format!("KV_WW_{}_", self.ns)];
        let mut names = self.js.stream_names();
        let mut doomed = Vec::new();
        while let Some(name) = names.next().await {
            let name = name.map_err(|e| BrokerError::Unavailable {
                url: self.shown.clone(),
                cause: e.to_string(),
            })?;
            if prefixes.iter().any(|p| name.starts_with(p.as_str())) {
                doomed.push(name);
            }
        }
        for name in doomed {
            self.js
                .delete_stream(&name)
                .await
                .map_err(|e| refused(format!("deleting stream {name}"))(e.to_string()))?;
        }
        Ok(())
    }
}

/// One queue (work-queue stream + durable consumer) on NATS.
pub struct NatsQueue {
    broker: NatsBroker,
    name: String,
    subject: String,
    dlq_subject: String,
    consumer: consumer::PullConsumer,
    config: QueueConfig,
}

impl NatsQueue {
    fn copy(&self) -> NatsQueue {
        NatsQueue {
            broker: self.broker.clone(),
            name: self.name.clone(),
            subject: self.subject.clone(),
            dlq_subject: self.dlq_subject.clone(),
            consumer: self.consumer.clone(),
            config: self.config.clone(),
        }
    }
}

impl WorkQueue for NatsQueue {
    fn name(&self) -> &str {
        &self.name
    }

    fn push<'a>(
        &'a self,
        msg_id: &'a str,
        body: Bytes,
    ) -> BoxFuture<'a, Result<bool, BrokerError>> {
        Box::pin(async move {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", msg_id);
            let ack = self
                .broker
                .js
                .publish_with_headers(self.subject.clone(), headers, body)
                .await
                .map_err(|e| BrokerError::Unavailable {
                    url: self.broker.shown.clone(),
                    cause: e.to_string(),
                })?
                .await
                .map_err(|e| {
                    refused(format!("a message for queue `{}`", self.name))(e.to_string())
                })?;
            Ok(!ack.duplicate)
        })
    }

    fn consumer<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Consumer>, BrokerError>> {
        Box::pin(async move {
            checked_name("consumer", name)?;
            Ok(Box::new(NatsConsumer { queue: self.copy() }) as Box<dyn Consumer>)
        })
    }

    fn dead_letters(&self, max: usize) -> BoxFuture<'_, Result<Vec<DeadMessage>, BrokerError>> {
        Box::pin(async move {
            let stream = self.broker.dlq_stream().await?;
            let reader: consumer::PullConsumer = stream
                .create_consumer(consumer::pull::Config {
                    filter_subject: self.dlq_subject.clone(),
                    ack_policy: consumer::AckPolicy::None,
                    deliver_policy: consumer::DeliverPolicy::All,
                    inactive_threshold: Duration::from_secs(30),
                    ..Default::default()
                })
                .await
                .map_err(|e| refused("reading the dead-letter stream")(e.to_string()))?;
            let mut batch = reader
                .fetch()
                .max_messages(max.max(1))
                .expires(Duration::from_millis(500))
                .messages()
                .await
                .map_err(|e| refused("reading the dead-letter stream")(e.to_string()))?;
            let mut out = Vec::new();
            while let Some(m) = batch.next().await {
                let m = m.map_err(|e| refused("reading the dead-letter stream")(e.to_string()))?;
                let header = |k: &str| {
                    m.headers
                        .as_ref()
                        .and_then(|h| h.get(k))
                        .map(|v| v.as_str().to_string())
                        .unwrap_or_default()
                };
                out.push(DeadMessage {
                    msg_id: header("Ww-Msg-Id"),
                    deliveries: header("Ww-Deliveries").parse().unwrap_or(0),
                    body: m.payload.clone(),
                });
            }
            Ok(out)
        })
    }
}

/// A consumer pulling from the queue's durable consumer (replicas share it).
pub struct NatsConsumer {
    queue: NatsQueue,
}

impl Consumer for NatsConsumer {
    fn pull(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<Delivery>, BrokerError>> {
        Box::pin(async move {
            let q = &self.queue;
            let fail = |e: String| BrokerError::Unavailable {
                url: q.broker.shown.clone(),
                cause: e,
            };
            let mut batch = q
                .consumer
                .fetch()
                .max_messages(max.max(1))
                .expires(wait.max(Duration::from_millis(10)))
                .messages()
                .await
                .map_err(|e| fail(e.to_string()))?;
            let mut out = Vec::new();
            while let Some(m) = batch.next().await {
                let m = m.map_err(|e| fail(e.to_string()))?;
                let deliveries = m.info().map(|i| i.delivered).unwrap_or(1).max(1) as u32;
                let msg_id = m
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Nats-Msg-Id"))
                    .map(|v| v.as_str().to_string())
                    .unwrap_or_default();
                if deliveries > q.config.max_deliveries {
                    let mut headers = async_nats::HeaderMap::new();
                    headers.insert("Ww-Msg-Id", msg_id.as_str());
                    headers.insert("Ww-Deliveries", (deliveries - 1).to_string().as_str());
                    q.broker
                        .js
                        .publish_with_headers(q.dlq_subject.clone(), headers, m.payload.clone())
                        .await
                        .map_err(|e| fail(e.to_string()))?
                        .await
                        .map_err(|e| refused("a dead letter")(e.to_string()))?;
                    m.double_ack().await.map_err(|e| fail(e.to_string()))?;
                    tracing::warn!(queue = %q.name, msg_id = %msg_id, deliveries = deliveries - 1, "message delivered too often: moved to the dead-letter stream");
                    continue;
                }
                out.push(Delivery {
                    msg_id,
                    body: m.payload.clone(),
                    deliveries,
                    handle: Handle::Nats(Box::new(m)),
                });
            }
            Ok(out)
        })
    }

    fn ack<'a>(&'a mut self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            match &delivery.handle {
                // Double ack: the server confirms, so an acknowledged message never comes back.
                Handle::Nats(m) => m.double_ack().await.map_err(|e| BrokerError::Unavailable {
                    url: self.queue.broker.shown.clone(),
                    cause: e.to_string(),
                }),
                Handle::Redis { .. } => Err(BrokerError::Invalid(
                    "a Redis delivery was acknowledged on a NATS queue".into(),
                )),
            }
        })
    }

    fn ack_all<'a>(
        &'a mut self,
        deliveries: &'a [Delivery],
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            // JetStream acks each message on its own subject: sent together, confirmed together.
            let mut acks = Vec::with_capacity(deliveries.len());
            for d in deliveries {
                match &d.handle {
                    Handle::Nats(m) => acks.push(m.double_ack()),
                    Handle::Redis { .. } => {
                        return Err(BrokerError::Invalid(
                            "a Redis delivery was acknowledged on a NATS queue".into(),
                        ))
                    }
                }
            }
            for r in futures_util::future::join_all(acks).await {
                r.map_err(|e| BrokerError::Unavailable {
                    url: self.queue.broker.shown.clone(),
                    cause: e.to_string(),
                })?;
            }
            Ok(())
        })
    }
}

/// A KV bucket on NATS. Keys are encoded (`=XX` for bytes NATS does not allow in keys).
pub struct NatsKv {
    store: kv::Store,
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
            self.store
                .put(encode_key(key), value)
                .await
                .map_err(|e| refused("a KV put")(e.to_string()))?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BrokerError>> {
        Box::pin(async move {
            self.store
                .get(encode_key(key))
                .await
                .map_err(|e| refused("a KV get")(e.to_string()))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            self.store
                .purge(encode_key(key))
                .await
                .map_err(|e| refused("a KV delete")(e.to_string()))
        })
    }

    fn keys(&self, max: usize) -> BoxFuture<'_, Result<Vec<String>, BrokerError>> {
        Box::pin(async move {
            let mut keys = match self.store.keys().await {
                Ok(k) => k,
                Err(e) => return Err(refused("listing KV keys")(e.to_string())),
            };
            let mut out = Vec::new();
            while let Some(k) = keys.next().await {
                let k = k.map_err(|e| refused("listing KV keys")(e.to_string()))?;
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
