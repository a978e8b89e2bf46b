//! `input api { port, host?, cors? }` under `serve` (DESIGN.md §5): each such component opens its
//! own actix-web server on its own port and speaks woodwork's protocol there — `GET /`,
//! `GET /health`, `POST /input` and the WebSocket `/input` — running the pipeline from that
//! component through the same [`Runtime`] as the main server, so woodwork clients work unchanged.
//!
//! Lifecycle: [`plan`] reads every declaration before the runtime starts (a bad `port` or `cors`
//! stops `serve` at once); [`Plan::start`] binds every port before serving any (a port already
//! taken fails `serve` with exit 1, naming the component and the port); [`InputApis::drain`] at
//! SIGTERM makes new input 503 and closes sockets once their turn ends; [`InputApis::stop`] stops
//! the servers with the main one.

mod cors;
mod error;
mod frames;
mod rest;
mod spec;
mod state;
mod ws;

use crate::server::{http, middleware::auth, ServeOptions};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, ResponseError};
use error::InputApiError;
use spec::ApiSpec;
use state::{ApiState, Settings};
use std::time::Duration;
use tokio::sync::watch;
use woodwork_parser::Config;
use woodwork_runtime::Runtime;

/// Worker threads per input api port when `--workers` is not given: sockets are mostly idle, and
/// several ports should not each start one thread per core.
const DEFAULT_WORKERS: usize = 2;

/// How long a stop waits past the drain for connections still open.
const STOP_MARGIN: Duration = Duration::from_secs(2);

/// The input api servers to start, read and checked before the runtime starts.
pub struct Plan {
    apis: Vec<ApiSpec>,
    settings: Settings,
}

/// Reads every `input api` declaration of `config` with `serve`'s limits and token.
pub fn plan(config: &Config, opts: &ServeOptions) -> Result<Plan, String> {
    let apis = spec::all(&config.components)?;
    for (i, a) in apis.iter().enumerate() {
        if let Some(b) = apis[..i]
            .iter()
            .find(|b| b.port != 0 && b.port == a.port && b.host == a.host)
        {
            return Err(format!(
                "input api `{}` and input api `{}` both ask for {}:{}: give each its own `port:`",
                b.name, a.name, a.host, a.port
            ));
        }
    }
    Ok(Plan {
        apis,
        settings: Settings {
            deadline: opts.limits.default_deadline,
            max_body: opts.limits.max_body,
            body_timeout: opts.limits.body_timeout,
            auth_token: opts.auth_token.clone().filter(|t| !t.trim().is_empty()),
            workers: opts.workers,
            shutdown_timeout: opts.drain_timeout + STOP_MARGIN,
        },
    })
}

impl Plan {
    /// Only the inputs this node hosts (in a cluster, an `input api` opens its port on the
    /// nodes that run it, not on every node).
    pub fn hosted_by(mut self, runtime: &Runtime) -> Plan {
        self.apis.retain(|a| runtime.hosts(&a.name));
        self
    }
}

/// The running input api servers.
pub struct InputApis {
    shutdown: watch::Sender<bool>,
    servers: Vec<(
        String,
        actix_web::dev::ServerHandle,
        actix_rt::task::JoinHandle<std::io::Result<()>>,
    )>,
}

impl Plan {
    /// Binds every port, then serves them all; prints `input api `NAME` listening on http://ADDR`
    /// for each (`port: 0` picks a free one). Must run inside the actix System.
    pub fn start(self, runtime: &Runtime) -> Result<InputApis, String> {
        let mut bound = Vec::with_capacity(self.apis.len());
        for api in self.apis {
            let listeners = http::bind(&api.host, api.port).map_err(|e| {
                format!(
                    "input api `{}` could not listen on {}:{}: {e} (is another process using the \
                     port? change its `port:` in the .ww file)",
                    api.name, api.host, api.port
                )
            })?;
            bound.push((api, listeners));
        }
        let (shutdown, signal) = watch::channel(false);
        let mut servers = Vec::with_capacity(bound.len());
        for (api, listeners) in bound {
            for l in &listeners {
                if let Ok(a) = l.local_addr() {
                    println!("input api `{}` listening on http://{a}", api.name);
                    tracing::info!(component = %api.name, address = %a, "input api listening");
                }
            }
            let state = web::Data::new(ApiState::new(
                runtime.clone(),
                api.name.clone(),
                self.settings.clone(),
                signal.clone(),
            ));
            let cors = web::Data::new(cors::Cors {
                allowed: api.cors.clone(),
                component: api.name.clone(),
            });
            let app = move || {
                App::new()
                    .app_data(state.clone())
                    .app_data(cors.clone())
                    .route("/", web::get().to(rest::root))
                    .route("/", web::head().to(rest::root))
                    .route("/health", web::get().to(rest::health))
                    .route("/health", web::head().to(rest::health))
                    .route("/input", web::post().to(rest::post_input))
                    .route("/input", web::get().to(ws::open))
                    .default_service(web::to(rest::fallback))
                    .wrap(from_fn(require_token))
                    .wrap(from_fn(cors::middleware))
            };
            let settings = http::Settings {
                workers: Some(self.settings.workers.unwrap_or(DEFAULT_WORKERS)),
                shutdown_timeout: self.settings.shutdown_timeout,
            };
            let server = http::serve(listeners, app, settings)
                .map_err(|e| format!("input api `{}` could not start its server: {e}", api.name))?;
            servers.push((api.name, server.handle(), actix_rt::spawn(server)));
        }
        Ok(InputApis { shutdown, servers })
    }
}

impl InputApis {
    /// Shutdown began: new input is answered 503, sockets close once their running turn ends
    /// (or when the drain runs out).
    pub fn drain(&self) {
        self.shutdown.send_replace(true);
    }

    /// Stops every server, waiting (bounded by the drain timeout) for open connections.
    pub async fn stop(self, graceful: bool) {
        self.drain();
        let stops = self.servers.iter().map(|(_, h, _)| h.stop(graceful));
        futures_util::future::join_all(stops).await;
        for (name, _, task) in self.servers {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(component = %name, "input api server stopped with an error: {e}")
                }
                Err(e) => tracing::warn!(component = %name, "input api server task failed: {e}"),
            }
        }
    }
}

/// The main server's bearer token guards these ports too when it is set (CORS preflights pass:
/// browsers never send credentials on them).
async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let expected = req
        .app_data::<web::Data<ApiState>>()
        .and_then(|s| s.settings.auth_token.clone());
    if let Some(expected) = expected {
        let value = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        if !auth::authorized(value, &expected) {
            tracing::info!("input api: rejected a request without the bearer token");
            let res =
                InputApiError(crate::server::error::ApiError::unauthorized()).error_response();
            return Ok(req.into_response(res).map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
