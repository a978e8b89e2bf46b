//! The work queue on Redis Streams: a stream per queue (`ww:<ns>:q:<queue>`) with one consumer
//! group (`workers`) that every replica reads through. XADD with approximate MAXLEN trimming
//! (through a script that first records the message id, for de-duplication), XREADGROUP for new
//! entries, XACK after handling, own pending entries first after a restart (XREADGROUP from id
//! 0), XAUTOCLAIM of entries a dead consumer left idle, and a dead-letter stream
//! (`ww:<ns>:dlq:<queue>`) for entries delivered too often.

use crate::queue::{Consumer, DeadMessage, Delivery, Handle, QueueConfig, WorkQueue};
use crate::url::{checked_name, BrokerUrl};
use crate::{BrokerError, Kv};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use redis::AsyncConnectionConfig;
use std::time::{Duration, Instant};

const GROUP: &str = "workers";
/// How long connecting may take before the broker counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on a command's answer (blocking reads add their own wait to it).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Records the id (SET NX with the window as expiry) and appends only if it was new.
const PUSH_SCRIPT: &str = r"
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'id', ARGV[1], 'body', ARGV[2])
return 1";

/// A connection to one Redis server for one namespace.
#[derive(Clone)]
pub struct RedisBroker {
    client: redis::Client,
    conn: MultiplexedConnection,
    ns: String,
    shown: String,
}

impl RedisBroker {
    pub(crate) async fn connect(url: &BrokerUrl, ns: String) -> Result<RedisBroker, BrokerError> {
        let unreachable = |cause: String| BrokerError::Unavailable {
            url: url.shown.clone(),
            cause,
        };
        let client = redis::Client::open(url.raw.as_str())
            .map_err(|e| BrokerError::Invalid(format!("broker URL {}: {e}", url.shown)))?;
        let conn = connection(&client, RESPONSE_TIMEOUT)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(RedisBroker {
            client,
            conn,
            ns,
            shown: url.shown.clone(),
        })
    }

    fn unavailable(&self, e: redis::RedisError) -> BrokerError {
        match BrokerError::from(e) {
            BrokerError::Unavailable { cause, .. } => BrokerError::Unavailable {
                url: self.shown.clone(),
                cause,
            },
            other => other,
        }
    }

    pub(crate) async fn queue(
        &self,
        name: &str,
        config: QueueConfig,
    ) -> Result<RedisQueue, BrokerError> {
        let name = checked_name("queue", name)?;
        let key = format!("ww:{}:q:{name}", self.ns);
        let mut conn = self.conn.clone();
        let created: Result<(), _> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&key)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        if let Err(e) = created {
            if e.code() != Some("BUSYGROUP") {
                return Err(self.unavailable(e));
            }
        }
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
        let keys = scan(&mut self.conn.clone(), &pattern, usize::MAX)
            .await
            .map_err(|e| self.unavailable(e))?;
        for batch in keys.chunks(500) {
            let _: () = redis::cmd("UNLINK")
                .arg(batch)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(|e| self.unavailable(e))?;
        }
        Ok(())
    }
}

