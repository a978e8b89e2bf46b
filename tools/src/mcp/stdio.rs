//! Spawning a stdio server in its own process group, so killing it also kills what it started
//! (a `sh -c` wrapper's children, `npx`'s node process).

use super::redact::Redactor;
use super::stderr::{self, StderrTail};
use rmcp::transport::TokioChildProcess;
use std::path::Path;
use std::process::Stdio;

/// The server's process group; dropping it sends SIGKILL to the whole group.
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    pgid: i32,
}

impl ProcessGroup {
    pub(crate) fn kill(&self) {
        // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory.
        unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `command` in `cwd` with `env` added, its stderr forwarded to our log and kept in `tail`.
pub(crate) fn spawn(
    component: &str,
    command: &[String],
    env: &[(String, String)],
    cwd: &Path,
    redactor: &Redactor,
    tail: &StderrTail,
) -> Result<(TokioChildProcess, ProcessGroup), String> {
    let Some((program, args)) = command.split_first() else {
        return Err("no command given: set `command` to the server's program and arguments".into());
    };
    if !cwd.is_dir() {
        return Err(format!(
            "its working directory {} does not exist or is not a folder",
            cwd.display()
        ));
    }
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd)
        .process_group(0)
        .kill_on_drop(true);
    let (child, stderr_pipe) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error(program, cwd, &e))?;
    let Some(pid) = child.id() else {
        return Err(format!("`{program}` exited at once"));
    };
    let group = ProcessGroup { pgid: pid as i32 };
    if let Some(pipe) = stderr_pipe {
        tokio::spawn(stderr::pump(
            pipe,
            component.to_string(),
            redactor.clone(),
            tail.clone(),
        ));
    }
    Ok((child, group))
}

fn spawn_error(program: &str, cwd: &Path, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "program `{program}` not found (looked up in PATH, relative paths from {}); install \
             it or fix `command`",
            cwd.display()
        ),
        std::io::ErrorKind::PermissionDenied => {
            format!("program `{program}` is not executable (permission denied); fix `command`")
        }
        _ => format!("cannot run `{program}`: {e}"),
    }
}
