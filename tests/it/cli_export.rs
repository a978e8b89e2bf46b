//! `woodwork-actors export`: the real binary against golden files for the examples (both
//! formats), a refused invalid file, `--out` handling, secrets kept out, and the exported Compose
//! file started with `docker compose up` where a container runtime runs (skipped, saying why,
//! where none does; its file is still checked against the Compose specification's schema).
//!
//! Regenerate the golden files after an intended change with
//! `WOODWORK_UPDATE_GOLDEN=1 cargo test --test it -- cli_export`.

use crate::common::run_bounded;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn export_cmd(file: &Path, format: &str, out: &Path) -> Command {
    let mut cmd = crate::common::binary();
    cmd.arg("export")
        .arg(file)
        .args(["--format", format, "--out"])
        .arg(out);
    cmd
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn temp_out(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("export-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Every file under `dir`, by `/`-separated relative path.
fn tree(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap();
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

const GOLDEN: [(&str, &str); 5] = [
    ("quickstart", "examples/quickstart/main.ww"),
    ("tools", "examples/tools/main.ww"),
    ("openai-agent", "examples/openai-agent/main.ww"),
    ("support_desk", "examples/projects/support_desk.ww"),
    // A broker and two `vm server`s: a placement group each, `main` for the rest, and Redis.
    ("cluster", "examples/cluster/main.ww"),
];

#[test]
fn the_examples_export_exactly_their_golden_files() {
    let update = std::env::var_os("WOODWORK_UPDATE_GOLDEN").is_some();
    for (name, file) in GOLDEN {
        for format in ["compose", "kubernetes"] {
            let out = temp_out(&format!("golden-{name}-{format}"));
            let o = run_bounded(export_cmd(&root().join(file), format, &out));
            assert!(o.status.success(), "{name} {format}:\n{}", text(&o));
            let golden = root().join("tests/golden/export").join(name).join(format);
            if update {
                let _ = std::fs::remove_dir_all(&golden);
                for rel in tree(&out) {
                    let to = golden.join(&rel);
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    std::fs::copy(out.join(&rel), to).unwrap();
                }
            }
            assert!(
                golden.is_dir(),
                "{} is missing: run with WOODWORK_UPDATE_GOLDEN=1",
                golden.display()
            );
            assert_eq!(
                tree(&out),
                tree(&golden),
                "{name} {format}: the files written"
            );
            for rel in tree(&golden) {
                let want = std::fs::read(golden.join(&rel)).unwrap();
                let got = std::fs::read(out.join(&rel)).unwrap();
                assert!(
                    want == got,
                    "{name} {format}: {rel} differs from its golden file:\n{}",
                    String::from_utf8_lossy(&got)
                );
            }
        }
    }
}

#[test]
fn an_invalid_file_is_refused_with_its_diagnostics_and_nothing_is_written() {
    let ww = crate::common::write_ww("export-bad", "in = input cli {\n    to: modle\n}\n");
    let out = temp_out("bad");
    let o = run_bounded(export_cmd(&ww, "kubernetes", &out));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("error[") && t.contains("modle"), "{t}");
    assert!(t.contains("was not exported"), "{t}");
    assert!(!out.exists(), "nothing may be written for an invalid file");
}

#[test]
fn out_is_created_same_named_files_replaced_and_others_kept() {
    let out = temp_out("keep");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    std::fs::write(out.join("Dockerfile"), "stale").unwrap();
    let o = run_bounded(export_cmd(&crate::common::quickstart(), "compose", &out));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    let dockerfile = std::fs::read_to_string(out.join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("FROM "), "{dockerfile}");
    assert!(text(&o).contains("docker compose -f"), "{}", text(&o));
}

#[test]
fn secret_values_never_reach_the_files_or_the_output() {
    let out = temp_out("secrets");
    let mut cmd = export_cmd(
        &root().join("examples/openai-agent/main.ww"),
        "kubernetes",
        &out,
    );
    cmd.env("OPENAI_API_KEY", "sk-h5-never-exported");
    let o = run_bounded(cmd);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("sk-h5-never-exported"));
    for rel in tree(&out) {
        let body = std::fs::read(out.join(&rel)).unwrap();
        assert!(
            !String::from_utf8_lossy(&body).contains("sk-h5-never-exported"),
            "{rel} holds the secret"
        );
    }
    let deployment = std::fs::read_to_string(out.join("deployment.yaml")).unwrap();
    assert!(deployment.contains("secretKeyRef"), "{deployment}");
    assert!(deployment.contains("key: OPENAI_API_KEY"), "{deployment}");
}

#[test]
fn a_broker_urls_credentials_never_reach_the_files_or_the_output() {
    for format in ["compose", "kubernetes"] {
        let out = temp_out(&format!("bus-{format}"));
        let mut cmd = export_cmd(&root().join("examples/cluster/main.ww"), format, &out);
        cmd.args(["--bus", "redis://:secret@host:6379"]);
        let o = run_bounded(cmd);
        assert!(o.status.success(), "{format}: {}", text(&o));
        let t = text(&o);
        assert!(
            !t.contains("secret@") && !t.contains(":secret"),
            "{format}: {t}"
        );
        // It says where the URL goes instead.
        assert!(t.contains("WOODWORK_BUS"), "{format}: {t}");
        let files = tree(&out);
        assert!(files.contains("README.md"), "{files:?}");
        for rel in &files {
            let body = String::from_utf8_lossy(&std::fs::read(out.join(rel)).unwrap()).into_owned();
            assert!(
                !body.contains("secret@") && !body.contains("host:6379"),
                "{format}: {rel} holds the broker URL:\n{body}"
            );
        }
        // External: no broker of ours; the groups read the URL by reference.
        if format == "kubernetes" {
            assert!(!files.iter().any(|f| f.starts_with("redis")), "{files:?}");
            let d = std::fs::read_to_string(out.join("deployment-brain.yaml")).unwrap();
            assert!(d.contains("key: WOODWORK_BUS"), "{d}");
            assert!(t.contains("--from-literal=WOODWORK_BUS="), "{t}");
        } else {
            let c = std::fs::read_to_string(out.join("compose.yaml")).unwrap();
            assert!(!c.contains("redis:7-alpine"), "{c}");
            assert!(c.contains("WOODWORK_BUS: null"), "{c}");
        }
    }
}

/// Runs `docker ARGS`, killed past `bound` (a build compiles the whole workspace); `None` when
/// docker cannot be started at all.
fn docker_within(args: &[&str], bound: Duration) -> Option<Output> {
    let mut child = Command::new("docker")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    // Drained on threads: a build's output would fill the pipes and stall docker.
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn std::io::Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn std::io::Read + Send>),
    );
    let until = std::time::Instant::now() + bound;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(100))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "`docker {}` did not finish within {bound:?}",
                    args.join(" ")
                );
            }
        }
    };
    Some(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

fn docker(args: &[&str]) -> Option<Output> {
    docker_within(args, Duration::from_secs(180))
}

#[test]
fn the_exported_compose_file_starts_the_system_where_a_container_runtime_runs() {
    let out = temp_out("compose-up");
    let o = run_bounded(export_cmd(&crate::common::quickstart(), "compose", &out));
    assert!(o.status.success(), "{}", text(&o));
    let compose = out.join("compose.yaml");

    // The file parses as the Compose specification says, daemon or not.
    let checker = root().join(".venv/bin/check-jsonschema");
    assert!(
        checker.exists(),
        "{} is missing: run scripts/venv.sh",
        checker.display()
    );
    let mut cmd = Command::new(&checker);
    cmd.args(["--builtin-schema", "vendor.compose-spec"])
        .arg(&compose);
    let o = run_bounded(cmd);
    assert!(o.status.success(), "compose schema:\n{}", text(&o));

    let has_compose = docker(&["compose", "version"]).is_some_and(|o| o.status.success());
    if has_compose {
        let o = docker(&[
            "compose",
            "-f",
            compose.to_str().unwrap(),
            "config",
            "--quiet",
        ]);
        assert!(
            o.as_ref().is_some_and(|o| o.status.success()),
            "docker compose config:\n{}",
            o.as_ref().map(text).unwrap_or_default()
        );
    }
    let daemon = docker(&["info"]).is_some_and(|o| o.status.success());
    if !(daemon && has_compose) {
        // Straight to stderr: the test harness captures eprintln!, and a skip must be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED starting the Compose file: {} (its file was still checked against the Compose schema{})",
            if daemon { "`docker compose` is not installed" } else { "no container runtime: `docker info` fails (no daemon)" },
            if has_compose { " and by `docker compose config`" } else { "" }
        );
        return;
    }
    let image = "woodwork-actors:0.1.0";
    let dockerfile = out.join("Dockerfile");
    let o = docker_within(
        &[
            "build",
            "-f",
            dockerfile.to_str().unwrap(),
            "-t",
            image,
            root().to_str().unwrap(),
        ],
        Duration::from_secs(3600),
    );
    assert!(
        o.as_ref().is_some_and(|o| o.status.success()),
        "docker build:\n{}",
        o.as_ref().map(text).unwrap_or_default()
    );
    let f = compose.to_str().unwrap();
    let up = docker(&[
        "compose",
        "-f",
        f,
        "up",
        "-d",
        "--wait",
        "--wait-timeout",
        "120",
    ]);
    let ready = (0..120).any(|_| {
        let ok = std::net::TcpStream::connect("127.0.0.1:8080").is_ok_and(|mut s| {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            buf.starts_with("HTTP/1.1 200")
        });
        if !ok {
            std::thread::sleep(Duration::from_secs(1));
        }
        ok
    });
    let logs = docker(&["compose", "-f", f, "logs"])
        .map(|o| text(&o))
        .unwrap_or_default();
    let _ = docker(&["compose", "-f", f, "down", "-v"]);
    assert!(
        up.is_some_and(|o| o.status.success()) && ready,
        "the exported system did not become ready:\n{logs}"
    );
}
