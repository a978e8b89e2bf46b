//! Why a file's hooks and pipes cannot be readied: a start error (not a run failure, which is a
//! [`HookError`]), typed so the start can tell a declaration mistake from a failed check, each
//! message naming where the hook is written (`component `x` line N: pipe`) and what to change.

use super::error::HookError;
use super::webhook::WebhookUrlError;
use std::path::PathBuf;

/// A hook or pipe that cannot run as declared; `at` is where it is written in the `.ww` file.
#[derive(Debug, thiserror::Error)]
pub enum HookSetupError {
    #[error("{at} `command` is empty; give the program and its arguments, e.g. command: [\"python3\", \"pipe.py\"]")]
    EmptyCommand { at: String },
    #[error("{at}: {source}")]
    WebhookUrl { at: String, source: WebhookUrlError },
    /// A Python script over the size limit (a data file named by mistake, not a script).
    #[error("{at}: script `{}` is {size} bytes; the limit is {limit} bytes", path.display())]
    ScriptTooLarge {
        at: String,
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{at}: script `{}` not found (relative paths are resolved against the .ww file's directory)", path.display())]
    ScriptNotFound { at: String, path: PathBuf },
    /// The script is there but is no regular file or cannot be opened; `reason` names the path.
    #[error("{at}: script {reason}")]
    ScriptUnreadable { at: String, reason: String },
    /// A Python hook's worker did not start or its function is missing (checked at start).
    #[error("{what}: {source}")]
    Check { what: String, source: HookError },
}
