//! Killing a child process together with everything it started. Tool workers, MCP servers and
//! hook commands each run as the leader of their own process group, so one signal to the group
//! reaches a `sh -c 'slow & slow'`'s children too; this is the one place that sends it.

/// Sends SIGKILL to process group `pgid` (a leader spawned with `process_group(0)`). Ids 0 and 1
/// are refused: they would address our own group or init.
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) takes two integers and touches no memory of ours; a negative pid
        // addresses the process group.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}
