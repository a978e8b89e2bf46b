//! `woodwork-actors fmt FILE… [--check]`.

use super::FmtArgs;
use std::process::ExitCode;
use woodwork_parser::{format_source, CheckReport, MAX_FILE_BYTES};

pub fn run(args: FmtArgs) -> ExitCode {
    let mut failed = false;
    for path in &args.files {
        let text = match read(path) {
            Ok(t) => t,
            Err(e) => {
                super::output::err(&(format!("error: cannot read {}: {e}", path.display()) + "\n"));
                failed = true;
                continue;
            }
        };
        let formatted = match format_source(&text) {
            Ok(f) => f,
            Err(diagnostics) => {
                let report = CheckReport {
                    config: None,
                    diagnostics,
                    path: path.clone(),
                    source: text,
                };
                super::output::err(&report.render_text());
                eprintln!(
                    "error: {} was not formatted: fix the syntax errors first",
                    path.display()
                );
                failed = true;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if args.check {
            super::output::out(&(format!("{} is not in canonical form:", path.display()) + "\n"));
            print!(
                "{}",
                super::diff::unified(&text, &formatted, &path.display().to_string())
            );
            failed = true;
        } else if let Err(e) = std::fs::write(path, formatted) {
            super::output::err(&(format!("error: cannot write {}: {e}", path.display()) + "\n"));
            failed = true;
        } else {
            super::output::out(&(format!("formatted {}", path.display()) + "\n"));
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn read(path: &std::path::Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if meta.len() > MAX_FILE_BYTES as u64 {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_FILE_BYTES} bytes"
        )));
    }
    std::fs::read_to_string(path)
}
