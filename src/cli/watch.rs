//! `serve --watch`: an edited `.ww` (or a file it names) is checked and applied without a restart
//! (DESIGN.md §8, issue #13).
//!
//! Design:
//! - **What is watched**: the `.ww`, every file the running config names (prompt files,
//!   `api functions` scripts, documentation, hook scripts: `woodwork_runtime::named_files`) and
//!   the `.env` beside the file. The list is refreshed from each applied config.
//! - **How**: polling every [`POLL`] with file metadata (length, mtime) and, when those moved, a
//!   content hash. Dependency-free, works the same on every filesystem (network mounts and
//!   editors that write via rename included, where inotify watches break), and costs a few
//!   `stat` calls per poll; the latency it adds (≤ [`POLL`] + [`SETTLE`]) is fine for an edit.
//! - **Debounce**: a change is acted on only once the watched files stayed identical for
//!   [`SETTLE`], so a burst of writes applies once (or a few times) with the last content wins,
//!   and a file caught half-written (truncate then write in place) is not applied — if it ever
//!   is, it fails the check and the next settled state applies.
//! - **Check**: the same `check_file` as `woodwork-actors check`: every diagnostic is logged
//!   (`file:line:col`); with errors the running config keeps serving (`config rejected`).
//!   A deleted `.ww` is reported and ignored until it is back; a file with no components at
//!   all (what a truncated file looks like) is refused too.
//! - **Apply**: `Runtime::reload` (per-component diff; only changed components restart; sessions
//!   survive; a component that cannot start refuses the reload and the old config keeps
//!   serving). Each outcome is one log line: `config reloaded` (generation, hash, what was added,
//!   removed, restarted), `config unchanged`, `config rejected`; and as a bus event,
//!   `config.reloaded` (from the runtime) or `config.rejected` (its reason, and for check errors
//!   their codes and `file:line:col` only: no source lines, which may hold a literal secret).

use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use woodwork_parser::{check_file, CheckOptions, Config};
use woodwork_runtime::Runtime;

/// How often the watched files are looked at.
pub const POLL: Duration = Duration::from_millis(200);
/// How long the files must stay unchanged before a change is applied.
pub const SETTLE: Duration = Duration::from_millis(400);
/// Most files watched (the `.ww`, `.env` and named files), a bound on one poll's work.
const MAX_WATCHED: usize = 1024;

/// What `serve --watch` watches: the `.ww` and its content hash when it was checked at start.
#[derive(Debug)]
pub struct Watch {
    file: PathBuf,
    checked_hash: u64,
}

impl Watch {
    /// Watches `file` from now: call it before the start's check reads the file.
    pub fn from_now(file: PathBuf) -> Watch {
        let checked_hash = woodwork_runtime::file_hash(&file);
        Watch { file, checked_hash }
    }
}

/// What one file looked like at a poll.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Missing,
    File {
        len: u64,
        modified: Option<SystemTime>,
        hash: u64,
    },
}

/// The watched files and what they looked like.
struct Watched {
    ww: PathBuf,
    paths: Vec<PathBuf>,
    seen: HashMap<PathBuf, Seen>,
}

impl Watched {
    fn new(ww: &Path, config: &Config) -> Watched {
        let mut w = Watched {
            ww: ww.to_path_buf(),
            paths: Vec::new(),
            seen: HashMap::new(),
        };
        w.set_paths(config);
        w.seen = look(&w.paths, &HashMap::new());
        w
    }

