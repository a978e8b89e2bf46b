//! `{ event, command: [...] }` hooks and pipes: the payload as JSON on stdin, a JSON payload (or
//! nothing) on stdout. Each run is a real subprocess in its own process group, killed with
//! everything it started when it times out; a hook runs at most its cap of processes at once.

use super::error::HookError;
use super::limits::{HookLimits, Slots};
use super::process::Group;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Most bytes read from a command's stdout.
pub const MAX_OUTPUT: usize = 1 << 20;
/// Most bytes of a command's stderr kept for its error message.
const MAX_STDERR: usize = 4096;

/// One command hook or pipe with its run slots (clones share them).
#[derive(Clone, Debug)]
pub struct CommandHook {
    argv: Arc<[String]>,
    /// Who this is in errors (`component `x` line N: hook`); the program's name by default.
    label: Option<Arc<str>>,
    limits: HookLimits,
    slots: Slots,
}

impl CommandHook {
    pub fn new(argv: Vec<String>, limits: HookLimits) -> CommandHook {
        CommandHook {
            argv: argv.into(),
            label: None,
            slots: Slots::new(limits.concurrency),
            limits,
        }
    }

    /// Names the hook in its errors (where it is declared).
    pub fn with_label(mut self, label: impl Into<Arc<str>>) -> CommandHook {
        self.label = Some(label.into());
        self
    }

    /// Runs the command on `input` once a slot is free, waiting at most `slot_wait` for one.
    pub async fn run(
        &self,
        input: &serde_json::Value,
        slot_wait: Duration,
    ) -> Result<Option<serde_json::Value>, HookError> {
        let _slot = self
            .slots
            .acquire(
                || match &self.label {
                    Some(l) => l.to_string(),
                    None => format!("command `{}`", self.program()),
                },
                slot_wait,
            )
            .await?;
        run_command(&self.argv, input, self.limits.timeout).await
    }

    fn program(&self) -> &str {
        self.argv.first().map(String::as_str).unwrap_or("")
    }
}

/// Reads up to `limit` bytes into `buf` and discards the rest, so the writer never blocks on a
/// full pipe and memory stays bounded.
async fn read_bounded(
    mut r: impl tokio::io::AsyncRead + Unpin,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<()> {
    (&mut r).take(limit as u64).read_to_end(buf).await?;
    tokio::io::copy(&mut r, &mut tokio::io::sink()).await?;
    Ok(())
}

/// Runs `argv` with `input` as JSON on stdin; returns stdout parsed as JSON (`None` when empty).
/// Past `timeout` the command's whole process group is killed.
pub async fn run_command(
    argv: &[String],
    input: &serde_json::Value,
    timeout: Duration,
) -> Result<Option<serde_json::Value>, HookError> {
    let (program, args) = argv.split_first().ok_or(HookError::EmptyCommand)?;
    let io_error = |source| HookError::Io {
        program: program.clone(),
        source,
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| HookError::Spawn {
            program: program.clone(),
            source,
        })?;
    // From here on, leaving this function any way (error, timeout, cancellation) kills the group.
    let mut group = Group::new(child);
    let body = serde_json::to_vec(input).map_err(|e| io_error(e.into()))?;
    let pipes = (
        group.child().stdin.take(),
        group.child().stdout.take(),
        group.child().stderr.take(),
    );
    let (Some(mut stdin), Some(stdout), Some(stderr)) = pipes else {
        return Err(HookError::Internal(
            "a command hook's pipes were not set up",
        ));
    };
    let run = async {
        // A command that does not read its stdin is fine: ignore a broken pipe.
        let write = async move {
            let _ = stdin.write_all(&body).await;
            drop(stdin);
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        // Read at most MAX_OUTPUT + 1 bytes of each, so a chatty command cannot grow memory.
        let read_out = read_bounded(stdout, &mut out, MAX_OUTPUT + 1);
        let read_err = read_bounded(stderr, &mut err, MAX_STDERR);
        let (_, o, e) = tokio::join!(write, read_out, read_err);
        o.map_err(io_error)?;
        e.map_err(io_error)?;
        let status = group.finish().await.map_err(io_error)?;
        Ok::<_, HookError>((status, out, err))
    };
    let (status, stdout, stderr) = match tokio::time::timeout(timeout, run).await {
        Ok(r) => r?,
        Err(_) => {
            group.reap().await;
            return Err(HookError::Timeout {
                program: program.clone(),
                timeout,
            });
        }
    };
    if !status.success() {
        let err = String::from_utf8_lossy(&stderr);
        let first = err
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>();
        return Err(HookError::Exit {
            program: program.clone(),
            status,
            stderr: first,
        });
    }
    if stdout.len() > MAX_OUTPUT {
        return Err(HookError::TooMuchOutput {
            program: program.clone(),
            limit: MAX_OUTPUT,
        });
    }
    let text = String::from_utf8_lossy(&stdout);
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|source| HookError::NotJson {
            program: program.clone(),
            source,
        })
}
