//! The actix-web server of `woodwork-actors serve`: routes (DESIGN.md §5), middleware, SSE,
//! metrics and graceful shutdown around a started [`Runtime`].

pub mod admission;
pub mod drain;
pub mod error;
pub mod http;
pub mod idle_memory;
pub mod input_body;
pub mod middleware;
pub mod prometheus;
pub mod replay;
pub mod routes;
pub mod signals;
pub mod sse;
pub mod sse_json;
pub mod state;
pub mod transport;
pub mod ui;
pub mod unread_body;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest};
use error::ApiError;
use state::{AppState, Limits};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use woodwork_parser::Config;
use woodwork_runtime::{Runtime, RuntimeOptions};

/// Everything `serve` needs besides the config.
pub struct ServeOptions {
    pub host: String,
    pub port: u16,
    pub limits: Limits,
    /// How long in-flight requests may take to finish after SIGTERM; those still running then
    /// are answered 503 `shutting_down`.
    pub drain_timeout: Duration,
    /// How long the listener stays open after SIGTERM, answering `/readyz` 503 (and new input
    /// 503) so load balancers see the instance leave before connections are refused.
    pub shutdown_grace: Duration,
    pub auth_token: Option<String>,
    /// HTTP worker threads; `None` = one per core.
    pub workers: Option<usize>,
    pub runtime: RuntimeOptions,
    /// The `/events` feed's replay buffer and subscriber cap.
    pub events: replay::FeedOptions,
    /// Origins allowed to call from a browser (`--cors-origin`; none by default).
    pub cors: middleware::cors::CorsOrigins,
    /// `--watch`: this `.ww` is polled and its edits applied without a restart.
    pub watch: Option<crate::cli::watch::Watch>,
}

/// Why `serve` stopped with an error (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("could not start the runtime: {0}")]
    Runtime(String),
    #[error(
        "could not listen on {addr}: {source} (is another process using the port? try --port)"
    )]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    /// An `input api` component's port could not be read or bound (src/input_api).
    #[error("{0}")]
    InputApi(String),
}

/// How long the workers wait, after the drain timeout, for the 503s it caused to be written.
const DRAIN_ANSWER_MARGIN: Duration = Duration::from_secs(2);

