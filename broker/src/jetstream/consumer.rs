//! A consumer of a NATS queue: fetches from the queue's durable pull consumer, dead-letters
//! past the delivery bound, double-acks, and gets the queue made again when the server lost it.

use super::{NatsQueue, RECONNECT_PATIENCE};
use crate::queue::{Consumer, Delivery, Handle};
use crate::BrokerError;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use std::time::Duration;

/// A pull still unanswered this long after its expiry never reached a consumer (the client
/// gives up on it 5 s after the expiry; the server answers at the expiry).
const UNANSWERED: Duration = Duration::from_secs(2);

/// A consumer pulling from the queue's durable consumer (replicas share it). The client
/// reconnects by itself and the durable consumer lives in the server's store, so the same handle
/// goes on after a restart; when the server answers that the consumer is missing (a server
/// restarted without its store), the stream and consumer are made again.
pub struct NatsConsumer {
    queue: NatsQueue,
}

impl NatsConsumer {
    pub(super) fn new(queue: NatsQueue) -> NatsConsumer {
        NatsConsumer { queue }
    }

    /// One fetch of up to `max` messages waiting up to `wait`.
    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BrokerError> {
        let q = &self.queue;
        let mut batch = q
            .consumer
            .fetch()
            .max_messages(max)
            .expires(wait.max(Duration::from_millis(10)))
            .messages()
            .await
            .map_err(|e| q.broker.failure("a pull", e))?;
        let mut out = Vec::new();
        while let Some(m) = batch.next().await {
            let m = match m {
                Ok(m) => m,
                // What was already received is this consumer's now: hand it out.
                Err(e) if !out.is_empty() => {
                    tracing::warn!(queue = %q.name, error = %e, "pull failed part-way; handing out what was received");
                    break;
                }
                Err(e) => return Err(q.broker.failure("a pull", e)),
            };
            let deliveries = m.info().map(|i| i.delivered).unwrap_or(1).max(1) as u32;
            let msg_id = m
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id").or_else(|| h.get("Ww-Msg-Id")))
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
                    .map_err(|e| q.broker.failure("a dead letter", e))?
                    .await
                    .map_err(|e| q.broker.failure("a dead letter", e))?;
                m.double_ack()
                    .await
                    .map_err(|e| q.broker.failure("acknowledging a dead letter", e))?;
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
        if out.is_empty() && !q.broker.connected() {
            // The pull went nowhere: say so rather than "nothing to do".
            return Err(q.broker.failure("a pull", "the connection was lost"));
        }
        Ok(out)
    }

    /// Makes the stream and durable consumer again (they exist already unless the server lost
    /// them) and takes the new handle.
    async fn recreate(&mut self) -> Result<(), BrokerError> {
        let q = &self.queue;
        let consumer = q
            .broker
            .ensure_queue(&q.name, &q.subject, &q.config)
            .await?;
        self.queue.consumer = consumer;
        Ok(())
    }
}

impl Consumer for NatsConsumer {
    fn pull(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<Delivery>, BrokerError>> {
        Box::pin(async move {
            let max = max.max(1);
            self.queue
                .broker
                .await_connection(RECONNECT_PATIENCE)
                .await?;
            let started = tokio::time::Instant::now();
            match self.fetch(max, wait).await {
                // Connected, yet the pull failed: the consumer (or its stream) may be gone.
                Err(e) if self.queue.broker.connected() => {
                    tracing::warn!(queue = %self.queue.name, error = %e, "pull failed; making sure the queue's stream and consumer exist");
                    self.recreate().await?;
                    self.fetch(max, wait).await
                }
                // The server answers an expired pull at once; this one ended on the client's
                // own timer instead: the request went nowhere (the durable consumer is gone, or
                // the request was lost with a connection).
                Ok(out) if out.is_empty() && started.elapsed() >= wait + UNANSWERED => {
                    tracing::warn!(queue = %self.queue.name, "a pull went unanswered; making sure the queue's stream and consumer exist");
                    self.recreate().await?;
                    Ok(out)
                }
                other => other,
            }
        })
    }

    fn ack<'a>(&'a mut self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            self.queue
                .broker
                .await_connection(RECONNECT_PATIENCE)
                .await?;
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
            self.queue
                .broker
                .await_connection(RECONNECT_PATIENCE)
                .await?;
            // JetStream acks each message on its own subject. All but the last go out without
            // waiting; the last is a double ack, which the server confirms only after it handled
            // what came before it on this connection: one round trip confirms the batch.
            let mut handles = Vec::with_capacity(deliveries.len());
            for d in deliveries {
                match &d.handle {
                    Handle::Nats(m) => handles.push(m),
                    Handle::Redis { .. } => {
                        return Err(BrokerError::Invalid(
                            "a Redis delivery was acknowledged on a NATS queue".into(),
                        ))
                    }
                }
            }
            let unavailable = |e: async_nats::Error| BrokerError::Unavailable {
                url: self.queue.broker.shown.clone(),
                cause: e.to_string(),
            };
            let Some((last, rest)) = handles.split_last() else {
                return Ok(());
            };
            for m in rest {
                m.ack().await.map_err(unavailable)?;
            }
            last.double_ack().await.map_err(unavailable)?;
            Ok(())
        })
    }
}
