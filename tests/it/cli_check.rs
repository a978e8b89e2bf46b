//! Drives the real `woodwork-actors` binary: `check` on every example (exit 0), on bad files (exit 1
//! with the diagnostic text), `--format json`, `fmt --check`, `fmt` and `graph`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_woodwork-actors"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn examples(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            examples(&p, out);
        } else if p.extension().is_some_and(|x| x == "ww") {
            out.push(p);
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ww-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_example_passes_check_no_env() {
    let mut files = Vec::new();
    examples(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
        &mut files,
    );
    assert!(files.len() >= 16, "found only {} examples", files.len());
    for f in &files {
        let o = run(&["check", "--no-env", f.to_str().unwrap()]);
        assert!(
            o.status.success(),
            "{}:\n{}{}",
            f.display(),
            text(&o.stdout),
            text(&o.stderr)
        );
        assert!(text(&o.stdout).contains(": ok — "), "{}", text(&o.stdout));
    }
}

#[test]
fn every_example_is_in_canonical_form() {
    let mut files = Vec::new();
    examples(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
        &mut files,
    );
    let mut args = vec!["fmt".to_string(), "--check".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let o = bin().args(&args).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stdout));
}

#[test]
fn a_bad_file_exits_1_with_every_diagnostic() {
    let dir = temp_dir("bad");
    let f = dir.join("main.ww");
    std::fs::write(
        &f,
        "model = llm mock {}\nin = input cli {\n    to: modle\n}\nx = environment coding {}\ny = llm ollama {}\n",
    )
    .unwrap();
    let o = run(&["check", "--no-env", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("error[unknown-reference]: unknown reference `modle`"),
        "{err}"
    );
    assert!(err.contains("main.ww:3:9"), "{err}");
    assert!(err.contains("3 |     to: modle"), "{err}");
    assert!(err.contains("^^^^^ did you mean `model`?"), "{err}");
    assert!(err.contains("error[unsupported-component]"), "{err}");
    assert!(err.contains("not supported by this runtime"), "{err}");
    assert!(err.contains("error[missing-key]"), "{err}");
    assert!(err.contains("has 3 errors"), "{err}");
    assert!(text(&o.stdout).is_empty());
}

#[test]
fn unset_variables_fail_unless_no_env() {
    let dir = temp_dir("env");
    let f = dir.join("main.ww");
    std::fs::write(
        &f,
        "m = llm openai { api_key: $WW_TEST_SURELY_UNSET_KEY }\n",
    )
    .unwrap();
    let o = bin()
        .args(["check", f.to_str().unwrap()])
        .env_remove("WW_TEST_SURELY_UNSET_KEY")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("WW_TEST_SURELY_UNSET_KEY"));
    let o = bin()
        .args(["check", f.to_str().unwrap()])
        .env("WW_TEST_SURELY_UNSET_KEY", "sk-abc")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(!text(&o.stdout).contains("sk-abc"));
    let o = run(&["check", "--no-env", f.to_str().unwrap()]);
    assert!(o.status.success());
}

#[test]
fn json_format_has_diagnostics() {
    let dir = temp_dir("json");
    let f = dir.join("main.ww");
    std::fs::write(
        &f,
        "m = llm mock {}\nin = input cli { to: m, colour: 1 }\nx = llm gpt {}\n",
    )
    .unwrap();
    let o = run(&["check", "--no-env", "--format", "json", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"], 1);
    assert_eq!(v["warnings"], 1);
    assert_eq!(v["diagnostics"][1]["code"], "unknown-type");
    assert_eq!(v["diagnostics"][1]["line"], 3);
}

#[test]
fn fmt_check_shows_changes_and_fmt_rewrites() {
    let dir = temp_dir("fmt");
    let f = dir.join("main.ww");
    let messy = "# keep me\nm=llm   mock{reply:'hi' // and me\n}\n";
    std::fs::write(&f, messy).unwrap();
    let o = run(&["fmt", "--check", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(out.contains("+m = llm mock {"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        messy,
        "--check must not write"
    );
    let o = run(&["fmt", f.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "# keep me\nm = llm mock {\n    reply: \"hi\" // and me\n}\n"
    );
    assert!(run(&["fmt", "--check", f.to_str().unwrap()])
        .status
        .success());
}

#[test]
fn graph_prints_routes_in_every_format() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/projects/support_desk.ww");
    let f = f.to_str().unwrap();
    let t = text(&run(&["graph", f]).stdout);
    assert!(t.contains("web -> desk"), "{t}");
    assert!(t.contains("desk -> console  (inferred)"), "{t}");
    let d = text(&run(&["graph", "--format", "dot", f]).stdout);
    assert!(
        d.starts_with("digraph woodwork {") && d.contains("\"web\" -> \"desk\";"),
        "{d}"
    );
    let m = text(&run(&["graph", "--format", "mermaid", f]).stdout);
    assert!(m.contains("n_web --> n_desk"), "{m}");
    let j: serde_json::Value =
        serde_json::from_slice(&run(&["graph", "--format", "json", f]).stdout).unwrap();
    assert_eq!(j["routes"][0]["inferred"], true);
    assert!(j["start_order"].as_array().unwrap().len() == 8);
}
