//! Hot reload of a running system (`serve --watch`, DESIGN.md §8): a new checked config replaces
//! the running one without a restart.
//!
//! Design. The runtime's component table is fixed at start (queues are addressed by index on a
//! bus whose table is set once, and each cell's routes are indices into it), so a reload builds a
//! whole new *generation* — cells, bus, router, root supervisor, one actor per component — and
//! swaps it in atomically (`Runtime::generation` reads it under a lock held for one pointer
//! clone). That one mechanism covers every edit: changed specs, added and removed components and
//! changed routes. What must survive lives outside the generation or is carried over:
//!
//! - the **session table** (turn gates, queued turns, conversation memory) is shared by all
//!   generations, so sessions and their memory always survive;
//! - each component's **fingerprint** (its spec without source positions, its resolved routes,
//!   the global pipes and the content of every file these name: prompts, `api functions`
//!   scripts, documentation, hook scripts) decides what changed. An **unchanged** component's successor cell shares the
//!   old cell's model, tool backend (its worker process or server connection stays up), hooks
//!   (their Python workers), breaker and counters: nothing of it restarts but its actor shell.
//!   A **changed** one gets a freshly built cell (new model, backend, hooks, breaker) that keeps
//!   the counters and restart history, with `restarts` + 1 and a `component.restarted` event;
//! - new backends and hook workers are started before the swap: if one fails (a bad tool, a
//!   missing hook function) the reload is refused with that message and the old generation
//!   keeps serving untouched — all or nothing, never a half-applied config;
//! - a turn pins the generation it started on (`request.rs`): in-flight requests and SSE
//!   streams finish on the old components; when its last turn ends (bounded by the default
//!   deadline plus the shutdown timeout) the old generation's actors stop and the backends and
//!   workers no successor shares are shut down;
//! - event subscribers of an old bus (an `/events` feed opened before the reload) keep getting
//!   events: one bridge task forwards the current bus's events to retired buses that still have
//!   subscribers (global hooks subscribed at start included), and ends when none has; a retired
//!   bus is dropped once its last subscriber is gone, so they are bounded by the subscribers.
//!   Such subscribers also see the retired generation's actors stop;
//! - the **dead-letter queue and bus counters** (`BusLedger`) pass from each bus to the next.
//!
//! Top-level `hooks` run on one subscription made at start; a reload that changes them is
//! refused (restart the server to apply them) rather than half applied. Reloads are serialised
//! (one at a time, none during shutdown).

use super::startup::{assemble, build_cell, routes_of, start_backends, start_order};
use super::{Generation, Runtime};
use crate::bus::MessageBus;
use crate::cell::ComponentCell;
use crate::envelope::{now_unix, Envelope, EventType};
use crate::error::RuntimeError;
use crate::supervisor::ShutdownChildren;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::task::TaskTracker;
use woodwork_parser::Config;

/// Events buffered by the bridge to retired buses (a slow feed loses events, counted there).
const BRIDGE_CAPACITY: usize = 1024;
/// Files fingerprinted per component (a bound on the stat calls one reload makes).
const MAX_FILES_PER_COMPONENT: usize = 64;
/// Bytes of a named file hashed; a larger file is fingerprinted by its length and mtime.
const MAX_HASHED_BYTES: u64 = 16 * 1024 * 1024;
/// Longest string tried as a path.
const MAX_PATH_LEN: usize = 4096;

/// What a reload did, for the log and the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReloadReport {
    /// The generation now serving (unchanged when nothing changed).
    pub generation: u64,
    /// Hash of the config now serving, hex.
    pub config_hash: String,
    /// Components new in this config.
    pub added: Vec<String>,
    /// Components gone from it.
    pub removed: Vec<String>,
    /// Components whose spec, routes or named files changed: restarted with the new spec.
    pub restarted: Vec<String>,
    /// Components carried over untouched.
    pub kept: Vec<String>,
}

impl ReloadReport {
    /// True when the new config equals the running one (nothing was swapped).
    pub fn is_noop(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.restarted.is_empty()
    }
}

/// What reloads keep between them.
#[derive(Default)]
pub(crate) struct ReloadState {
    /// Buses of retired generations; kept while some subscriber reads them.
    retired: Arc<parking_lot::Mutex<Vec<Arc<dyn MessageBus>>>>,
    bridge: Option<tokio::task::JoinHandle<()>>,
}

