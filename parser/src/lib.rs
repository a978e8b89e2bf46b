//! The `.ww` front end: tokenizer, parser, diagnostics, typed config, validation, dependency graph and
//! formatter. It knows nothing of actors: its output is a [`Config`] the runtime starts from.
//!
//! Entry points: [`check_file`] / [`check_source`] (parse + validate into a [`CheckReport`]),
//! [`format_source`] (canonical form), and [`graph`] (components and routes for `graph`).

pub mod ast;
mod check;
mod classify;
mod common;
pub mod diagnostic;
pub mod env;
pub mod events;
pub mod format;
pub mod graph;
pub mod lexer;
mod lower;
pub mod model;
pub mod parse;
mod render;
mod resolve;
pub mod schema;
pub mod source;
pub mod spec;
pub mod strings;
mod suggest;
pub mod summary;
mod system;
mod typecheck;
mod values;

pub use check::MAX_FILE_BYTES;
pub use diagnostic::{Diagnostic, Severity};
pub use model::*;
pub use parse::MAX_DEPTH;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How `check` treats environment values.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// `false` = `--no-env`: `$VAR`s stay [`Value::Unresolved`] and unset variables are not errors.
    pub resolve_env: bool,
    /// `None` = the process environment plus `.env` next to the file; `Some` = exactly these.
    pub env: Option<HashMap<String, String>>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            resolve_env: true,
            env: None,
        }
    }
}

/// Everything `check` found: the config when there are no errors, and every diagnostic.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// `Some` iff no diagnostic is an error.
    pub config: Option<Config>,
    pub diagnostics: Vec<Diagnostic>,
    pub path: PathBuf,
    pub source: String,
}

impl CheckReport {
    /// True when any diagnostic is an error (then `config` is `None`).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }

    /// The file name diagnostics print (the path as given).
    pub fn display_path(&self) -> String {
        self.path.display().to_string()
    }

    /// Every diagnostic, rustc-style, separated by blank lines, then a count line when any.
    pub fn render_text(&self) -> String {
        if self.diagnostics.is_empty() {
            return String::new();
        }
        let idx = source::LineIndex::new(&self.source);
        let file = self.display_path();
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&render::render(d, &file, &idx));
            out.push('\n');
        }
        let (e, w) = (self.errors(), self.warnings());
        if e > 0 {
            out.push_str(&format!(
                "error: {file} has {e} error{}{}\n",
                plural(e),
                if w > 0 {
                    format!(" and {w} warning{}", plural(w))
                } else {
                    String::new()
                }
            ));
        } else if w > 0 {
            out.push_str(&format!("warning: {file} has {w} warning{}\n", plural(w)));
        }
        out
    }

    /// `--format json`: `{file, ok, errors, warnings, diagnostics, summary}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "file": self.display_path(),
            "ok": !self.has_errors(),
            "errors": self.errors(),
            "warnings": self.warnings(),
            "diagnostics": self.diagnostics.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
            "summary": self.config.as_ref().map(summary::summary_json),
        })
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Parses and validates `source` as if read from `path` (relative paths and `.env` resolve there).
pub fn check_source(path: &Path, source: &str, opts: &CheckOptions) -> CheckReport {
    check::check_source(path, source, opts)
}

/// Reads and checks a file; a read error is a diagnostic, not a panic.
pub fn check_file(path: &Path, opts: &CheckOptions) -> CheckReport {
    check::check_file(path, opts)
}

/// The canonical form of a file (comments kept), or its syntax errors.
pub fn format_source(source: &str) -> Result<String, Vec<Diagnostic>> {
    format::format_source(source)
}
