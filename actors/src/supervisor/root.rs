//! The root supervisor actor (replaces woodwork's Task Master): decides restarts for failed
//! components per their policy, restarts siblings per strategy, escalates when intensity is
//! exceeded, and stops components in reverse start order with a per-child timeout.

use super::policy::decide;
use crate::cell::ComponentCell;
use crate::lifecycle::{ChildFailed, Decision, Kill, Restart, Stop};
use crate::types::ComponentState;
use actix::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use woodwork_parser::Strategy;

/// Stop every component in reverse start order, each within `timeout`.
pub struct ShutdownChildren {
    pub timeout: Duration,
}

impl Message for ShutdownChildren {
    type Result = ();
}

/// The one actor that decides about component failures, so restart intensity and strategy are
/// applied in one place over all components.
pub struct RootSupervisor {
    cells: Arc<[Arc<ComponentCell>]>,
}

impl RootSupervisor {
    pub fn new(cells: Arc<[Arc<ComponentCell>]>) -> RootSupervisor {
        RootSupervisor { cells }
    }
}

/// How often mailbox-depth and breaker gauges are sampled (off the hop path).
const GAUGE_INTERVAL: Duration = Duration::from_secs(1);

impl Actor for RootSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Timers need a running tokio runtime (not there when a never-polled actor is dropped).
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        ctx.run_interval(GAUGE_INTERVAL, |act, _| {
            for cell in act.cells.iter() {
                cell.metrics.mailbox_depth.set(cell.mailbox_depth() as f64);
                cell.metrics.breaker.set(cell.breaker_state().gauge());
            }
        });
    }
}

impl Handler<ChildFailed> for RootSupervisor {
    type Result = MessageResult<ChildFailed>;

    fn handle(&mut self, msg: ChildFailed, _: &mut Context<Self>) -> Self::Result {
        let Some(cell) = self.cells.get(msg.index).cloned() else {
            return MessageResult(Decision::Stop {
                state: ComponentState::Failed,
                reason: "unknown child".into(),
            });
        };
        let spec = &cell.spec.supervision;
        let decision = decide(spec, &mut cell.restart_log.lock(), Instant::now());
        match &decision {
            Decision::Restart { backoff } => {
                let siblings: Vec<&Arc<ComponentCell>> = match spec.strategy {
                    Strategy::OneForOne => Vec::new(),
                    Strategy::OneForAll => self
                        .cells
                        .iter()
                        .filter(|c| c.index != cell.index)
                        .collect(),
                    Strategy::RestForOne => {
                        self.cells.iter().filter(|c| c.index > cell.index).collect()
                    }
                };
                for s in siblings {
                    if let Some(link) = s.addr.get() {
                        link.restart.do_send(Restart {
                            backoff: *backoff,
                            cause: format!("{} failed: {}", cell.name, msg.cause),
                        });
                    }
                }
            }
            Decision::Stop { state, reason } => {
                if *state == ComponentState::Failed {
                    tracing::error!(component = &*cell.name, %reason, cause = %msg.cause, "component failed; escalated to the root supervisor");
                } else {
                    tracing::warn!(component = &*cell.name, %reason, "temporary component not restarted");
                }
            }
        }
        MessageResult(decision)
    }
}

impl Handler<ShutdownChildren> for RootSupervisor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: ShutdownChildren, _: &mut Context<Self>) -> Self::Result {
        let cells = self.cells.clone();
        Box::pin(async move {
            for cell in cells.iter().rev() {
                let Some(link) = cell.addr.get() else {
                    continue;
                };
                let stopped = async {
                    if let Ok(Some(rx)) = link.stop.send(Stop).await {
                        let _ = rx.await;
                    }
                };
                if tokio::time::timeout(msg.timeout, stopped).await.is_err() {
                    tracing::warn!(component = &*cell.name, "did not stop in time; killing");
                    link.kill.do_send(Kill);
                }
                if cell.state() != ComponentState::Failed {
                    cell.set_state(ComponentState::Terminated);
                }
            }
        })
    }
}