async fn connection(
    client: &redis::Client,
    response: Duration,
) -> Result<MultiplexedConnection, redis::RedisError> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(response));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// Keys matching `pattern`, at most `max`.
async fn scan(
    conn: &mut MultiplexedConnection,
    pattern: &str,
    max: usize,
) -> Result<Vec<String>, redis::RedisError> {
    let mut cursor: u64 = 0;
    let mut out = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(conn)
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
            let added: i64 = redis::Script::new(PUSH_SCRIPT)
                .key(&self.key)
                .key(format!("{}{msg_id}", self.seen))
                .arg(msg_id)
                .arg(body.as_ref())
                .arg(self.config.dedupe_window.as_millis().max(1) as u64)
                .arg(self.config.max_len)
                .invoke_async(&mut self.broker.conn.clone())
                .await
                .map_err(|e| self.broker.unavailable(e))?;
            Ok(added == 1)
        })
    }

    fn consumer<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Consumer>, BrokerError>> {
        Box::pin(async move {
            let name = checked_name("consumer", name)?;
            // Its own connection: a blocking XREADGROUP holds the connection it runs on.
            let conn = connection(&self.broker.client, RESPONSE_TIMEOUT)
                .await
                .map_err(|e| self.broker.unavailable(e))?;
            Ok(Box::new(RedisConsumer {
                queue: RedisQueue {
                    broker: self.broker.clone(),
                    name: self.name.clone(),
                    key: self.key.clone(),
                    dlq: self.dlq.clone(),
                    seen: self.seen.clone(),
                    config: self.config.clone(),
                },
                name,
                conn,
                own_cursor: Some("0".into()),
                last_claim: None,
            }) as Box<dyn Consumer>)
        })
    }

    fn dead_letters(&self, max: usize) -> BoxFuture<'_, Result<Vec<DeadMessage>, BrokerError>> {
        Box::pin(async move {
            let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                .arg(&self.dlq)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(max)
                .query_async(&mut self.broker.conn.clone())
                .await
                .map_err(|e| self.broker.unavailable(e))?;
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

/// A consumer of a Redis queue, on its own connection.
pub struct RedisConsumer {
    queue: RedisQueue,
    name: String,
    conn: MultiplexedConnection,
    /// Where the re-read of this consumer's own pending entries stands; None once all were
    /// handed out again.
    own_cursor: Option<String>,
    last_claim: Option<Instant>,
}

impl RedisConsumer {
    fn err(&self, e: redis::RedisError) -> BrokerError {
        self.queue.broker.unavailable(e)
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
        if let Some(b) = block {
            cmd.arg("BLOCK").arg(b.as_millis().max(1) as u64);
        }
        cmd.arg("STREAMS").arg(&self.queue.key).arg(from);
        let reply: Option<StreamReadReply> = if let Some(b) = block {
            // The connection's response bound must outlast the block.
            self.conn.set_response_timeout(b + RESPONSE_TIMEOUT);
            let r = cmd.query_async(&mut self.conn).await;
            self.conn.set_response_timeout(RESPONSE_TIMEOUT);
            r
        } else {
            cmd.query_async(&mut self.conn).await
        }
        .map_err(|e| self.err(e))?;
        Ok(reply
            .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
            .unwrap_or_default())
    }

    /// How often each entry was delivered (XPENDING for that id).
    async fn delivered(&mut self, entry: &str) -> Result<u32, BrokerError> {
        let reply: StreamPendingCountReply = redis::cmd("XPENDING")
            .arg(&self.queue.key)
            .arg(GROUP)
            .arg(entry)
            .arg(entry)
            .arg(1)
            .query_async(&mut self.conn)
            .await
            .map_err(|e| self.err(e))?;
        Ok(reply
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
                self.xack(&e.id).await?;
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
                let _: String = redis::cmd("XADD")
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
                    .await
                    .map_err(|e| self.err(e))?;
                self.xack(&e.id).await?;
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

    async fn xack(&mut self, entry: &str) -> Result<(), BrokerError> {
        self.xack_many(&[entry]).await
    }

    async fn xack_many(&mut self, entries: &[&str]) -> Result<(), BrokerError> {
        if entries.is_empty() {
            return Ok(());
        }
        let _: i64 = redis::cmd("XACK")
            .arg(&self.queue.key)
            .arg(GROUP)
            .arg(entries)
            .query_async(&mut self.conn)
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
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
            let mut out = Vec::new();
            // 1. What this consumer held before a restart, oldest first, each handed out once.
            while out.len() < max {
                let Some(cursor) = self.own_cursor.clone() else {
                    break;
                };
                let entries = self.read(&cursor, max - out.len(), None).await?;
                match entries.last() {
                    Some(last) => self.own_cursor = Some(last.id.clone()),
                    None => self.own_cursor = None,
                }
                self.admit(entries, true, &mut out).await?;
            }
            // 2. Entries a dead consumer left idle, checked at most twice per idle bound.
            let idle = self.queue.config.claim_idle;
            let due = self.last_claim.is_none_or(|t| t.elapsed() >= idle / 2);
            if out.len() < max && due {
                self.last_claim = Some(Instant::now());
                let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                    .arg(&self.queue.key)
                    .arg(GROUP)
                    .arg(&self.name)
                    .arg(idle.as_millis() as u64)
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(max - out.len())
                    .query_async(&mut self.conn)
                    .await
                    .map_err(|e| self.err(e))?;
                self.admit(reply.claimed, true, &mut out).await?;
            }
            // 3. New entries, waiting only when nothing else was found.
            if out.len() < max {
                let block = out.is_empty().then_some(wait);
                let entries = self.read(">", max - out.len(), block).await?;
                self.admit(entries, false, &mut out).await?;
            }
            Ok(out)
        })
    }

    fn ack<'a>(&'a mut self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            match &delivery.handle {
                Handle::Redis { entry } => self.xack(entry).await,
                Handle::Nats(_) => Err(BrokerError::Invalid(
                    "a NATS delivery was acknowledged on a Redis queue".into(),
                )),
            }
        })
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
            let _: () = cmd
                .query_async(&mut self.broker.conn.clone())
                .await
                .map_err(|e| self.broker.unavailable(e))?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BrokerError>> {
        Box::pin(async move {
            let v: Option<Vec<u8>> = redis::cmd("GET")
                .arg(format!("{}{key}", self.prefix))
                .query_async(&mut self.broker.conn.clone())
                .await
                .map_err(|e| self.broker.unavailable(e))?;
            Ok(v.map(Bytes::from))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            let _: i64 = redis::cmd("DEL")
                .arg(format!("{}{key}", self.prefix))
                .query_async(&mut self.broker.conn.clone())
                .await
                .map_err(|e| self.broker.unavailable(e))?;
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
            let keys = scan(&mut self.broker.conn.clone(), &pattern, max)
                .await
                .map_err(|e| self.broker.unavailable(e))?;
            Ok(keys
                .into_iter()
                .filter_map(|k| k.strip_prefix(&self.prefix).map(str::to_string))
                .collect())
        })
    }
}
