//! The work queue on NATS JetStream: a work-queue stream per queue (`WW_<ns>_Q_<queue>`, subject
//! `ww.<ns>.q.<queue>`) with `Nats-Msg-Id` de-duplication, one durable pull consumer (`workers`)
//! that every replica pulls through (explicit ack, `ack_wait` = the claim bound, so what a dead
//! consumer held is redelivered to a live one), `max_deliver` one past the queue's bound so the
//! last delivery can be moved to the dead-letter stream (`WW_<ns>_DLQ`, subject
//! `ww.<ns>.dlq.<queue>`), and KV buckets (`WW_<ns>_<bucket>`) for state.

mod consumer;
mod kv;

pub use consumer::NatsConsumer;
pub use kv::NatsKv;

use crate::queue::{Consumer, DeadMessage, QueueConfig, WorkQueue};
use crate::url::{checked_name, BrokerUrl};
use crate::BrokerError;
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::{self, consumer as js_consumer, stream};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

const DURABLE: &str = "workers";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on a request's answer (KV reads, API calls), as on Redis.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on a health check's round trip: a `/readyz` answers quickly either way.
const PING_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest pause between reconnection attempts (the client retries for ever).
const RECONNECT_MAX: Duration = Duration::from_secs(2);
/// How long a call waits at most for a lost connection to come back before it reports the
/// broker unavailable (so a consumer loop over a dead server neither spins nor hangs, and a
/// call made while it is away fails in about this long instead of the request timeout).
const RECONNECT_PATIENCE: Duration = Duration::from_secs(1);

/// A connection to a NATS server with JetStream, for one namespace.
#[derive(Clone)]
pub struct NatsBroker {
    // Shared: a context is large and every queue, consumer and bucket holds a broker.
    js: Arc<jetstream::Context>,
    ns: String,
    shown: String,
}

impl NatsBroker {
    pub(crate) async fn connect(url: &BrokerUrl, ns: String) -> Result<NatsBroker, BrokerError> {
        // The client reconnects by itself, for ever, re-subscribing (a pull in flight survives):
        // only the pause between attempts is bounded here, so a restarted server is found soon.
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .request_timeout(Some(REQUEST_TIMEOUT))
            .reconnect_delay_callback(|attempts| {
                let exp = u32::try_from(attempts.saturating_sub(1))
                    .unwrap_or(u32::MAX)
                    .min(8);
                Duration::from_millis(50u64 << exp).min(RECONNECT_MAX)
            })
            .connect(url.raw.as_str())
            .await
            .map_err(|e| BrokerError::Unavailable {
                url: url.shown.clone(),
                cause: e.to_string(),
            })?;
        Ok(NatsBroker {
            js: Arc::new(jetstream::new(client)),
            ns,
            shown: url.shown.clone(),
        })
    }

    /// Whether the client holds a connection to the server right now.
    fn connected(&self) -> bool {
        self.js.client().connection_state() == async_nats::connection::State::Connected
    }

    /// `cause` as `Unavailable` when the connection is down or the error says the server did
    /// not answer (timeouts, no responders while JetStream starts), else as a refusal of `what`.
    fn failure(&self, what: &str, cause: impl std::fmt::Display) -> BrokerError {
        let cause = cause.to_string();
        let lower = cause.to_ascii_lowercase();
        let transient = [
            "timed out",
            "timeout",
            "no responders",
            "broken pipe",
            "disconnect",
            "503",
        ]
        .iter()
        .any(|t| lower.contains(t));
        if transient || !self.connected() {
            BrokerError::Unavailable {
                url: self.shown.clone(),
                cause: format!("{what}: {cause}"),
            }
        } else {
            BrokerError::Refused {
                what: what.to_string(),
                cause,
            }
        }
    }

