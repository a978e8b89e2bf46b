//! The binary's integration tests: the real `woodwork-actors` over real HTTP, sockets and
//! subprocesses. One test binary with a module per area, so CI compiles and links it once.

mod common;
#[path = "../../actors/tests/wire/mod.rs"]
mod wire;

mod cli_check;
mod cli_export;
mod cli_run;
mod cluster_broker_restart;
mod cluster_conformance;
mod cluster_durable;
mod cluster_failover;
mod cluster_memory;
mod cluster_registry;
mod cluster_replicas;
mod input_api;
mod openai_api;
mod provider_env;
mod serve_agent;
mod serve_auth;
mod serve_cors;
mod serve_endpoints;
mod serve_errors;
mod serve_events;
mod serve_global_hooks;
mod serve_operator;
mod serve_protocol;
mod serve_retries;
mod serve_sessions;
mod serve_shutdown;
mod serve_sse;
mod serve_tools;
mod serve_ui;
mod serve_watch;
mod serve_webhook;
mod ui_browser;
