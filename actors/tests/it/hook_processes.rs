//! Hook processes are bounded (DESIGN.md §4): a timed-out command dies with everything it
//! started, a hook runs at most its cap of processes at once, and one slow Python call does not
//! hold up the others. Real `sh` and `python3` processes; no timing assertions.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;
use woodwork_parser::{HookAction, HookSpec, Kind, Span};
use woodwork_runtime::hooks::{run_command, CommandHook, HookLimits};
use woodwork_runtime::*;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ww-hookproc-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

/// The pid written to `file` by a test command, once it is there.
async fn pid_in(file: &Path) -> i32 {
    eventually("the command wrote its pid", || {
        std::fs::read_to_string(file).is_ok_and(|s| s.trim().parse::<i32>().is_ok())
    })
    .await;
    std::fs::read_to_string(file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// True while `pid` is a live (not zombie) process.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S ...`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Pids of live processes in process group `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        // After `)`: state ppid pgrp ...
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && !matches!(fields[0], "Z" | "X") {
            out.push(pid);
        }
    }
    out
}

/// Kills what a failed test left behind (pids this test started), so a red test leaves no
/// `sleep 1000` on a shared machine.
fn kill_leftovers(pids: &[i32]) {
    for pid in pids {
        if alive(*pid) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

#[actix_rt::test]
async fn a_timed_out_command_dies_with_every_process_it_started() {
    let dir = temp_dir("pgroup");
    let script = format!(
        "echo $$ > {d}/sh.pid; sleep 1000 & echo $! > {d}/bg.pid; sleep 1000 & echo $! > {d}/fg.pid; wait",
        d = dir.display()
    );
    let run = actix_rt::spawn(async move {
        run_command(
            &sh(&script),
            &serde_json::json!({}),
            Duration::from_millis(500),
        )
        .await
    });
    let shell = pid_in(&dir.join("sh.pid")).await;
    let bg = pid_in(&dir.join("bg.pid")).await;
    let fg = pid_in(&dir.join("fg.pid")).await;
    let e = run.await.unwrap().unwrap_err().to_string();
    assert!(e.contains("did not finish within"), "{e}");
    // Killed processes are reaped by their new parent; wait (bounded) for that.
    let guard = std::time::Instant::now();
    while (alive(bg) || alive(fg) || !group_members(shell).is_empty())
        && guard.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left: Vec<i32> = [shell, bg, fg].into_iter().filter(|p| alive(*p)).collect();
    let group = group_members(shell);
    kill_leftovers(&left);
    assert!(left.is_empty(), "still running after the timeout: {left:?}");
    assert!(
        group.is_empty(),
        "process group {shell} still has {group:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_rt::test]
async fn a_finished_command_leaves_no_background_process_behind() {
    let dir = temp_dir("leftover");
    let script = format!(
        "sleep 1000 >/dev/null 2>&1 </dev/null & echo $! > {d}/bg.pid; echo '\"done\"'",
        d = dir.display()
    );
    let out = run_command(
        &sh(&script),
        &serde_json::json!({}),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(out, Some(serde_json::json!("done")));
    let bg = pid_in(&dir.join("bg.pid")).await;
    let guard = std::time::Instant::now();
    while alive(bg) && guard.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let still = alive(bg);
    kill_leftovers(&[bg]);
    assert!(!still, "the command's background `sleep` outlived it");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A command that records its start, then waits for `release` (bounded, so nothing hangs).
fn gated(dir: &Path) -> Vec<String> {
    sh(&format!(
        "cat >/dev/null; echo x >> {d}/started; i=0; while [ ! -e {d}/release ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done",
        d = dir.display()
    ))
}

fn started(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("started"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[actix_rt::test]
async fn a_hook_runs_at_most_its_cap_and_the_excess_gives_up_as_an_error() {
    let dir = temp_dir("cap");
    let hook = CommandHook::new(
        gated(&dir),
        HookLimits {
            timeout: Duration::from_secs(60),
            concurrency: 2,
        },
    );
    let mut running = Vec::new();
    for _ in 0..2 {
        let h = hook.clone();
        running.push(actix_rt::spawn(async move {
            h.run(&serde_json::json!({}), Duration::from_secs(60)).await
        }));
    }
    eventually("two runs started", || started(&dir) == 2).await;
    // A third run while both slots are taken: it waits its bound for a slot, then fails without
    // ever starting a process.
    let third = tokio::time::timeout(
        Duration::from_secs(30),
        hook.run(&serde_json::json!({}), Duration::from_millis(300)),
    )
    .await;
    let started_then = started(&dir);
    std::fs::write(dir.join("release"), "").unwrap();
    for r in running {
        assert_eq!(r.await.unwrap().unwrap(), None);
    }
    let e = third
        .expect("the third run returned within the hang guard")
        .unwrap_err()
        .to_string();
    assert!(e.contains("already running"), "{e}");
    assert_eq!(started_then, 2, "the third run started a process");
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_rt::test]
async fn runs_over_the_cap_wait_for_a_slot_and_all_complete() {
    let dir = temp_dir("wait");
    std::fs::create_dir_all(dir.join("running")).unwrap();
    // Each run marks itself running, records how many were running, and unmarks itself.
    let script = format!(
        "cat >/dev/null; mkdir {d}/running/$$; ls {d}/running | wc -l >> {d}/seen; sleep 0.2; rmdir {d}/running/$$; echo 1",
        d = dir.display()
    );
    let hook = CommandHook::new(
        sh(&script),
        HookLimits {
            timeout: Duration::from_secs(60),
            concurrency: 2,
        },
    );
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let h = hook.clone();
            actix_rt::spawn(
                async move { h.run(&serde_json::json!({}), Duration::from_secs(60)).await },
            )
        })
        .collect();
    for r in runs {
        assert_eq!(r.await.unwrap().unwrap(), Some(serde_json::json!(1)));
    }
    let seen: Vec<usize> = std::fs::read_to_string(dir.join("seen"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(seen.len(), 6);
    assert!(
        seen.iter().all(|n| *n <= 2),
        "more than 2 ran at once: {seen:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const SLOW_FAST: &str = r#"
import os, time

HERE = os.path.dirname(os.path.abspath(__file__))

def gate(payload):
    if payload["input"] == "slow":
        open(os.path.join(HERE, "slow-started"), "w").close()
        for _ in range(1200):
            if os.path.exists(os.path.join(HERE, "release")):
                break
            time.sleep(0.05)
    payload["input"] = payload["input"].upper()
    return payload
"#;

#[actix_rt::test]
async fn a_slow_python_call_does_not_hold_up_the_others() {
    let dir = temp_dir("pyslow");
    std::fs::write(dir.join("hooks.py"), SLOW_FAST).unwrap();
    let mut cfg = pipeline(component("model", Kind::Llm, "mock"));
    cfg.path = dir.join("main.ww");
    cfg.components
        .iter_mut()
        .find(|c| c.name == "cli")
        .unwrap()
        .pipes = vec![HookSpec {
        event: "input.received".into(),
        action: HookAction::Python {
            script_path: "hooks.py".into(),
            function_name: "gate".into(),
        },
        span: Span::default(),
    }];
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let slow_rt = rt.clone();
    let slow =
        actix_rt::spawn(async move { slow_rt.send(InputRequest::text("cli", "slow")).await });
    eventually("the slow call started", || {
        dir.join("slow-started").exists()
    })
    .await;
    let fast = rt.send(InputRequest::text("cli", "fast")).await.unwrap();
    assert_eq!(fast.text().as_deref(), Some("echo: FAST"));
    // The slow call is still inside its function: nothing timed out to make room.
    let slow_pending = !slow.is_finished();
    std::fs::write(dir.join("release"), "").unwrap();
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(slow.text().as_deref(), Some("echo: SLOW"));
    assert!(slow_pending, "the fast call waited for the slow one");
    rt.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
