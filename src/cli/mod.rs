//! Subcommands of the `woodwork-actors` command line, one file each.

pub mod serve;
