//! What the runtime tells a `PythonFunctions` backend: which file, which interpreter, and the
//! bounds that keep one misbehaving function from stalling or flooding the agent.

use std::path::PathBuf;
use std::time::Duration;

/// Settings of one `api functions` component (no secrets: the file path and bounds only).
#[derive(Clone, Debug)]
pub struct FunctionsSettings {
    /// The component's name, so start errors and logs say which component failed.
    pub name: String,
    /// The `.py` file whose top-level functions are the actions (absolute, resolved by the runtime).
    pub path: PathBuf,
    /// The interpreter the worker runs under (default `python3`), so users can point at a venv.
    pub python: PathBuf,
    /// Longest a call may run before the worker is killed and restarted (default 30 s).
    pub call_timeout: Duration,
    /// Longest the worker may take to import the file (default 60 s: heavy imports are slow).
    pub start_timeout: Duration,
    /// Longest answer line accepted from the worker (default 1 MiB); a longer one is an error
    /// observation and the worker is restarted, since the rest of its output cannot be trusted.
    pub max_output: usize,
    /// Extra text appended to the generated description (usage notes for the model).
    pub documentation: Option<String>,
}

impl FunctionsSettings {
    /// Settings with the defaults above, so the runtime sets only what the `.ww` file gives.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> FunctionsSettings {
        FunctionsSettings {
            name: name.into(),
            path: path.into(),
            python: PathBuf::from("python3"),
            call_timeout: Duration::from_secs(30),
            start_timeout: Duration::from_secs(60),
            max_output: 1 << 20,
            documentation: None,
        }
    }
}
