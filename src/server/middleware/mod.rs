//! Middleware, outermost first: request id + tracing span, HTTP metrics, bearer-token auth.

pub mod auth;
pub mod http_metrics;
pub mod request_id;