    /// Waits up to `patience` for a lost connection to come back.
    async fn await_connection(&self, patience: Duration) -> Result<(), BrokerError> {
        let until = tokio::time::Instant::now() + patience;
        while !self.connected() {
            if tokio::time::Instant::now() >= until {
                return Err(BrokerError::Unavailable {
                    url: self.shown.clone(),
                    cause: "not connected; the client is reconnecting".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Ok(())
    }

    /// A JetStream API round trip within [`PING_TIMEOUT`]: the server is connected and its
    /// JetStream answers (it may refuse requests for a moment after a restart).
    pub(crate) async fn ping(&self) -> Result<(), BrokerError> {
        let unavailable = |cause: String| BrokerError::Unavailable {
            url: self.shown.clone(),
            cause,
        };
        if !self.connected() {
            return Err(unavailable(
                "not connected; the client is reconnecting".into(),
            ));
        }
        let client = self.js.client();
        let request = client.request("$JS.API.INFO", Bytes::new());
        let reply = match tokio::time::timeout(PING_TIMEOUT, request).await {
            Err(_) => return Err(unavailable(format!("no answer within {PING_TIMEOUT:?}"))),
            Ok(Err(e)) => return Err(unavailable(format!("JetStream account info: {e}"))),
            Ok(Ok(reply)) => reply,
        };
        let body: serde_json::Value = serde_json::from_slice(&reply.payload)
            .map_err(|e| unavailable(format!("JetStream account info is not JSON ({e})")))?;
        match body.get("error") {
            Some(error) => Err(unavailable(format!("JetStream is not ready: {error}"))),
            None => Ok(()),
        }
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
            .map_err(|e| self.failure("creating the dead-letter stream", e))
    }

    pub(crate) async fn queue(
        &self,
        name: &str,
        config: QueueConfig,
    ) -> Result<NatsQueue, BrokerError> {
        let name = checked_name("queue", name)?;
        let subject = format!("ww.{}.q.{name}", self.ns);
        let consumer = self.ensure_queue(&name, &subject, &config).await?;
        Ok(NatsQueue {
            broker: self.clone(),
            dlq_subject: format!("ww.{}.dlq.{name}", self.ns),
            name,
            subject,
            consumer,
            config,
        })
    }

    /// Creates the queue's stream, the dead-letter stream and the durable consumer unless they
    /// exist; the handle of the consumer.
    async fn ensure_queue(
        &self,
        name: &str,
        subject: &str,
        config: &QueueConfig,
    ) -> Result<js_consumer::PullConsumer, BrokerError> {
        let stream = self
            .js
            .get_or_create_stream(stream::Config {
                name: format!("WW_{}_Q_{name}", self.ns),
                subjects: vec![subject.to_string()],
                retention: stream::RetentionPolicy::WorkQueue,
                max_messages: i64::try_from(config.max_len).unwrap_or(i64::MAX),
                duplicate_window: config.dedupe_window,
                ..Default::default()
            })
            .await
            .map_err(|e| self.failure(&format!("creating the stream of queue `{name}`"), e))?;
        self.dlq_stream().await?;
        stream
            .get_or_create_consumer(
                DURABLE,
                js_consumer::pull::Config {
                    durable_name: Some(DURABLE.into()),
                    ack_policy: js_consumer::AckPolicy::Explicit,
                    ack_wait: config.claim_idle,
                    max_deliver: i64::from(config.max_deliveries) + 1,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| self.failure(&format!("creating the consumer of queue `{name}`"), e))
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
            .map_err(|e| self.failure(&format!("creating the bucket `{name}`"), e))?;
        let store = self
            .js
            .get_key_value(&bucket)
            .await
            .map_err(|e| self.failure(&format!("opening the bucket `{name}`"), e))?;
        Ok(NatsKv::new(self.clone(), store))
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
                .map_err(|e| self.failure(&format!("deleting stream {name}"), e))?;
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
    consumer: js_consumer::PullConsumer,
    config: QueueConfig,
}

impl NatsQueue {
    /// Publishes `body` under `msg_id` and waits for the stream's confirmation.
    async fn publish(&self, msg_id: &str, body: Bytes) -> Result<PublishAck, PublishError> {
        let mut headers = async_nats::HeaderMap::new();
        // Without a de-duplication window the id is only carried, not checked.
        let key = if self.config.dedupe_window.is_zero() {
            "Ww-Msg-Id"
        } else {
            "Nats-Msg-Id"
        };
        headers.insert(key, msg_id);
        self.broker
            .js
            .publish_with_headers(self.subject.clone(), headers, body)
            .await?
            .await
    }

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
            self.broker.await_connection(RECONNECT_PATIENCE).await?;
            let ack = match self.publish(msg_id, body.clone()).await {
                // No stream takes the subject: the server lost it (restarted without its
                // store). Make the queue again rather than fail every push from now on.
                Err(e) if e.kind() == PublishErrorKind::StreamNotFound => {
                    tracing::warn!(queue = %self.name, "the queue's stream is gone (the broker restarted without its data?); creating it again");
                    self.broker
                        .ensure_queue(&self.name, &self.subject, &self.config)
                        .await?;
                    self.publish(msg_id, body).await
                }
                other => other,
            }
            .map_err(|e| {
                self.broker
                    .failure(&format!("a message for queue `{}`", self.name), e)
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
            Ok(Box::new(NatsConsumer::new(self.copy())) as Box<dyn Consumer>)
        })
    }

    fn dead_letters(&self, max: usize) -> BoxFuture<'_, Result<Vec<DeadMessage>, BrokerError>> {
        Box::pin(async move {
            self.broker.await_connection(RECONNECT_PATIENCE).await?;
            let stream = self.broker.dlq_stream().await?;
            let reader: js_consumer::PullConsumer = stream
                .create_consumer(js_consumer::pull::Config {
                    filter_subject: self.dlq_subject.clone(),
                    ack_policy: js_consumer::AckPolicy::None,
                    deliver_policy: js_consumer::DeliverPolicy::All,
                    inactive_threshold: Duration::from_secs(30),
                    ..Default::default()
                })
                .await
                .map_err(|e| self.broker.failure("reading the dead-letter stream", e))?;
            let mut batch = reader
                .fetch()
                .max_messages(max.max(1))
                .expires(Duration::from_millis(500))
                .messages()
                .await
                .map_err(|e| self.broker.failure("reading the dead-letter stream", e))?;
            let mut out = Vec::new();
            while let Some(m) = batch.next().await {
                let m = m.map_err(|e| self.broker.failure("reading the dead-letter stream", e))?;
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