    fn set_paths(&mut self, config: &Config) {
        let mut paths = vec![self.ww.clone()];
        for (_, p) in woodwork_runtime::named_files(config) {
            if paths.len() >= MAX_WATCHED {
                break;
            }
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
        self.paths = paths;
    }

    /// [`look`] on a blocking-pool thread: the watcher runs on the actors' arbiter, and hashing
    /// a large edited file there would stall them.
    async fn look_off_thread(&self) -> HashMap<PathBuf, Seen> {
        let (paths, seen) = (self.paths.clone(), self.seen.clone());
        tokio::task::spawn_blocking(move || look(&paths, &seen))
            .await
            .unwrap_or_else(|_| self.seen.clone())
    }
}

/// Every file of `paths` now; a content hash only for files whose metadata moved since `prev`.
fn look(paths: &[PathBuf], prev: &HashMap<PathBuf, Seen>) -> HashMap<PathBuf, Seen> {
    paths
        .iter()
        .map(|p| {
            let seen = match std::fs::metadata(p) {
                Ok(m) if m.is_file() => {
                    let (len, modified) = (m.len(), m.modified().ok());
                    let hash = match prev.get(p) {
                        Some(Seen::File {
                            len: l,
                            modified: t,
                            hash,
                        }) if *l == len && *t == modified => *hash,
                        _ => woodwork_runtime::file_hash(p),
                    };
                    Seen::File {
                        len,
                        modified,
                        hash,
                    }
                }
                _ => Seen::Missing,
            };
            (p.clone(), seen)
        })
        .collect()
}

/// Watches `ww` and applies its edits to `runtime` until the runtime stops accepting work.
/// `config` is the one the runtime started with.
pub async fn watch(from: Watch, config: &Config, runtime: Runtime) {
    let ww = from.file;
    let mut watched = Watched::new(&ww, config);
    if let Some(Seen::File { hash, .. }) = watched.seen.get_mut(&ww) {
        if *hash != from.checked_hash {
            // Edited while the server started: the first poll sees a change.
            *hash = from.checked_hash;
        }
    }
    tracing::info!(
        file = %ww.display(),
        files = watched.paths.len(),
        "watching the config for edits (serve --watch)"
    );
    if watched.seen.get(&ww) == Some(&Seen::Missing) {
        // Gone between the start's check and now.
        deleted(&ww);
        rejected(&runtime, &ww, "file_missing", json!({}));
    }
    let mut ticker = tokio::time::interval(POLL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A change seen but not yet settled: what the files looked like, and since when.
    let mut pending: Option<(HashMap<PathBuf, Seen>, tokio::time::Instant)> = None;
    while runtime.is_accepting() {
        ticker.tick().await;
        let now = watched.look_off_thread().await;
        if now == watched.seen {
            pending = None;
            continue;
        }
        match &pending {
            Some((seen, since)) if *seen == now => {
                if since.elapsed() < SETTLE {
                    continue;
                }
            }
            _ => {
                pending = Some((now, tokio::time::Instant::now()));
                continue;
            }
        }
        pending = None;
        let ww_missing = now.get(&ww) == Some(&Seen::Missing);
        watched.seen = now;
        if ww_missing {
            deleted(&ww);
            rejected(&runtime, &ww, "file_missing", json!({}));
            continue;
        }
        if let Some(config) = check_and_apply(&ww, &runtime).await {
            watched.set_paths(&config);
            watched.seen = watched.look_off_thread().await;
        }
    }
}

/// Publishes `config.rejected` (for `/events` and global hooks): why, and where.
fn rejected(runtime: &Runtime, ww: &Path, reason: &str, mut detail: serde_json::Value) {
    if let serde_json::Value::Object(m) = &mut detail {
        m.insert("reason".into(), json!(reason));
        m.insert("file".into(), json!(ww.display().to_string()));
    }
    runtime.config_rejected(detail);
}

/// Most diagnostics listed in a `config.rejected` event.
const MAX_LISTED: usize = 50;

/// The codes and positions of rendered diagnostics (`error[code]` … `--> file:line:col`), without
/// their messages or source lines: an event must not carry what the file holds (a literal key).
fn diagnostic_positions(text: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut code: Option<&str> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("error[") {
            code = rest.split(']').next();
        } else if let (Some(c), Some(at)) = (code, line.trim_start().strip_prefix("--> ")) {
            out.push(json!({ "code": c, "at": at.trim() }));
            code = None;
            if out.len() >= MAX_LISTED {
                break;
            }
        }
    }
    out
}

fn deleted(ww: &Path) {
    tracing::warn!(
        file = %ww.display(),
        "config rejected: the file was deleted or cannot be read; the running config keeps serving (re-create it to apply it)"
    );
}

/// Checks `ww` as `check` does and applies it; the config when it was applied.
async fn check_and_apply(ww: &Path, runtime: &Runtime) -> Option<Config> {
    let path = ww.to_path_buf();
    // The check reads files: off the actors' thread.
    let report = tokio::task::spawn_blocking(move || check_file(&path, &CheckOptions::default()))
        .await
        .ok()?;
    let diagnostics = report.render_text();
    if report.has_errors() {
        tracing::error!(
            file = %ww.display(),
            "config rejected: the edited file has errors; the running config keeps serving\n{}",
            diagnostics.trim_end()
        );
        let errors = diagnostic_positions(&diagnostics);
        rejected(runtime, ww, "check_failed", json!({ "errors": errors }));
        return None;
    }
    if !diagnostics.trim().is_empty() {
        tracing::warn!(file = %ww.display(), "{}", diagnostics.trim_end());
    }
    let config = report.config?;
    if config.components.is_empty() {
        // What a file caught mid-write (truncated) looks like; never worth stopping everything.
        tracing::error!(
            file = %ww.display(),
            "config rejected: the edited file declares no components (half written?); the running config keeps serving"
        );
        rejected(runtime, ww, "no_components", json!({}));
        return None;
    }
    match runtime.reload(config.clone()).await {
        Ok(r) if r.is_noop() => {
            tracing::info!(
                generation = r.generation,
                "config unchanged (only formatting or positions changed)"
            );
            Some(config)
        }
        // `Runtime::reload` logs what it added, removed and restarted.
        Ok(_) => Some(config),
        Err(e) => {
            tracing::error!(
                file = %ww.display(),
                "config rejected: {e}; the running config keeps serving"
            );
            rejected(
                runtime,
                ww,
                "not_applied",
                json!({ "message": e.to_string() }),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::diagnostic_positions;

    #[test]
    fn positions_keep_codes_and_places_but_no_source() {
        let text = "error[unknown-reference]: unknown reference `k`\n --> a.ww:4:27\n  |\n4 | x = agent llm { model: k }\n\nerror: a.ww has 1 error\n";
        let got = diagnostic_positions(text);
        assert_eq!(
            got,
            vec![serde_json::json!({"code": "unknown-reference", "at": "a.ww:4:27"})]
        );
        assert!(!serde_json::to_string(&got).unwrap().contains("agent llm"));
    }
}