/// Every file `config` names, per component (`""` for the `.env` beside the file), that exists
/// as a regular file now: any string in a component's spec (props, hooks, pipes) that resolves,
/// relative to the `.ww` file's folder, to a file. What `serve --watch` polls besides the `.ww`.
pub fn named_files(config: &Config) -> Vec<(String, PathBuf)> {
    let base = config.base_dir();
    let mut out = Vec::new();
    for c in &config.components {
        for p in component_files(&spec_value(c), &base) {
            out.push((c.name.clone(), p));
        }
    }
    let (pipes, hooks) = globals(config);
    for v in [pipes, hooks] {
        for p in component_files(&v, &base) {
            out.push((String::new(), p));
        }
    }
    out.push((String::new(), base.join(".env")));
    out
}

/// The top-level pipes and hooks as JSON without source positions.
fn globals(config: &Config) -> (serde_json::Value, serde_json::Value) {
    let mut pipes = serde_json::to_value(&config.pipes).unwrap_or(serde_json::Value::Null);
    let mut hooks = serde_json::to_value(&config.hooks).unwrap_or(serde_json::Value::Null);
    strip_spans(&mut pipes);
    strip_spans(&mut hooks);
    (pipes, hooks)
}

/// The fingerprint key of the top-level hooks (no component is named "").
const GLOBAL_HOOKS: &str = "";

/// A component's spec as JSON without source positions (moving a declaration is no change).
fn spec_value(c: &woodwork_parser::Component) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or(serde_json::Value::Null);
    strip_spans(&mut v);
    v
}

fn strip_spans(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove("span");
            m.values_mut().for_each(strip_spans);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

fn component_files(spec: &serde_json::Value, base: &Path) -> Vec<PathBuf> {
    let mut strings = Vec::new();
    collect_strings(spec, &mut strings);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for s in strings {
        if out.len() >= MAX_FILES_PER_COMPONENT {
            break;
        }
        if s.is_empty() || s.len() > MAX_PATH_LEN || s.contains(['\n', '\0']) {
            continue;
        }
        let path = base.join(s);
        if seen.insert(path.clone()) && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            out.push(path);
        }
    }
    out
}

