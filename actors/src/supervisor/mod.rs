//! Supervision (DESIGN.md §4): OTP strategies, restart types and intensity with backoff, decided by
//! the root supervisor actor, which also starts components in dependency order and stops them in
//! reverse order. Crate-private: callers see it only through `Runtime` (health, shutdown).

pub(crate) mod policy;
pub(crate) mod root;

pub(crate) use root::{RootSupervisor, ShutdownChildren};
