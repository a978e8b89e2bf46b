//! Why a hook or pipe run failed: a hook's failure is counted and logged, a pipe's fails its
//! message, so each says what ran and what to change.

use std::time::Duration;

/// A failed hook or pipe run.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("the hook's `command` is empty")]
    EmptyCommand,
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{program}` failed: {source}")]
    Io {
        program: String,
        source: std::io::Error,
    },
    #[error("`{program}` did not finish within {} (it and every process it started were killed)", secs(*.timeout))]
    Timeout { program: String, timeout: Duration },
    #[error("`{program}` exited with {status}: {stderr}")]
    Exit {
        program: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("`{program}` wrote more than {limit} bytes")]
    TooMuchOutput { program: String, limit: usize },
    #[error("`{program}` did not print JSON: {source}")]
    NotJson {
        program: String,
        source: serde_json::Error,
    },
    #[error("{what}: {limit} runs already running and none finished within {}; this run was given up (at most {limit} run at once)", secs(*.waited))]
    Busy {
        what: String,
        limit: usize,
        waited: Duration,
    },
    #[error("{0}")]
    Python(String),
    #[error(transparent)]
    Webhook(#[from] super::webhook::WebhookError),
    #[error("{0}")]
    Internal(&'static str),
}

/// A bound as people write it: `10s`, or `300ms` below a second.
fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs())
    }
}
