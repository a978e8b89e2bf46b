//! Spawning a stdio server in its own process group, so killing it also kills what it started
//! (a `sh -c` wrapper's children, `npx`'s node process).

use super::redact::Redactor;
use super::stderr::{self, StderrTail};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::{TokioChildProcess, Transport};
use rmcp::RoleClient;
use std::future::Future;
use std::path::Path;
use std::process::Stdio;

/// The server's process group; dropping it sends SIGKILL to the whole group.
#[derive(Debug, Clone)]
pub(crate) struct ProcessGroup {
    pgid: i32,
}

impl ProcessGroup {
    pub(crate) fn kill(&self) {
        crate::process::kill_group(self.pgid);
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// rmcp's child transport plus a kill of the whole group as soon as the server's stdout ends:
/// rmcp would otherwise give a server that closed stdout but lives on 3 s to exit (and more
/// after SIGTERM) before failing the calls in flight.
pub(crate) struct ChildTransport {
    inner: TokioChildProcess,
    group: ProcessGroup,
}

impl Transport<RoleClient> for ChildTransport {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        let message = self.inner.receive().await;
        if message.is_none() {
            self.group.kill();
        }
        message
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
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
) -> Result<(ChildTransport, ProcessGroup), String> {
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
    let transport = ChildTransport {
        inner: child,
        group: group.clone(),
    };
    Ok((transport, group))
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
