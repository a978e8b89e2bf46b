//! The work queue on Redis Streams: a stream per queue (`ww:<ns>:q:<queue>`) with one consumer
//! group (`workers`) that every replica reads through. XADD with approximate MAXLEN trimming
//! (through a script that first records the message id, for de-duplication), XREADGROUP for new
//! entries, XACK after handling, own pending entries first after a restart (XREADGROUP from id
//! 0), XAUTOCLAIM of entries a dead consumer left idle, and a dead-letter stream
//! (`ww:<ns>:dlq:<queue>`) for entries delivered too often.

use crate::queue::{Consumer, DeadMessage, Delivery, Handle, QueueConfig, WorkQueue};
use crate::redis_link::{Link, Live, Patience, RESPONSE_TIMEOUT};
use crate::url::{checked_name, BrokerUrl};
use crate::{BrokerError, Kv};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const GROUP: &str = "workers";
/// Bound on a health check's round trip: a `/readyz` answers quickly either way.
const PING_TIMEOUT: Duration = Duration::from_secs(1);
/// Entries a consumer remembers as handed out and not yet acknowledged (so a re-read of its
/// pending entries after a reconnection skips what it is still handling); past this the memory
/// is dropped, which at worst hands such an entry out once more (at-least-once allows it).
const OUTSTANDING_MAX: usize = 100_000;

/// Records the id (SET NX with the window as expiry) and appends only if it was new.
const PUSH_SCRIPT: &str = r"
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'id', ARGV[1], 'body', ARGV[2])
return 1";

/// A connection to one Redis server for one namespace; reconnects by itself after the server
/// went away ([`Link`]).
#[derive(Clone)]
pub struct RedisBroker {
    link: Link,
    ns: String,
}

impl RedisBroker {
    pub(crate) async fn connect(url: &BrokerUrl, ns: String) -> Result<RedisBroker, BrokerError> {
        let client = redis::Client::open(url.raw.as_str())
            .map_err(|e| BrokerError::Invalid(format!("broker URL {}: {e}", url.shown)))?;
        let link = Link::connect(client, &url.shown).await?;
        Ok(RedisBroker { link, ns })
    }

    /// One PING round trip within [`PING_TIMEOUT`], connecting again first if needed (without
    /// waiting out the backoff: a health check must see a server that came back).
    pub(crate) async fn ping(&self) -> Result<(), BrokerError> {
        let round_trip = async {
            let mut live = self.link.get(Patience::Now).await?;
            let result: Result<String, _> = redis::cmd("PING").query_async(&mut live.conn).await;
            self.link.check(live.generation, result).map(|_| ())
        };
        match tokio::time::timeout(PING_TIMEOUT, round_trip).await {
            Ok(r) => r,
            Err(_) => Err(self.link.timed_out("PING", PING_TIMEOUT)),
        }
    }

    pub(crate) async fn queue(
        &self,
        name: &str,
        config: QueueConfig,
    ) -> Result<RedisQueue, BrokerError> {
        let name = checked_name("queue", name)?;
        let key = format!("ww:{}:q:{name}", self.ns);
        create_group(&self.link, &key).await?;
        Ok(RedisQueue {
            broker: self.clone(),
            dlq: format!("ww:{}:dlq:{name}", self.ns),
            seen: format!("ww:{}:seen:{name}:", self.ns),
            name,
            key,
            config,
        })
    }

    pub(crate) fn kv(&self, name: &str, ttl: Option<Duration>) -> Result<RedisKv, BrokerError> {
        let name = checked_name("bucket", name)?;
        Ok(RedisKv {
            broker: self.clone(),
            prefix: format!("ww:{}:kv:{name}:", self.ns),
            ttl,
        })
    }

    /// Deletes every key of the namespace (SCAN + UNLINK in batches).
    pub(crate) async fn purge_namespace(&self) -> Result<(), BrokerError> {
        let pattern = format!("ww:{}:*", self.ns);
        let keys = scan(&self.link, &pattern, usize::MAX).await?;
        for batch in keys.chunks(500) {
            let _: () = self.link.query(redis::cmd("UNLINK").arg(batch)).await?;
        }
        Ok(())
    }
}

