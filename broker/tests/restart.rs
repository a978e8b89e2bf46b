//! The broker restarts mid-run (issue #12): each test starts a PRIVATE redis-server or
//! nats-server on a free port with persistence, works with one `Broker` the way a node does
//! (open once, pull in a loop), stops the server with SIGTERM and starts it again on the same
//! port and data directory. Then: health checks fail while it is away and pass after; calls made
//! while it is away fail as unavailable instead of hanging; the same broker, queue and consumer
//! go on; messages pushed after the restart arrive; what was not acknowledged before is
//! delivered again; what was acknowledged is not; KV values survive. The servers must be
//! installed (`apt-get install redis-server nats-server`); a missing one fails the test.

use bytes::Bytes;
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use woodwork_broker::{Broker, BrokerError, Consumer, Delivery, QueueConfig};

/// Upper bound of every poll loop: far above what a restart takes, only there so a broken
/// build fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Redis,
    Nats,
}

/// A private server on its own port and data directory; killed (and its directory removed)
/// when dropped.
struct Server {
    kind: Kind,
    port: u16,
    dir: PathBuf,
    persistent: bool,
    child: Option<Child>,
}

impl Server {
    fn start(kind: Kind, persistent: bool) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free local port for a private {kind:?} server: {e}"));
        let dir = std::env::temp_dir().join(format!(
            "ww-broker-restart-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let mut server = Server {
            kind,
            port,
            dir,
            persistent,
            child: None,
        };
        server.run();
        server
    }

