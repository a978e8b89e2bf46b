//! The work queue on Redis Streams: a stream per queue (`ww:<ns>:q:<queue>`) with one consumer
//! group (`workers`) that every replica reads through. XADD with approximate MAXLEN trimming
//! (through a script that first records the message id, for de-duplication), XREADGROUP for new
//! entries, XACK after handling, own pending entries first after a restart (XREADGROUP from id
//! 0), XAUTOCLAIM of entries a dead consumer left idle, and a dead-letter stream
//! (`ww:<ns>:dlq:<queue>`) for entries delivered too often.

mod consumer;
mod kv;

pub use consumer::RedisConsumer;
pub use kv::RedisKv;

use crate::queue::{Consumer, DeadMessage, QueueConfig, WorkQueue};
use crate::redis_link::{Link, Patience};
use crate::url::{checked_name, BrokerUrl};
use crate::BrokerError;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use std::time::Duration;

const GROUP: &str = "workers";
/// Bound on a health check's round trip: a `/readyz` answers quickly either way.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// Records the id (SET NX with the window as expiry) and appends only if it was new.
const PUSH_SCRIPT: &str = r"
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'id', ARGV[1], 'body', ARGV[2])
return 1";

/// The push script, hashed once (each use sends its SHA1, the script only when Redis lacks it).
static PUSH: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(PUSH_SCRIPT));

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

    /// Bucket `name`; `listed`: its keys are listed (kept in an index, see [`RedisKv`]).
    pub(crate) fn kv(
        &self,
        name: &str,
        ttl: Option<Duration>,
        listed: bool,
    ) -> Result<RedisKv, BrokerError> {
        let name = checked_name("bucket", name)?;
        Ok(RedisKv::new(
            self.clone(),
            format!("ww:{}:kv:{name}:", self.ns),
            ttl,
            listed.then(|| format!("ww:{}:kvkeys:{name}", self.ns)),
        ))
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
            if self.config.dedupe_window.is_zero() {
                // No de-duplication asked (ids unique by construction): one XADD.
                let result: Result<String, _> = redis::cmd("XADD")
                    .arg(&self.key)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(self.config.max_len)
                    .arg("*")
                    .arg("id")
                    .arg(msg_id)
                    .arg("body")
                    .arg(body.as_ref())
                    .query_async(&mut live.conn)
                    .await;
                return link.check(live.generation, result).map(|_| true);
            }
            let result: Result<i64, _> = PUSH
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
            Ok(Box::new(RedisConsumer::open(self.copy(), name).await?) as Box<dyn Consumer>)
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
