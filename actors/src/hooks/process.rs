//! A hook's process and everything it starts, as one unit: each command or Python worker runs in
//! its own process group, and the group is killed (SIGKILL) when the run times out, is cancelled
//! or is dropped, so a `sh -c 'slow & slow'` cannot leave children behind.
//!
//! The group is only signalled while its leader is unreaped: a zombie leader keeps its pid (and
//! so the group id) reserved, so the signal can never reach an unrelated process that was given
//! a recycled pid.

use std::time::Duration;
use tokio::process::Child;

/// Longest wait for a killed process to be reaped.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a leader whose output ended may take to become a zombie before we stop looking for
/// its leftovers (it closed its output early and runs on: nothing to clean up yet).
const EXIT_GRACE: Duration = Duration::from_millis(50);

#[allow(non_camel_case_types)]
type pid_t = i32;

/// Sends SIGKILL to process group `pgid` (only while its leader is unreaped, see above).
pub(super) fn kill_group(pgid: pid_t) {
    woodwork_tools::process::kill_group(pgid);
}

/// True when `pid` has exited and waits to be reaped (Linux `/proc`; false when unknown).
fn is_zombie(pid: pid_t) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// A spawned group leader (spawned with `process_group(0)`): kills its group when dropped unless
/// it was reaped through [`Group::wait`] / [`Group::finish`].
pub struct Group {
    child: Child,
    pid: pid_t,
    reaped: bool,
}

impl Group {
    /// Takes ownership of a child spawned as the leader of a new process group.
    pub fn new(child: Child) -> Group {
        let pid = child
            .id()
            .and_then(|p| pid_t::try_from(p).ok())
            .unwrap_or(0);
        Group {
            child,
            pid,
            reaped: false,
        }
    }

    /// The leader, for its pipes.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The group id (the leader's pid), 0 when unknown.
    pub fn pgid(&self) -> pid_t {
        self.pid
    }

    /// Kills the whole group now (the leader stays unreaped until [`Group::reap`] or drop).
    pub fn kill(&mut self) {
        if !self.reaped {
            kill_group(self.pid);
        }
    }

    /// Kills the group and reaps the leader (bounded).
    pub async fn reap(&mut self) {
        self.kill();
        if tokio::time::timeout(REAP_TIMEOUT, self.child.wait())
            .await
            .is_ok()
        {
            self.reaped = true;
        }
    }

    /// Waits for a leader whose output ended: once it has exited, whatever it left running in
    /// its group (a background job holding no pipe) is killed, then the leader is reaped.
    pub async fn finish(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let since = tokio::time::Instant::now();
        while !is_zombie(self.pid) && since.elapsed() < EXIT_GRACE {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if is_zombie(self.pid) {
            kill_group(self.pid);
        }
        let status = self.child.wait().await?;
        self.reaped = true;
        Ok(status)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // Before the `Child` field is dropped (and possibly reaped by tokio's orphan queue).
        self.kill();
    }
}
