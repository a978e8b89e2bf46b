//! Command-line arguments of `woodwork-actors` and the subcommands that only need the front end.

pub mod check;
pub mod diff;
pub mod export;
pub mod fmt;
pub mod graph;
pub mod output;
pub mod placement;
pub mod run;
pub mod serve;
pub mod watch;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Runs Woodwork `.ww` agent systems as supervised actix actors.
#[derive(Parser, Debug)]
#[command(name = "woodwork-actors", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and validate a .ww file; exit 1 on any error.
    Check(CheckArgs),
    /// Rewrite a .ww file in canonical form (comments kept).
    Fmt(FmtArgs),
    /// Print components and routes.
    Graph(GraphArgs),
    /// Talk to the file's `input command_line` on this terminal.
    Run(run::RunArgs),
    /// Serve the file's components over HTTP until SIGTERM/SIGINT.
    Serve(serve::ServeArgs),
    /// Write deployment files: a Dockerfile plus a Compose file or Kubernetes manifests.
    Export(export::ExportArgs),
}

/// Output of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The .ww file.
    pub file: PathBuf,
    /// Do not resolve environment values (CI without secrets).
    #[arg(long)]
    pub no_env: bool,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(clap::Args, Debug)]
pub struct FmtArgs {
    /// The .ww files to format.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Do not write; exit 1 and show the changes if a file is not in canonical form.
    #[arg(long)]
    pub check: bool,
}

/// Output of `graph`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormatArg {
    Text,
    Dot,
    Mermaid,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct GraphArgs {
    /// The .ww file.
    pub file: PathBuf,
    #[arg(long, value_enum, default_value_t = GraphFormatArg::Text)]
    pub format: GraphFormatArg,
    /// Resolve environment values too (off by default: the graph does not need secrets).
    #[arg(long)]
    pub env: bool,
}
