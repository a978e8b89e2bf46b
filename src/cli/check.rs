//! `woodwork-actors check FILE [--no-env] [--format text|json]`.

use super::{CheckArgs, ReportFormat};
use std::process::ExitCode;
use woodwork_parser::{check_file, summary, CheckOptions};

pub fn run(args: CheckArgs) -> ExitCode {
    let opts = CheckOptions {
        resolve_env: !args.no_env,
        env: None,
    };
    let report = check_file(&args.file, &opts);
    match args.format {
        ReportFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report.to_json()).unwrap_or_default()
            );
        }
        ReportFormat::Text => {
            let diags = report.render_text();
            if !diags.is_empty() {
                super::output::err(&diags);
            }
            if let Some(config) = &report.config {
                print!(
                    "{}",
                    summary::summary_text(config, &report.display_path(), report.warnings())
                );
            }
        }
    }
    let code = if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    // The process ends next: freeing every component of a large file one by one only costs time.
    std::mem::forget(report);
    code
}
