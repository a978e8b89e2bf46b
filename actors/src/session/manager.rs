//! The session manager actor (DESIGN.md §4): idle eviction after the TTL on its own schedule,
//! and the session gauges. Evictions made to admit a session or to keep conversation memory
//! within its budget happen in the table itself, when they are needed.

use super::SessionTable;
use std::sync::Arc;
use std::time::Duration;

/// Runs the table's periodic upkeep.
pub struct SessionManager {
    pub table: Arc<SessionTable>,
}

impl actix::Actor for SessionManager {
    type Context = actix::Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        use actix::AsyncContext;
        // Timers need a running tokio runtime (not there when a never-polled actor is dropped).
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let every =
            (self.table.ttl() / 4).clamp(Duration::from_millis(10), Duration::from_secs(60));
        ctx.run_interval(every, |act, _| {
            act.table.evict_idle();
        });
        let sessions = metrics::gauge!("woodwork_sessions_active");
        let memory = metrics::gauge!("woodwork_session_memory_bytes");
        ctx.run_interval(Duration::from_secs(1), move |act, _| {
            sessions.set(act.table.len() as f64);
            memory.set(act.table.memory_bytes() as f64);
        });
    }
}

/// Evict idle sessions now (tests, admin).
pub struct EvictIdle;

impl actix::Message for EvictIdle {
    type Result = usize;
}

impl actix::Handler<EvictIdle> for SessionManager {
    type Result = usize;

    fn handle(&mut self, _: EvictIdle, _: &mut Self::Context) -> usize {
        self.table.evict_idle()
    }
}
