//! The messages a failed component and its supervisor exchange: the component asks
//! ([`ChildFailed`]), the supervisor answers ([`Decision`]). A leaf module, so the component actors,
//! the supervisor and the shared services all use them without depending on one another.

use crate::types::ComponentState;
use actix::prelude::*;
use std::time::Duration;

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
