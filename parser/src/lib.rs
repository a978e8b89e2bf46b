//! The `.ww` front end: tokenizer, parser, diagnostics, typed config, validation, dependency graph and
//! formatter. It knows nothing of actors: its output is a [`Config`] the runtime starts from.

pub mod model;

pub use model::*;
