//! Every real `.ww` file of the Python engine (tests/corpus/, copied from shared/ww-corpus) goes
//! through `check` with env resolution off (`--no-env`), and its outcome — accepted with its
//! summary, or the exact diagnostics — must match tests/snapshots/<file>.txt.
//!
//! A changed outcome is a reviewed decision: regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test -p woodwork-parser --test corpus` and commit the diff.

use std::path::{Path, PathBuf};
use woodwork_parser::{check_source, format_source, summary, CheckOptions};

fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ww"))
        .collect();
    files.sort();
    files
}

fn outcome(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let source = std::fs::read_to_string(path).unwrap();
    let opts = CheckOptions {
        resolve_env: false,
        env: None,
    };
    let report = check_source(Path::new(&name), &source, &opts);
    assert!(
        report.diagnostics.iter().all(|d| d.help.is_some()),
        "{name}: a diagnostic without help"
    );
    let mut out = String::new();
    match &report.config {
        Some(config) => {
            out.push_str("ACCEPTED\n\n");
            out.push_str(&summary::summary_text(config, &name, report.warnings()));
        }
        None => out.push_str("REJECTED\n"),
    }
    let diags = report.render_text();
    if !diags.is_empty() {
        out.push('\n');
        out.push_str(&diags);
    }
    out
}

#[test]
fn corpus_outcomes_match_snapshots() {
    let files = corpus_files();
    assert!(files.len() >= 40, "corpus missing: {} files", files.len());
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let snap_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut mismatched = Vec::new();
    for file in &files {
        let got = outcome(file);
        let snap = snap_dir.join(format!(
            "{}.txt",
            file.file_name().unwrap().to_string_lossy()
        ));
        if update {
            std::fs::write(&snap, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&snap).unwrap_or_default();
        if want != got {
            mismatched.push(format!(
                "== {}\n--- expected\n{want}\n--- got\n{got}",
                file.display()
            ));
        }
    }
    assert!(
        mismatched.is_empty(),
        "{} corpus outcome(s) changed (UPDATE_SNAPSHOTS=1 to accept):\n{}",
        mismatched.len(),
        mismatched.join("\n")
    );
}

#[test]
fn corpus_files_format_to_a_fixed_point_with_the_same_outcome() {
    for file in corpus_files() {
        let source = std::fs::read_to_string(&file).unwrap();
        let formatted = match format_source(&source) {
            Ok(f) => f,
            Err(errors) => {
                // Only syntax errors stop fmt; check reports the same ones.
                let r = check_source(
                    &file,
                    &source,
                    &CheckOptions {
                        resolve_env: false,
                        env: None,
                    },
                );
                for e in errors {
                    assert!(r.diagnostics.contains(&e), "{}: {e:?}", file.display());
                }
                continue;
            }
        };
        assert_eq!(
            format_source(&formatted).unwrap(),
            formatted,
            "{}",
            file.display()
        );
        let opts = CheckOptions {
            resolve_env: false,
            env: None,
        };
        let a = check_source(&file, &source, &opts);
        let b = check_source(&file, &formatted, &opts);
        let codes = |r: &woodwork_parser::CheckReport| {
            r.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>()
        };
        assert_eq!(codes(&a), codes(&b), "{}", file.display());
        if let (Some(x), Some(y)) = (&a.config, &b.config) {
            let strip = |c: &woodwork_parser::Config| {
                let mut c = c.clone();
                for comp in &mut c.components {
                    comp.span = Default::default();
                    for h in comp.hooks.iter_mut().chain(comp.pipes.iter_mut()) {
                        h.span = Default::default();
                    }
                }
                c
            };
            assert_eq!(strip(x), strip(y), "{}", file.display());
        }
    }
}