/// Creates the queue's stream and consumer group unless they exist. The group starts at the
/// stream's beginning (`0`), so when it has to be made again (the server restarted without its
/// data) entries pushed since are delivered, not skipped.
async fn create_group(link: &Link, key: &str) -> Result<(), BrokerError> {
    let mut live = link.get(Patience::Backoff).await?;
    let created: Result<(), _> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(key)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut live.conn)
        .await;
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => link.check(live.generation, other),
    }
}

/// Keys matching `pattern`, at most `max`.
async fn scan(link: &Link, pattern: &str, max: usize) -> Result<Vec<String>, BrokerError> {
    let mut cursor: u64 = 0;
    let mut out = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) = link
            .query(
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(500),
            )
            .await?;
        out.extend(keys);
        if next == 0 || out.len() >= max {
            out.truncate(max);
            return Ok(out);
        }
        cursor = next;
    }
}

/// One queue (stream + group) on Redis.
pub struct RedisQueue {
    broker: RedisBroker,
    name: String,
    key: String,
    dlq: String,
    seen: String,
    config: QueueConfig,
}

impl RedisQueue {
    fn copy(&self) -> RedisQueue {
        RedisQueue {
            broker: self.broker.clone(),
            name: self.name.clone(),
            key: self.key.clone(),
            dlq: self.dlq.clone(),
            seen: self.seen.clone(),
            config: self.config.clone(),
        }
    }
}

impl WorkQueue for RedisQueue {
    fn name(&self) -> &str {
        &self.name
    }

    fn push<'a>(
        &'a self,
        msg_id: &'a str,
        body: Bytes,
    ) -> BoxFuture<'a, Result<bool, BrokerError>> {
        Box::pin(async move {
            let link = &self.broker.link;
            let mut live = link.get(Patience::Backoff).await?;
            let result: Result<i64, _> = redis::Script::new(PUSH_SCRIPT)
                .key(&self.key)
                .key(format!("{}{msg_id}", self.seen))
                .arg(msg_id)
                .arg(body.as_ref())
                .arg(self.config.dedupe_window.as_millis().max(1) as u64)
                .arg(self.config.max_len)
                .invoke_async(&mut live.conn)
                .await;
            Ok(link.check(live.generation, result)? == 1)
        })
    }

    fn consumer<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Consumer>, BrokerError>> {
        Box::pin(async move {
            let name = checked_name("consumer", name)?;
            // Its own connection: a blocking XREADGROUP holds the connection it runs on.
            let link = self.broker.link.sibling().await?;
            let live = link.get(Patience::Now).await?;
            Ok(Box::new(RedisConsumer {
                queue: self.copy(),
                name,
                link,
                conn: live.conn,
                generation: live.generation,
                own_cursor: Some("0".into()),
                last_claim: None,
                outstanding: HashSet::new(),
                group_missing: false,
            }) as Box<dyn Consumer>)
        })
    }

    fn dead_letters(&self, max: usize) -> BoxFuture<'_, Result<Vec<DeadMessage>, BrokerError>> {
        Box::pin(async move {
            let reply: redis::streams::StreamRangeReply = self
                .broker
                .link
                .query(
                    redis::cmd("XRANGE")
                        .arg(&self.dlq)
                        .arg("-")
                        .arg("+")
                        .arg("COUNT")
                        .arg(max),
                )
                .await?;
            Ok(reply
                .ids
                .iter()
                .map(|e| DeadMessage {
                    msg_id: e.get::<String>("id").unwrap_or_default(),
                    body: Bytes::from(e.get::<Vec<u8>>("body").unwrap_or_default()),
                    deliveries: e.get::<u32>("deliveries").unwrap_or(0),
                })
                .collect())
        })
    }
}

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

/// A key-value bucket on Redis: plain keys under the bucket's prefix, with PX expiry.
pub struct RedisKv {
    broker: RedisBroker,
    prefix: String,
    ttl: Option<Duration>,
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
