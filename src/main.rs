//! `woodwork-actors`: the command line.

mod cli;
mod logging;
mod server;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match args.command {
        cli::Command::Check(a) => cli::check::run(a),
        cli::Command::Fmt(a) => cli::fmt::run(a),
        cli::Command::Graph(a) => cli::graph::run(a),
        cli::Command::Run(a) => cli::run::run(a),
        cli::Command::Serve(a) => cli::serve::run(a),
    }
}
