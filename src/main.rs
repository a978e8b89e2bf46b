//! `woodwork-actors`: the command line.

mod cli;
mod input_api;
mod log_writer;
mod logging;
mod server;

use clap::Parser;
use std::process::ExitCode;

/// The server allocates an envelope, a body and a response per request on three threads; glibc's
/// allocator spent ~12% of a loaded server's CPU (perf), mimalloc's thread-local heaps much less.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match args.command {
        cli::Command::Check(a) => cli::check::run(a),
        cli::Command::Fmt(a) => cli::fmt::run(a),
        cli::Command::Graph(a) => cli::graph::run(a),
        cli::Command::Run(a) => cli::run::run(a),
        cli::Command::Serve(a) => cli::serve::run(*a),
        cli::Command::Export(a) => cli::export::run(a),
    }
}
