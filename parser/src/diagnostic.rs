//! Diagnostics: what is wrong, where, and how to fix it. Every diagnostic carries a help line.

use crate::model::Span;
use serde::Serialize;

/// Errors make `check` fail; warnings are printed but the file is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    /// The word printed before `[code]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One finding about a `.ww` file, pointing at the source (`span`) with optional extra labels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable kebab-case identifier (`unknown-reference`, `missing-key`, …) for tools and tests.
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    /// Marked ranges with a short note; a label on `span` itself is the primary label.
    pub labels: Vec<(Span, String)>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// A new error at `span`; add labels and help with the builder methods.
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            labels: Vec::new(),
            help: None,
        }
    }

    /// A new warning at `span`.
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    /// Adds a label on the primary span.
    pub fn primary(mut self, text: impl Into<String>) -> Diagnostic {
        let span = self.span;
        self.labels.insert(0, (span, text.into()));
        self
    }

    /// Adds a secondary label.
    pub fn label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push((span, text.into()));
        self
    }

    /// Sets the help line (every diagnostic has one).
    pub fn help(mut self, text: impl Into<String>) -> Diagnostic {
        self.help = Some(text.into());
        self
    }

    /// True for errors (which make `check` fail).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// JSON form with named fields (labels as objects), used by `--format json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "line": self.span.line,
            "col": self.span.col,
            "span": self.span,
            "labels": self.labels.iter().map(|(s, m)| serde_json::json!({"span": s, "message": m})).collect::<Vec<_>>(),
            "help": self.help,
        })
    }
}
