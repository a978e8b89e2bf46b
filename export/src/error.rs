//! Why an export was refused: what is wrong, where, and how to fix it.

use std::path::PathBuf;

/// An export that cannot be written; every variant says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The file asks for something export cannot produce (or produce correctly).
    #[error("{message}\n  help: {help}")]
    Invalid { message: String, help: String },
    /// A referenced file could not be read.
    #[error("cannot read {}: {source}\n  help: check the path and its permissions", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The output directory or a file in it could not be written.
    #[error("cannot write {}: {source}\n  help: check that --out names a directory you can write to", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A manifest could not be serialized (a bug: the structures are ours).
    #[error("cannot serialize {what}: {message}")]
    Serialize { what: String, message: String },
}

impl ExportError {
    /// Shorthand for [`ExportError::Invalid`].
    pub fn invalid(message: impl Into<String>, help: impl Into<String>) -> Self {
        ExportError::Invalid {
            message: message.into(),
            help: help.into(),
        }
    }
}
