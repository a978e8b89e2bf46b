//! `woodwork-actors`: the command line.

mod cli;
mod logging;
mod server;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Runs Woodwork .ww agent systems as supervised actix actors.
#[derive(Parser)]
#[command(name = "woodwork-actors", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the file's components over HTTP until SIGTERM/SIGINT.
    Serve(cli::serve::ServeArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(args) => cli::serve::run(args),
    }
}
