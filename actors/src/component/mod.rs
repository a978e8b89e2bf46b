//! Component actors: one per declared component, with the long-lived cell that outlives restarts.

pub mod actor;
pub mod agent;
pub mod answer_filter;
pub mod backends;
pub mod behaviour;
pub mod console;
pub mod events;
pub mod llm;
pub mod memory_tool;
pub mod model_breaker;
pub mod retrieval;
pub mod stream;
pub mod tool;
pub mod webhook;
pub mod work;

pub use actor::ComponentActor;
