//! The woodwork-actors runtime: turns a checked [`woodwork_parser::Config`] into a supervised tree of
//! actix actors exchanging typed envelopes.

pub mod breaker;
pub mod bus;
pub mod component;
pub mod envelope;
pub mod error;
pub mod hooks;
pub mod llm;
pub mod memory;
pub mod reply;
pub mod router;
pub mod runtime;
pub mod services;
pub mod session;
pub mod supervisor;
pub mod types;

pub use envelope::{Envelope, EventType, MessageId};
pub use error::RuntimeError;
pub use runtime::{EventStream, Runtime, RuntimeOptions};
pub use types::*;