fn collect_strings<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match v {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// A file's content hash (bounded read; a larger or unreadable file hashes its metadata).
pub fn file_hash(path: &Path) -> u64 {
    let mut h = DefaultHasher::new();
    path.hash(&mut h);
    match std::fs::File::open(path) {
        Ok(f) => {
            let big = f.metadata().map(|m| m.len() > MAX_HASHED_BYTES);
            if let Ok(false) = big {
                let mut buf = Vec::new();
                if f.take(MAX_HASHED_BYTES).read_to_end(&mut buf).is_ok() {
                    buf.hash(&mut h);
                    return h.finish();
                }
            }
            if let Ok(m) = std::fs::metadata(path) {
                m.len().hash(&mut h);
                m.modified().ok().hash(&mut h);
            }
        }
        Err(e) => e.kind().hash(&mut h),
    }
    h.finish()
}

/// Per component: a hash of its spec (no positions), routes and named files' contents; and a
/// hash of the whole config (every fingerprint, in start order).
pub(crate) fn fingerprints(config: &Config) -> (HashMap<String, u64>, u64) {
    let base = config.base_dir();
    let mut out = HashMap::new();
    let mut all = DefaultHasher::new();
    // Global pipes run in every component's pipeline: a change restarts them all.
    let (pipes, hooks) = globals(config);
    let mut pipes_hash = DefaultHasher::new();
    pipes.to_string().hash(&mut pipes_hash);
    for f in component_files(&pipes, &base) {
        file_hash(&f).hash(&mut pipes_hash);
    }
    let pipes_hash = pipes_hash.finish();
    let mut hooks_hash = DefaultHasher::new();
    hooks.to_string().hash(&mut hooks_hash);
    for f in component_files(&hooks, &base) {
        file_hash(&f).hash(&mut hooks_hash);
    }
    let hooks_hash = hooks_hash.finish();
    hooks_hash.hash(&mut all);
    out.insert(GLOBAL_HOOKS.to_string(), hooks_hash);
    for name in start_order(config) {
        let Some(c) = config.component(name) else {
            continue;
        };
        let spec = spec_value(c);
        let mut h = DefaultHasher::new();
        spec.to_string().hash(&mut h);
        pipes_hash.hash(&mut h);
        for to in config.routes_from(name) {
            to.hash(&mut h);
        }
        for f in component_files(&spec, &base) {
            file_hash(&f).hash(&mut h);
        }
        let fp = h.finish();
        (name, fp).hash(&mut all);
        out.insert(name.to_string(), fp);
    }
    (out, all.finish())
}

/// A cell being built for the new generation.
enum Plan {
    Kept(Arc<ComponentCell>),
    Restarted(Arc<ComponentCell>),
    Added(Arc<ComponentCell>),
}

/// Stops what fresh cells started (their tool backends and hook workers).
async fn stop_fresh(cells: &[Arc<ComponentCell>]) {
    for c in cells {
        c.hooks.stop_workers().await;
        if let Some(t) = &c.backends.tool {
            t.shutdown().await;
        }
    }
}

fn config_event(bus: &Arc<dyn MessageBus>, cell: &ComponentCell, generation: u64) {
    if !bus.has_subscribers() {
        return;
    }
    let body = serde_json::json!({
        "component_id": &*cell.name,
        "component_type": cell.spec.type_name,
        "state": cell.state().as_str(),
        "restarts": cell.restarts(),
        "cause": format!("config reloaded (generation {generation})"),
        "backoff_ms": 0,
        "timestamp": now_unix(),
    });
    let env = Envelope::new(
        Arc::from("runtime"),
        EventType::ComponentRestarted,
        Arc::new(body),
        cell.name.clone(),
    );
    bus.publish(&env);
}

impl Runtime {
    /// Applies `config` (already checked, as `check` does) to the running system: components
    /// whose spec, routes or named files changed restart with their new spec, added ones start,
    /// removed ones stop once their requests finished; the others keep their model, backends,
    /// breaker and counters; sessions survive. A component that cannot start refuses the whole
    /// reload (the error says which and why) and the running config stays as it was.
    pub async fn reload(&self, config: Config) -> Result<ReloadReport, RuntimeError> {
        let mut state = self.inner.reload.lock().await;
        if !self.is_accepting() {
            return Err(RuntimeError::ShuttingDown);
        }
        let old = self.generation();
        let (fps, config_hash) = fingerprints(&config);
        let mut report = ReloadReport {
            generation: old.number,
            config_hash: format!("{config_hash:016x}"),
            ..ReloadReport::default()
        };
        if config_hash == old.config_hash && fps == old.fingerprints {
            report.kept = old.services.router.known();
            return Ok(report);
        }
        if fps.get(GLOBAL_HOOKS) != old.fingerprints.get(GLOBAL_HOOKS) {
            return Err(RuntimeError::Invalid(
                "the top-level `hooks` (or a script they name) changed: they are started once, \
                 with the server, so restart it to apply them"
                    .into(),
            ));
        }
        let opts = old.services.opts.clone();
        let order = start_order(&config);
        let index: HashMap<&str, usize> = order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut workers = crate::hooks::PythonWorkers::new();
        let mut plans = Vec::with_capacity(order.len());
        for (i, name) in order.iter().enumerate() {
            let (routes, names) = routes_of(&config, name, &index)?;
            let prev = old.services.router.lookup(name).cloned();
            let same = prev.is_some() && old.fingerprints.get(*name) == fps.get(*name);
            plans.push(match prev {
                Some(p) if same => Plan::Kept(Arc::new(p.successor(None, i, routes, names))),
                Some(p) => {
                    let fresh = build_cell(
                        &config,
                        name,
                        (i, Vec::new(), Vec::new()),
                        &opts,
                        &mut workers,
                    )?;
                    Plan::Restarted(Arc::new(p.successor(Some(fresh), i, routes, names)))
                }
                None => Plan::Added(Arc::new(build_cell(
                    &config,
                    name,
                    (i, routes, names),
                    &opts,
                    &mut workers,
                )?)),
            });
        }
        let fresh: Vec<Arc<ComponentCell>> = plans
            .iter()
            .filter_map(|p| match p {
                Plan::Restarted(c) | Plan::Added(c) => Some(c.clone()),
                Plan::Kept(_) => None,
            })
            .collect();
        start_backends(&fresh).await?;
        for c in &fresh {
            if let Err(e) = c.hooks.check(&c.name).await {
                stop_fresh(&fresh).await;
                return Err(RuntimeError::Start(e.to_string()));
            }
        }
        let cells: Arc<[Arc<ComponentCell>]> = plans
            .iter()
            .map(|p| match p {
                Plan::Kept(c) | Plan::Restarted(c) | Plan::Added(c) => c.clone(),
            })
            .collect();
        let assembled = assemble(
            cells.clone(),
            old.services.sessions.clone(),
            old.ledger.clone(),
            old.services.background.clone(),
            &opts,
            config.base_dir(),
            // `serve --watch` is refused with `--bus`: a cluster's nodes would disagree.
            None,
        );
        let (services, root) = match assembled {
            Ok(x) => x,
            Err(e) => {
                stop_fresh(&fresh).await;
                return Err(e);
            }
        };
        let number = old.number + 1;
        for p in &plans {
            match p {
                Plan::Kept(c) => report.kept.push(c.name.to_string()),
                Plan::Added(c) => report.added.push(c.name.to_string()),
                Plan::Restarted(c) => {
                    c.count_restart();
                    report.restarted.push(c.name.to_string());
                }
            }
        }
        let kept: HashSet<&str> = report.kept.iter().map(String::as_str).collect();
        report.removed = old
            .services
            .router
            .cells()
            .iter()
            .filter(|c| !index.contains_key(&*c.name))
            .map(|c| c.name.to_string())
            .collect();
        // Old cells whose backends and workers no successor shares: stopped after the drain.
        let retiring: Vec<Arc<ComponentCell>> = old
            .services
            .router
            .cells()
            .iter()
            .filter(|c| !kept.contains(&*c.name))
            .cloned()
            .collect();
        let bus = services.bus.clone();
        let next = Arc::new(Generation {
            services,
            root,
            number,
            ledger: old.ledger.clone(),
            fingerprints: fps,
            config_hash,
            turns: TaskTracker::new(),
        });
        *self.inner.current.write() = next;
        report.generation = number;
        // The bridge first, so subscribers of the old bus see the events below too.
        bridge_events(&mut state, old.services.bus.clone(), &bus);
        drop(state);
        for p in &plans {
            if let Plan::Restarted(c) = p {
                config_event(&bus, c, number);
            }
        }
        if bus.has_subscribers() {
            let mut body = serde_json::to_value(&report).unwrap_or_default();
            if let serde_json::Value::Object(m) = &mut body {
                m.insert("timestamp".into(), serde_json::json!(now_unix()));
            }
            let env = Envelope::new(
                Arc::from("runtime"),
                EventType::ConfigReloaded,
                Arc::new(body),
                Arc::from("config"),
            );
            bus.publish(&env);
        }
        actix_rt::spawn(retire(old, retiring));
        tracing::info!(
            generation = number,
            config_hash = %report.config_hash,
            added = ?report.added,
            removed = ?report.removed,
            restarted = ?report.restarted,
            kept = report.kept.len(),
            "config reloaded"
        );
        Ok(report)
    }
}

impl Runtime {
    /// Announces a refused config edit (`config.rejected` on the bus, so `/events` and global
    /// hooks see it) with `detail` — what was wrong, never a secret value: `serve --watch`
    /// passes diagnostic codes and positions, not source lines.
    pub fn config_rejected(&self, detail: serde_json::Value) {
        let bus = self.bus();
        if !bus.has_subscribers() {
            return;
        }
        let (generation, hash) = self.config_version();
        let body = serde_json::json!({
            "serving_generation": generation,
            "serving_config_hash": hash,
            "detail": detail,
            "timestamp": now_unix(),
        });
        let env = Envelope::new(
            Arc::from("runtime"),
            EventType::ConfigRejected,
            Arc::new(body),
            Arc::from("config"),
        );
        bus.publish(&env);
    }
}

/// Keeps subscribers of retired buses fed from `current` while any of them still listens.
fn bridge_events(state: &mut ReloadState, old: Arc<dyn MessageBus>, current: &Arc<dyn MessageBus>) {
    if let Some(b) = state.bridge.take() {
        b.abort();
    }
    let retired = state.retired.clone();
    {
        let mut list = retired.lock();
        list.push(old);
        list.retain(|b| b.has_subscribers());
        if list.is_empty() {
            return;
        }
    }
    let mut rx = current.subscribe(None, BRIDGE_CAPACITY);
    state.bridge = Some(actix_rt::spawn(async move {
        while let Some(env) = rx.recv().await {
            let mut list = retired.lock();
            for b in list.iter() {
                b.publish(&env);
            }
            list.retain(|b| b.has_subscribers());
            if list.is_empty() {
                return;
            }
        }
    }));
}

/// Stops a retired generation once its last turn ended (bounded), then the backends and
/// workers of its cells that no successor shares.
async fn retire(old: Arc<Generation>, retiring: Vec<Arc<ComponentCell>>) {
    let opts = &old.services.opts;
    let bound = opts.default_deadline + opts.shutdown_timeout;
    // No new turn pins a retired generation: closing lets `wait` end once the last one did.
    old.turns.close();
    if tokio::time::timeout(bound, old.turns.wait()).await.is_err() {
        tracing::warn!(
            generation = old.number,
            "reload: requests on the previous config still running after {bound:?}; stopping it anyway"
        );
    }
    let _ = old
        .root
        .send(ShutdownChildren {
            timeout: opts.shutdown_timeout.min(Duration::from_secs(5)),
        })
        .await;
    for c in &retiring {
        c.hooks.stop_workers().await;
        if let Some(t) = &c.backends.tool {
            t.shutdown().await;
        }
    }
    tracing::debug!(generation = old.number, "previous config stopped");
}