/// Starts the runtime, serves until SIGTERM/SIGINT, then drains and stops. Must run inside an
/// actix System (the runtime's actors live there).
pub async fn serve(config: Config, mut opts: ServeOptions) -> Result<(), ServeError> {
    let mut signals = signals::Signals::install();
    let metrics = prometheus::install();
    let graph = web::Data::new(routes::graph::GraphJson::of(&config));
    let watched = opts.watch.take().map(|w| (w, config.clone()));
    let input_apis = crate::input_api::plan(&config, &opts).map_err(ServeError::InputApi)?;
    let runtime = Runtime::start(config, opts.runtime)
        .await
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    if let Some((w, config)) = watched {
        let rt = runtime.clone();
        actix_rt::spawn(async move { crate::cli::watch::watch(w, &config, rt).await });
    }
    let feed_runtime = runtime.clone();
    let feed_bus = move || feed_runtime.bus().clone();
    replay::install(replay::EventHub::new(feed_bus, opts.events));
    let draining = Arc::new(AtomicBool::new(false));
    let state = web::Data::new(AppState::new(
        runtime.clone(),
        opts.limits,
        metrics,
        draining.clone(),
    ));
    let auth = web::Data::new(middleware::auth::AuthToken(opts.auth_token));
    let cors = web::Data::new(opts.cors);
    // The actors' thread (this one) and each HTTP worker return freed memory when idle.
    actix_rt::spawn(idle_memory::collect_when_idle());
    let app = move || {
        actix_rt::spawn(idle_memory::collect_when_idle());
        App::new()
            .app_data(state.clone())
            .app_data(auth.clone())
            .app_data(cors.clone())
            .app_data(graph.clone())
            .app_data(extractor_errors::path())
            .app_data(extractor_errors::query())
            .app_data(extractor_errors::json())
            .configure(routes::configure)
            .default_service(web::to(routes::fallback::not_found))
            .wrap(from_fn(middleware::chain))
    };
    let addr = format!("{}:{}", opts.host, opts.port);
    let listeners = match http::bind(&opts.host, opts.port) {
        Ok(l) => l,
        Err(source) => {
            runtime.shutdown().await;
            return Err(ServeError::Bind { addr, source });
        }
    };
    let input_apis = match input_apis.hosted_by(&runtime).start(&runtime) {
        Ok(apis) => apis,
        Err(e) => {
            runtime.shutdown().await;
            return Err(ServeError::InputApi(e));
        }
    };
    for l in &listeners {
        if let Ok(a) = l.local_addr() {
            // Tests and scripts read this line to find the port (`--port 0` picks a free one).
            println!("listening on http://{a}");
            tracing::info!(address = %a, "listening on http://{a}");
        }
    }
    let settings = http::Settings {
        workers: opts.workers,
        // Past the drain timeout, requests still running are answered 503 (`drain`); this margin
        // lets those answers be written before the workers drop what is left.
        shutdown_timeout: opts.drain_timeout + DRAIN_ANSWER_MARGIN,
    };
    let server = match http::serve(listeners, app, settings) {
        Ok(s) => s,
        Err(e) => {
            runtime.shutdown().await;
            return Err(ServeError::Io(e));
        }
    };
    let handle = server.handle();
    let running = actix_rt::spawn(server);

    let signal = signals.next().await;
    draining.store(true, Ordering::Release);
    input_apis.drain();
    tracing::info!(
        signal,
        drain_timeout_s = opts.drain_timeout.as_secs(),
        "shutting down: readiness 503, draining in-flight requests"
    );
    let mut forced = false;
    if !opts.shutdown_grace.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(opts.shutdown_grace) => {}
            s = signals.next() => {
                tracing::warn!(signal = s, "second signal: skipping the readiness grace period");
                forced = true;
            }
        }
    }
    tracing::info!("no longer accepting connections; waiting for in-flight requests");
    if forced {
        handle.stop(false).await;
    } else {
        drain::expire_after(opts.drain_timeout);
        tokio::select! {
            _ = handle.stop(true) => {}
            s = signals.next() => {
                tracing::warn!(signal = s, "second signal: stopping without waiting for requests");
                handle.stop(false).await;
            }
        }
    }
    match running.await {
        Ok(Err(e)) => tracing::warn!("server stopped with an error: {e}"),
        Err(e) => tracing::warn!("server task failed: {e}"),
        Ok(Ok(())) => {}
    }
    input_apis.stop(!forced).await;
    tracing::info!("HTTP server stopped; stopping actors in reverse start order");
    runtime.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// Extractor configs whose errors answer in the JSON error shape too.
pub mod extractor_errors {
    use super::*;

    pub fn path() -> web::PathConfig {
        web::PathConfig::default().error_handler(|err, req: &HttpRequest| {
            ApiError::bad_request(
                "bad_path",
                format!(
                    "bad path segment in {}: {err}",
                    error::printable(req.path())
                ),
            )
            .into()
        })
    }

    pub fn query() -> web::QueryConfig {
        web::QueryConfig::default().error_handler(|err, _req: &HttpRequest| bad_query(&err).into())
    }

    /// The answer to a query string `?stream=…` cannot be read from.
    pub fn bad_query(err: &actix_web::error::QueryPayloadError) -> ApiError {
        ApiError::bad_request(
            "bad_query",
            format!("bad query string: {err}; the only parameter is stream=true|false"),
        )
    }

    pub fn json() -> web::JsonConfig {
        web::JsonConfig::default().error_handler(|err, _req: &HttpRequest| {
            ApiError::bad_request("malformed_body", format!("malformed JSON body: {err}")).into()
        })
    }
}
