//! The woodwork-actors runtime: turns a checked [`woodwork_parser::Config`] into a supervised tree of
//! actix actors exchanging typed envelopes.

pub mod llm;
