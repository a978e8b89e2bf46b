//! Supervision (DESIGN.md §4): OTP strategies, restart types and intensity with backoff, decided by
//! the root supervisor actor, which also starts components in dependency order and stops them in
//! reverse order.

pub mod policy;
pub mod root;

pub use policy::{decide, Decision};
pub use root::{ChildFailed, RootSupervisor, ShutdownChildren};
