//! `woodwork-actors graph FILE [--format text|dot|mermaid|json]`.

use super::{GraphArgs, GraphFormatArg};
use std::process::ExitCode;
use woodwork_parser::graph::{render, GraphFormat};
use woodwork_parser::{check_file, CheckOptions};

pub fn run(args: GraphArgs) -> ExitCode {
    let opts = CheckOptions {
        resolve_env: args.env,
        env: None,
    };
    let report = check_file(&args.file, &opts);
    let Some(config) = &report.config else {
        super::output::err(&report.render_text());
        return ExitCode::FAILURE;
    };
    let format = match args.format {
        GraphFormatArg::Text => GraphFormat::Text,
        GraphFormatArg::Dot => GraphFormat::Dot,
        GraphFormatArg::Mermaid => GraphFormat::Mermaid,
        GraphFormatArg::Json => GraphFormat::Json,
    };
    super::output::out(&render(config, format));
    ExitCode::SUCCESS
}
