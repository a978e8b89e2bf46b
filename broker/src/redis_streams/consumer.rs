//! A consumer of a Redis queue: XREADGROUP on its own connection (a blocking read holds the
//! connection it runs on), own pending entries first, XAUTOCLAIM of what dead consumers left
//! idle, dead-lettering past the delivery bound, and recovery from a lost connection or a lost
//! consumer group.

use super::{create_group, RedisQueue, GROUP};
use crate::queue::{Consumer, Delivery, Handle};
use crate::redis_link::{Link, Live, Patience, RESPONSE_TIMEOUT};
use crate::BrokerError;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Entries a consumer remembers as handed out and not yet acknowledged (so a re-read of its
/// pending entries after a reconnection skips what it is still handling); past this the memory
/// is dropped, which at worst hands such an entry out once more (at-least-once allows it).
const OUTSTANDING_MAX: usize = 100_000;

/// A consumer of a Redis queue, on its own connection. After that connection was lost and made
/// again it re-reads its own pending entries (replies lost with the old connection may have
/// handed it entries it never saw), skipping those it handed out and still expects to be
/// acknowledged; after its group vanished (a server restarted without its data) it makes the
/// stream and group again and goes on.
pub struct RedisConsumer {
    queue: RedisQueue,
    name: String,
    link: Link,
    /// The connection of the current call (refreshed from `link` at each call's start).
    conn: redis::aio::MultiplexedConnection,
    /// The generation of `conn`: a new one means the connection was made again.
    generation: u64,
    /// Where the re-read of this consumer's own pending entries stands; None once all were
    /// handed out again.
    own_cursor: Option<String>,
    last_claim: Option<Instant>,
    /// Entries handed out and not yet acknowledged.
    outstanding: HashSet<String>,
    /// A command was answered NOGROUP: the group has to be made again.
    group_missing: bool,
}

impl RedisConsumer {
    /// A consumer named `name` of `queue`, on a connection of its own made now.
    pub(super) async fn open(
        queue: RedisQueue,
        name: String,
    ) -> Result<RedisConsumer, BrokerError> {
        let link = queue.broker.link.sibling().await?;
        let live = link.get(Patience::Now).await?;
        Ok(RedisConsumer {
            queue,
            name,
            link,
            conn: live.conn,
            generation: live.generation,
            own_cursor: Some("0".into()),
            last_claim: None,
            outstanding: HashSet::new(),
            group_missing: false,
        })
    }

    /// Takes the link's live connection (connecting again if it broke); a new connection
    /// restarts the re-read of own pending entries.
    async fn refresh(&mut self) -> Result<(), BrokerError> {
        let Live { conn, generation } = self.link.get(Patience::Backoff).await?;
        if generation != self.generation {
            self.generation = generation;
            self.own_cursor = Some("0".into());
        }
        self.conn = conn;
        Ok(())
    }

    fn check<T>(&mut self, result: Result<T, redis::RedisError>) -> Result<T, BrokerError> {
        if let Err(e) = &result {
            if e.code() == Some("NOGROUP") {
                self.group_missing = true;
            }
        }
        self.link.check(self.generation, result)
    }

    /// Makes the stream and group again after the server lost them.
    async fn recreate_group(&mut self) -> Result<(), BrokerError> {
        tracing::warn!(queue = %self.queue.name, "the queue's consumer group is gone (the broker restarted without its data?); creating it again");
        create_group(&self.link, &self.queue.key).await?;
        self.group_missing = false;
        self.outstanding.clear();
        self.own_cursor = None;
        Ok(())
    }

    /// XREADGROUP from `from` (`0`-based ids: own pending; `>`: new), optionally blocking.
    async fn read(
        &mut self,
        from: &str,
        count: usize,
        block: Option<Duration>,
    ) -> Result<Vec<StreamId>, BrokerError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(&self.name)
            .arg("COUNT")
            .arg(count);
        let mut conn = self.conn.clone();
        if let Some(b) = block {
            cmd.arg("BLOCK").arg(b.as_millis().max(1) as u64);
            // This handle's response bound must outlast the block.
            conn.set_response_timeout(b + RESPONSE_TIMEOUT);
        }
        cmd.arg("STREAMS").arg(&self.queue.key).arg(from);
        let result: Result<Option<StreamReadReply>, _> = cmd.query_async(&mut conn).await;
        Ok(self
            .check(result)?
            .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
            .unwrap_or_default())
    }

    /// How often each entry was delivered (XPENDING for that id).
    async fn delivered(&mut self, entry: &str) -> Result<u32, BrokerError> {
        let result: Result<StreamPendingCountReply, _> = redis::cmd("XPENDING")
            .arg(&self.queue.key)
            .arg(GROUP)
            .arg(entry)
            .arg(entry)
            .arg(1)
            .query_async(&mut self.conn)
            .await;
        Ok(self
            .check(result)?
            .ids
            .first()
            .map(|p| p.times_delivered as u32)
            .unwrap_or(1))
    }

    /// Turns entries into deliveries; those delivered too often go to the dead-letter stream.
    async fn admit(
        &mut self,
        entries: Vec<StreamId>,
        counted: bool,
        out: &mut Vec<Delivery>,
    ) -> Result<(), BrokerError> {
        for e in entries {
            if e.map.is_empty() {
                // Trimmed away (MAXLEN) while pending: nothing to hand out; drop the pending mark.
                self.xack_many(&[&e.id]).await?;
                continue;
            }
            let deliveries = if counted {
                match e.delivered_count {
                    Some(n) => n as u32,
                    None => self.delivered(&e.id).await?,
                }
            } else {
                1
            };
            let msg_id = e.get::<String>("id").unwrap_or_default();
            let body = Bytes::from(e.get::<Vec<u8>>("body").unwrap_or_default());
            if deliveries > self.queue.config.max_deliveries {
                let result: Result<String, _> = redis::cmd("XADD")
                    .arg(&self.queue.dlq)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(self.queue.config.max_len)
                    .arg("*")
                    .arg("id")
                    .arg(&msg_id)
                    .arg("body")
                    .arg(body.as_ref())
                    .arg("deliveries")
                    .arg(deliveries - 1)
                    .query_async(&mut self.conn)
                    .await;
                self.check(result)?;
                self.xack_many(&[&e.id]).await?;
                tracing::warn!(queue = %self.queue.name, msg_id = %msg_id, deliveries = deliveries - 1, "message delivered too often: moved to the dead-letter stream");
                continue;
            }
            out.push(Delivery {
                msg_id,
                body,
                deliveries,
                handle: Handle::Redis { entry: e.id },
            });
        }
        Ok(())
    }

    async fn xack_many(&mut self, entries: &[&str]) -> Result<(), BrokerError> {
        if entries.is_empty() {
            return Ok(());
        }
        let result: Result<i64, _> = redis::cmd("XACK")
            .arg(&self.queue.key)
            .arg(GROUP)
            .arg(entries)
            .query_async(&mut self.conn)
            .await;
        match self.check(result) {
            Ok(_) => {}
            // The group and its record of deliveries are gone (the server lost its data):
            // nothing is left to acknowledge; the next pull makes the group again.
            Err(_) if self.group_missing => {
                tracing::warn!(queue = %self.queue.name, "acknowledged entries of a consumer group that no longer exists")
            }
            Err(e) => return Err(e),
        }
        for entry in entries {
            self.outstanding.remove(*entry);
        }
        Ok(())
    }

    /// Fills `out` from own pending entries, idle ones of dead consumers, then new ones.
    async fn collect(
        &mut self,
        max: usize,
        wait: Duration,
        out: &mut Vec<Delivery>,
    ) -> Result<(), BrokerError> {
        // 1. What this consumer held before a restart or reconnection, oldest first, each
        //    handed out once (not what it handed out and is still handling).
        while out.len() < max {
            let Some(cursor) = self.own_cursor.clone() else {
                break;
            };
            let mut entries = self.read(&cursor, max - out.len(), None).await?;
            match entries.last() {
                Some(last) => self.own_cursor = Some(last.id.clone()),
                None => self.own_cursor = None,
            }
            entries.retain(|e| !self.outstanding.contains(&e.id));
            self.admit(entries, true, out).await?;
        }
        // 2. Entries a dead consumer left idle, checked at most twice per idle bound.
        let idle = self.queue.config.claim_idle;
        let due = self.last_claim.is_none_or(|t| t.elapsed() >= idle / 2);
        if out.len() < max && due {
            self.last_claim = Some(Instant::now());
            let result: Result<StreamAutoClaimReply, _> = redis::cmd("XAUTOCLAIM")
                .arg(&self.queue.key)
                .arg(GROUP)
                .arg(&self.name)
                .arg(idle.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(max - out.len())
                .query_async(&mut self.conn)
                .await;
            let reply = self.check(result)?;
            self.admit(reply.claimed, true, out).await?;
        }
        // 3. New entries, waiting only when nothing else was found.
        if out.len() < max {
            let block = out.is_empty().then_some(wait);
            let entries = self.read(">", max - out.len(), block).await?;
            self.admit(entries, false, out).await?;
        }
        Ok(())
    }

    /// What `collect` gathered, remembered as outstanding until acknowledged. A failure after
    /// some entries were gathered still hands those out (they are this consumer's now); the
    /// failure shows again on the next call.
    fn hand_out(
        &mut self,
        collected: Result<(), BrokerError>,
        out: Vec<Delivery>,
    ) -> Result<Vec<Delivery>, BrokerError> {
        match collected {
            Err(e) if out.is_empty() => return Err(e),
            Err(e) => {
                tracing::warn!(queue = %self.queue.name, error = %e, "pull failed part-way; handing out what was read")
            }
            Ok(()) => {}
        }
        if self.outstanding.len() + out.len() > OUTSTANDING_MAX {
            self.outstanding.clear();
        }
        for d in &out {
            if let Handle::Redis { entry } = &d.handle {
                self.outstanding.insert(entry.clone());
            }
        }
        Ok(out)
    }
}

impl Consumer for RedisConsumer {
    fn pull(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<Delivery>, BrokerError>> {
        Box::pin(async move {
            let max = max.max(1);
            self.refresh().await?;
            if self.group_missing {
                self.recreate_group().await?;
            }
            let mut out = Vec::new();
            let mut collected = self.collect(max, wait, &mut out).await;
            if collected.is_err() && out.is_empty() && self.group_missing {
                self.recreate_group().await?;
                collected = self.collect(max, wait, &mut out).await;
            }
            self.hand_out(collected, out)
        })
    }

    fn ack<'a>(&'a mut self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.ack_all(std::slice::from_ref(delivery))
    }

    fn ack_all<'a>(
        &'a mut self,
        deliveries: &'a [Delivery],
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            let mut entries = Vec::with_capacity(deliveries.len());
            for d in deliveries {
                match &d.handle {
                    Handle::Redis { entry } => entries.push(entry.as_str()),
                    Handle::Nats(_) => {
                        return Err(BrokerError::Invalid(
                            "a NATS delivery was acknowledged on a Redis queue".into(),
                        ))
                    }
                }
            }
            self.refresh().await?;
            for chunk in entries.chunks(1000) {
                self.xack_many(chunk).await?;
            }
            Ok(())
        })
    }
}
