//! The woodwork-actors runtime: turns a checked [`woodwork_parser::Config`] into a supervised tree of
//! actix actors exchanging typed envelopes.
//!
//! The facade is [`Runtime`] and what its methods take and return (re-exported below); the
//! modules the server, benches and tests name by path (errors, envelopes, hooks, model clients,
//! conversation memory, replies, sessions) stay public. The wiring (bus, router, breakers,
//! supervision, component actors) is crate-private, so it can change without breaking callers.

pub(crate) mod breaker;
pub(crate) mod bus;
pub(crate) mod cell;
pub mod cluster;
pub(crate) mod component;
pub mod envelope;
pub mod error;
pub mod hooks;
pub(crate) mod lifecycle;
pub mod llm;
pub mod memory;
pub(crate) mod memory_store;
pub mod reply;
pub(crate) mod router;
pub(crate) mod runtime;
pub(crate) mod services;
pub mod session;
pub(crate) mod supervisor;
pub(crate) mod types;

pub use bus::{Address, DeadLetterPage, MessageBus};
pub use cell::ComponentCell;
pub use cluster::{ClusterSpec, ClusterView, NodeView};
pub use component::actor::{admit, Refused};
pub use component::console;
pub use envelope::{Envelope, EventType, MessageId};
pub use error::RuntimeError;
pub use router::Router;
pub use runtime::{file_hash, named_files, EventStream, ReloadReport, Runtime, RuntimeOptions};
pub use types::*;