    fn url(&self) -> String {
        match self.kind {
            Kind::Redis => format!("redis://127.0.0.1:{}", self.port),
            Kind::Nats => format!("nats://127.0.0.1:{}", self.port),
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Starts the server process and waits until its port accepts connections.
    fn run(&mut self) {
        let port = self.port.to_string();
        let dir = self.dir.to_string_lossy().into_owned();
        let (program, args): (&str, Vec<&str>) = match (self.kind, self.persistent) {
            (Kind::Redis, true) => (
                "redis-server",
                vec![
                    "--port",
                    &port,
                    "--bind",
                    "127.0.0.1",
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--dir",
                    &dir,
                    "--save",
                    "",
                ],
            ),
            (Kind::Redis, false) => (
                "redis-server",
                vec![
                    "--port",
                    &port,
                    "--bind",
                    "127.0.0.1",
                    "--appendonly",
                    "no",
                    "--dir",
                    &dir,
                    "--save",
                    "",
                ],
            ),
            (Kind::Nats, _) => (
                "nats-server",
                vec!["-js", "-a", "127.0.0.1", "-p", &port, "-sd", &dir],
            ),
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.log().display()));
        let log2 = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot share {}: {e}", self.log().display()));
        let child = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{program}` ({e}): these tests run private Redis and NATS \
                     servers; install them with `apt-get install redis-server nats-server`"
                )
            });
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "{program} exited ({status}) before listening on {}; its log:\n{}",
                    self.port,
                    std::fs::read_to_string(self.log()).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{program} does not listen on {}; its log:\n{}",
                self.port,
                std::fs::read_to_string(self.log()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM (a clean shutdown, as an orchestrator would do), then waits for the exit.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let term = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        assert!(
            term.is_ok_and(|s| s.success()),
            "kill -TERM {} failed",
            child.id()
        );
        let started = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if started.elapsed() < PATIENCE => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("{:?} server ignored SIGTERM", self.kind);
                }
            }
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config() -> QueueConfig {
    QueueConfig {
        max_len: 10_000,
        // Far above the redeliveries this test causes: nothing may go to the dead letters.
        max_deliveries: 1_000,
        claim_idle: Duration::from_millis(500),
        dedupe_window: Duration::from_secs(60),
    }
}

/// Polls `f` until it succeeds; panics with the last error after [`PATIENCE`].
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, BrokerError>>,
{
    let started = Instant::now();
    loop {
        match f().await {
            Ok(v) => return v,
            Err(_) if started.elapsed() < PATIENCE => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{what} still fails after {PATIENCE:?}: {e}"),
        }
    }
}

/// `f` must fail as unavailable (the broker is away) rather than hang or be refused.
async fn fails_unavailable<T: std::fmt::Debug>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, BrokerError>>,
) {
    match tokio::time::timeout(PATIENCE, f).await {
        Err(_) => panic!("{what} hangs while the broker is down"),
        Ok(Ok(v)) => panic!("{what} succeeded while the broker is down: {v:?}"),
        Ok(Err(e)) => assert!(e.is_transient(), "{what}: not reported unavailable: {e}"),
    }
}

/// Pulls until the message ids in `want` all arrived (acking each), collecting every id seen.
async fn pull_until(c: &mut Box<dyn Consumer>, want: &BTreeSet<String>, seen: &mut Vec<String>) {
    let started = Instant::now();
    let mut got = BTreeSet::new();
    while !want.is_subset(&got) {
        assert!(
            started.elapsed() < PATIENCE,
            "after {PATIENCE:?} still missing {:?} (seen {seen:?})",
            want.difference(&got).collect::<Vec<_>>()
        );
        let batch = match c.pull(16, Duration::from_millis(200)).await {
            Ok(b) => b,
            // The consumer may see the server come back later than the health check did.
            Err(e) if e.is_transient() => continue,
            Err(e) => panic!("pull after the restart: {e}"),
        };
        for d in &batch {
            seen.push(d.msg_id.clone());
            got.insert(d.msg_id.clone());
        }
        if !batch.is_empty() {
            let started = Instant::now();
            while let Err(e) = c.ack_all(&batch).await {
                assert!(
                    e.is_transient() && started.elapsed() < PATIENCE,
                    "acknowledging after the restart: {e}"
                );
            }
        }
    }
}

fn ids(range: std::ops::Range<u32>) -> BTreeSet<String> {
    range.map(|i| format!("m{i}")).collect()
}

/// The whole scenario against a private server of `kind`.
async fn survives_a_restart(kind: Kind) {
    let mut server = Server::start(kind, true);
    let url = server.url();
    let broker = eventually("connecting", || Broker::connect(&url, "restart")).await;
    eventually("the first ping", || broker.ping()).await;
    let queue = broker
        .queue("work", config())
        .await
        .unwrap_or_else(|e| panic!("opening the queue: {e}"));
    let kv = broker
        .kv("state", None)
        .await
        .unwrap_or_else(|e| panic!("opening the bucket: {e}"));
    kv.put("kept", Bytes::from_static(b"before"))
        .await
        .unwrap_or_else(|e| panic!("KV put: {e}"));
    for id in ids(0..6) {
        assert!(queue
            .push(&id, Bytes::from(id.clone()))
            .await
            .is_ok_and(|new| new));
    }
    let mut consumer = queue
        .consumer("node-1")
        .await
        .unwrap_or_else(|e| panic!("consumer: {e}"));
    let mut before: Vec<Delivery> = Vec::new();
    let started = Instant::now();
    while before.len() < 6 {
        assert!(
            started.elapsed() < PATIENCE,
            "only {} of 6 pulled",
            before.len()
        );
        let batch = consumer
            .pull(6 - before.len(), Duration::from_millis(200))
            .await
            .unwrap_or_else(|e| panic!("pull before the restart: {e}"));
        before.extend(batch);
    }
    before.sort_by(|a, b| a.msg_id.cmp(&b.msg_id));
    // m0..m2 handled and acknowledged; m3 still being handled across the restart (acknowledged
    // after it); m4, m5 never acknowledged (their handler died).
    consumer
        .ack_all(&before[..3])
        .await
        .unwrap_or_else(|e| panic!("ack before the restart: {e}"));
    let mut acked = ids(0..3);
    assert_eq!(
        before[..3]
            .iter()
            .map(|d| d.msg_id.clone())
            .collect::<BTreeSet<_>>(),
        acked
    );
    let in_hand = before.remove(3);
    assert_eq!(in_hand.msg_id, "m3");
    drop(before);

    server.stop();
    fails_unavailable("ping", broker.ping()).await;
    fails_unavailable("a KV get", kv.get("kept")).await;
    fails_unavailable("a pull", consumer.pull(4, Duration::from_millis(100))).await;
    fails_unavailable("a ping after failed calls", broker.ping()).await;

    server.restart();
    eventually("ping after the restart", || broker.ping()).await;
    // Nothing was pulled since the restart, so m3 has not been handed out again: once this
    // acknowledgement is confirmed it must never come back.
    let started = Instant::now();
    while let Err(e) = consumer.ack(&in_hand).await {
        assert!(
            e.is_transient() && started.elapsed() < PATIENCE,
            "acknowledging a delivery from before the restart: {e}"
        );
    }
    acked.insert(in_hand.msg_id.clone());
    assert!(
        queue
            .push("m6", Bytes::from_static(b"m6"))
            .await
            .unwrap_or_else(|e| panic!("push after the restart: {e}")),
        "m6 was taken for a duplicate"
    );
    assert_eq!(
        kv.get("kept")
            .await
            .unwrap_or_else(|e| panic!("KV get after the restart: {e}")),
        Some(Bytes::from_static(b"before")),
        "a KV value put before the restart is gone"
    );
    kv.put("new", Bytes::from_static(b"after"))
        .await
        .unwrap_or_else(|e| panic!("KV put after the restart: {e}"));
    assert_eq!(
        kv.get("new").await.ok().flatten(),
        Some(Bytes::from_static(b"after"))
    );

    // The same consumer goes on: the unacknowledged m4, m5 come back (their claim bound
    // passes), m6 arrives, and nothing acknowledged shows up again.
    let mut seen = Vec::new();
    pull_until(&mut consumer, &ids(4..7), &mut seen).await;
    // Pull on for a while past the claim bound: an acknowledged message that were to come back
    // would show up here.
    for _ in 0..8 {
        if let Ok(batch) = consumer.pull(16, Duration::from_millis(250)).await {
            seen.extend(batch.iter().map(|d| d.msg_id.clone()));
            let _ = consumer.ack_all(&batch).await;
        }
    }
    let again: Vec<_> = seen.iter().filter(|id| acked.contains(*id)).collect();
    assert!(
        again.is_empty(),
        "acknowledged messages delivered again: {again:?}"
    );
    assert!(
        queue
            .dead_letters(10)
            .await
            .unwrap_or_else(|e| panic!("dead letters: {e}"))
            .is_empty(),
        "nothing may be dead-lettered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_loses_nothing_acknowledged() {
    survives_a_restart(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restart_loses_nothing_acknowledged() {
    survives_a_restart(Kind::Nats).await;
}

/// A Redis restarted WITHOUT its data loses the stream and its consumer group: the consumer
/// makes them again (instead of failing NOGROUP for ever) and receives what is pushed after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_without_data_recreates_the_group() {
    let mut server = Server::start(Kind::Redis, false);
    let url = server.url();
    let broker = eventually("connecting", || Broker::connect(&url, "restart")).await;
    let queue = broker
        .queue("work", config())
        .await
        .unwrap_or_else(|e| panic!("opening the queue: {e}"));
    let mut consumer = queue
        .consumer("node-1")
        .await
        .unwrap_or_else(|e| panic!("consumer: {e}"));
    assert!(queue.push("a", Bytes::from_static(b"a")).await.is_ok());
    let mut seen = Vec::new();
    pull_until(&mut consumer, &["a".to_string()].into(), &mut seen).await;

    server.restart();
    eventually("ping after the restart", || broker.ping()).await;
    // Pushed before the consumer noticed anything: the group made again must still see it.
    assert!(queue
        .push("b", Bytes::from_static(b"b"))
        .await
        .is_ok_and(|new| new));
    pull_until(&mut consumer, &["b".to_string()].into(), &mut seen).await;
    assert_eq!(seen, ["a", "b"], "each message exactly once");
}
