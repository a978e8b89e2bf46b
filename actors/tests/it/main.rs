//! The runtime's integration tests (every one but `metrics`, which installs a process-wide
//! recorder): one test binary with a module per area, so CI compiles and links it once.

#[path = "../common/mod.rs"]
mod common;
#[path = "../wire/mod.rs"]
mod wire;

mod agent;
mod bus;
mod cluster;
mod envelope;
mod global_hooks;
mod hook_processes;
mod hooks;
mod llm_claude;
mod llm_ollama;
mod llm_openai;
mod llm_providers;
mod pipeline;
mod python_hooks;
mod reload;
mod retries;
mod sessions;
mod streaming;
mod supervision;
