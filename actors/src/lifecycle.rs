//! The messages a failed component and its supervisor exchange: the component asks
//! ([`ChildFailed`]), the supervisor answers ([`Decision`]), and the supervisor restarts siblings
//! ([`Restart`]) and stops components ([`Stop`], [`Kill`]). A leaf module, so the component actors,
//! the supervisor, the cells and the shared services all use them without depending on one another.

use crate::types::ComponentState;
use actix::prelude::*;
use std::time::Duration;
use tokio::sync::oneshot;

/// What the supervisor tells a failed component.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Restart after this delay.
    Restart { backoff: Duration },
    /// Do not restart: stay in `state` (terminated for temporary children, failed on escalation).
    Stop {
        state: ComponentState,
        reason: String,
    },
}

/// A component panicked; answer with what it must do.
pub struct ChildFailed {
    pub index: usize,
    pub cause: String,
}

impl Message for ChildFailed {
    type Result = Decision;
}

/// Restart now (a sibling failed under one_for_all / rest_for_one).
pub struct Restart {
    pub backoff: Duration,
    pub cause: String,
}

impl Message for Restart {
    type Result = ();
}

/// Graceful stop: finish in-flight work, then stop. Resolves when stopped.
pub struct Stop;

impl Message for Stop {
    type Result = Option<oneshot::Receiver<()>>;
}

/// Forced stop after the shutdown timeout: in-flight callers get `ShuttingDown`.
pub struct Kill;

impl Message for Kill {
    type Result = ();
}
