//! Restart protocol of a component actor: a panic asks the root supervisor, which decides restart
//! (fresh behaviour in the same mailbox, after backoff, then the messages in hand re-delivered) or
//! stop (their callers answered with the cause). The messages of that exchange live in
//! [`crate::lifecycle`], which both sides import.

use super::{breaker_changed, lifecycle_event, ComponentActor, Deliver};
use crate::bus::slots::Slot;
use crate::component::behaviour::Behaviour;
use crate::envelope::{Envelope, EventType};
use crate::lifecycle::{ChildFailed, Decision};
use crate::types::ComponentState;
use actix::prelude::*;
use std::time::Duration;

impl ComponentActor {
    pub(super) fn on_panic(
        &mut self,
        cause: String,
        current: Option<(Envelope, Option<Slot>)>,
        ctx: &mut Context<Self>,
    ) {
        tracing::error!(component = &*self.cell.name, %cause, "component panicked; asking the supervisor");
        self.cell.count_failed();
        self.cell.record_failure(&format!("panic: {cause}"));
        if let Some(t) = self.cell.breaker.on_failure() {
            breaker_changed(&*self.services.bus, &self.cell, t);
        }
        self.set_state(ComponentState::Failed);
        let mut pending = Vec::new();
        if let Some((mut env, permit)) = current {
            env.retry_count += 1;
            pending.push((env, permit));
        }
        pending.extend(self.take_inflight(ctx));
        let root = self.services.root.get().cloned();
        let index = self.cell.index;
        let cause2 = cause.clone();
        let ask = async move {
            match root {
                Some(r) => r
                    .send(ChildFailed {
                        index,
                        cause: cause2,
                    })
                    .await
                    .unwrap_or(Decision::Stop {
                        state: ComponentState::Failed,
                        reason: "supervisor unreachable".into(),
                    }),
                None => Decision::Stop {
                    state: ComponentState::Failed,
                    reason: "no supervisor".into(),
                },
            }
        };
        ctx.wait(
            actix::fut::wrap_future::<_, Self>(ask).map(move |decision, act, ctx| match decision {
                Decision::Restart { backoff } => act.restart(backoff, pending, &cause, ctx),
                Decision::Stop { state, reason } => {
                    act.set_state(state);
                    for (env, _permit) in pending {
                        if let Some(r) = &env.reply {
                            r.fail(act.component_error(format!(
                                "panicked ({cause}) and was not restarted: {reason}"
                            )));
                        }
                    }
                }
            }),
        );
    }

    /// Fresh behaviour in the same mailbox, after `backoff`; then the messages in hand are re-delivered
    /// (those out of retries are answered with an error).
    pub(super) fn restart(
        &mut self,
        backoff: Duration,
        pending: Vec<(Envelope, Option<Slot>)>,
        cause: &str,
        ctx: &mut Context<Self>,
    ) {
        self.cell.count_restart();
        self.set_state(ComponentState::Initializing);
        match Behaviour::build(&self.cell, &self.services) {
            Ok(b) => self.behaviour = b,
            Err(e) => {
                self.set_state(ComponentState::Failed);
                self.cell.record_failure(&e.to_string());
                for (env, _) in pending {
                    if let Some(r) = &env.reply {
                        r.fail(self.component_error(format!("restart failed: {e}")));
                    }
                }
                return;
            }
        }
        tracing::warn!(
            component = &*self.cell.name,
            ?backoff,
            restarts = self.cell.restarts(),
            "restarting component"
        );
        lifecycle_event(
            &self.services,
            &self.cell,
            EventType::ComponentRestarted,
            serde_json::json!({ "cause": cause, "backoff_ms": backoff.as_millis() as u64 }),
        );
        if backoff.is_zero() {
            // No timer round trip (the timer wheel ticks in milliseconds).
            self.resume(pending, ctx);
            return;
        }
        ctx.wait(
            actix::fut::wrap_future::<_, Self>(tokio::time::sleep(backoff))
                .map(move |_, act, ctx| act.resume(pending, ctx)),
        );
    }

    /// Ready again after a restart: re-deliver the messages in hand.
    pub(super) fn resume(
        &mut self,
        pending: Vec<(Envelope, Option<Slot>)>,
        ctx: &mut Context<Self>,
    ) {
        self.set_state(ComponentState::Ready);
        for (env, permit) in pending {
            if env.retry_count > env.max_retries {
                if let Some(r) = &env.reply {
                    r.fail(self.component_error(format!(
                        "gave up after {} attempts; last failure: {}",
                        env.retry_count,
                        self.cell.last_failure().unwrap_or_default()
                    )));
                }
            } else {
                ctx.notify(Deliver {
                    env,
                    permit,
                    piped: false,
                });
            }
        }
    }
}
