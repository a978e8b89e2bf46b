//! The route table: every path, the methods it takes, and the JSON 404/405 for the rest.
//!
//! | route | answer |
//! |---|---|
//! | `GET /health` | `{status, components: {name: {state, breaker, restarts}}, bus, uptime_s}`; 503 when unhealthy |
//! | `GET /livez`, `GET /readyz` | process up; ready (503 `draining` after SIGTERM). No token needed. |
//! | `GET /components`, `GET /components/{name}` | component status list / one (404 lists the known names) |
//! | `POST /{component}/input` | `{session_id, component, output}` (+ `outputs` on fan-out); SSE with `?stream=true`, `Accept: text/event-stream` or `"stream": true` |
//! | `GET /sessions` | `{total, sessions}`: the most recently active (`?limit=`, default 50, max 500) |
//! | `GET /sessions/{id}`, `DELETE /sessions/{id}` | session info (turns, busy); end it (204) |
//! | `GET /graph` | components, routes and tool uses (the `graph --format json` document) |
//! | `GET /ui` (+ `/ui/app.js`, `/ui/app.css`) | the dashboard; its files need no token, its data does |
//! | `GET /dlq`, `POST /dlq/{id}/replay` | dead letters; replay one (its answer, like an input) |
//! | `GET /metrics` | Prometheus text |
//! | `GET /events` | SSE of every event (`?type=`, `?component=`, `?session=`; `Last-Event-ID` resumes) |
//! | `POST /v1/chat/completions`, `GET /v1/models`, `GET /v1/models/{id}` | the OpenAI-compatible API ([`openai`]); errors in OpenAI's shape |
//!
//! Every GET route answers HEAD (same status and headers, no body).
//!
//! Runtime errors map to: unknown component 404, session busy 409, overloaded 503 + Retry-After,
//! breaker open 503 + Retry-After, deadline 504, component failed 502 (the pipeline ran and a
//! component behind the server failed: a gateway error, not the client's fault), shutting down 503,
//! invalid input 400.

pub mod components;
pub mod dlq;
pub mod events;
pub mod fallback;
pub mod graph;
pub mod health;
pub mod input;
pub mod metrics;
pub mod openai;
pub mod sessions;

use crate::server::ui;
use actix_web::{guard, web};
use fallback::resource;

/// The input route's pattern (also its metrics label).
pub const INPUT: &str = "/{component}/input";

/// The metrics label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The route pattern `configure` matches `path` to, or [`UNMATCHED`]: the metrics label, found
/// without asking actix (`match_pattern` re-runs the route table's regexes on every request).
/// Mirrors the order of `configure`; a test checks it against actix's own answer.
pub fn pattern_of(method: &actix_web::http::Method, path: &str) -> &'static str {
    if method == actix_web::http::Method::POST && is_input(path) {
        return INPUT;
    }
    match path {
        "/health" => return "/health",
        "/livez" => return "/livez",
        "/readyz" => return "/readyz",
        "/metrics" => return "/metrics",
        "/components" => return "/components",
        "/dlq" => return "/dlq",
        "/events" => return "/events",
        openai::CHAT => return openai::CHAT,
        openai::MODELS => return openai::MODELS,
        "/sessions" => return "/sessions",
        "/graph" => return "/graph",
        crate::server::ui::PAGE => return crate::server::ui::PAGE,
        crate::server::ui::SCRIPT => return crate::server::ui::SCRIPT,
        crate::server::ui::STYLE => return crate::server::ui::STYLE,
        _ => {}
    }
    let Some(rest) = path.strip_prefix('/') else {
        return UNMATCHED;
    };
    let mut segments = rest.split('/');
    let seg = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    );
    let named = |s: &str| !s.is_empty();
    match seg {
        (Some("components"), Some(n), None, _) if named(n) => "/components/{name}",
        (Some("sessions"), Some(n), None, _) if named(n) => "/sessions/{id}",
        (Some("dlq"), Some(n), Some("replay"), None) if named(n) => "/dlq/{id}/replay",
        (Some("v1"), Some("models"), Some(n), None) if named(n) => openai::MODEL,
        _ if is_input(path) => INPUT,
        _ => UNMATCHED,
    }
}

/// `/{component}/input`: two segments, the second `input`, the first not empty.
fn is_input(path: &str) -> bool {
    input_component(path).is_some()
}

/// The `{component}` of a `/{component}/input` path (as sent: not percent-decoded).
pub fn input_component(path: &str) -> Option<&str> {
    path.strip_prefix('/')
        .and_then(|p| p.strip_suffix("/input"))
        .filter(|name| !name.is_empty() && !name.contains('/'))
}

/// A GET route that answers HEAD too (DESIGN.md §5): same handler, and actix-http writes a HEAD
/// answer's headers, `Content-Length` included, without the body.
fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers every endpoint of DESIGN.md §5.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The OpenAI routes first: static paths matched before any pattern's regex; none overlaps
    // `/{component}/input` (see `openai::configure`).
    openai::configure(cfg);
    // POST /{x}/input first, guarded to POST, so a POST to `…/input` is always input (most never
    // get here: the middleware answers them before routing, see `input::fast_path`). Other
    // methods fall through to the routes below (the last entry answers them 405).
    cfg.service(
        web::resource(INPUT)
            .guard(guard::Post())
            .route(web::post().to(input::post_input)),
    )
    .service(resource("/health", "GET, HEAD").route(get_or_head().to(health::health)))
    .service(resource("/livez", "GET, HEAD").route(get_or_head().to(health::livez)))
    .service(resource("/readyz", "GET, HEAD").route(get_or_head().to(health::readyz)))
    .service(resource("/metrics", "GET, HEAD").route(get_or_head().to(metrics::metrics)))
    .service(resource("/components", "GET, HEAD").route(get_or_head().to(components::list)))
    .service(resource("/components/{name}", "GET, HEAD").route(get_or_head().to(components::one)))
    .service(resource("/sessions", "GET, HEAD").route(get_or_head().to(sessions::list)))
    .service(resource("/graph", "GET, HEAD").route(get_or_head().to(graph::graph)))
    .service(resource(ui::PAGE, "GET, HEAD").route(get_or_head().to(ui::serve)))
    .service(resource(ui::SCRIPT, "GET, HEAD").route(get_or_head().to(ui::serve)))
    .service(resource(ui::STYLE, "GET, HEAD").route(get_or_head().to(ui::serve)))
    .service(
        resource("/sessions/{id}", "GET, HEAD, DELETE")
            .route(get_or_head().to(sessions::get))
            .route(web::delete().to(sessions::delete)),
    )
    .service(resource("/dlq", "GET, HEAD").route(get_or_head().to(dlq::list)))
    .service(resource("/events", "GET, HEAD").route(get_or_head().to(events::events)))
    .service(resource("/dlq/{id}/replay", "POST").route(web::post().to(dlq::replay)))
    .service(resource(INPUT, "POST").route(web::post().to(input::post_input)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, App, HttpRequest, HttpResponse};

    /// Answers with the pattern actix matched, whatever the route.
    async fn echo_pattern(req: HttpRequest) -> HttpResponse {
        HttpResponse::Ok().body(req.match_pattern().unwrap_or_else(|| UNMATCHED.to_string()))
    }

    #[actix_web::test]
    async fn pattern_of_agrees_with_the_route_table() {
        let app = test::init_service(
            App::new()
                .configure(|cfg| {
                    cfg.service(web::resource(INPUT).guard(guard::Post()).to(echo_pattern));
                    for p in [
                        "/health",
                        "/livez",
                        "/readyz",
                        "/metrics",
                        "/components",
                        "/components/{name}",
                        "/sessions",
                        "/sessions/{id}",
                        "/graph",
                        "/ui",
                        "/ui/app.js",
                        "/ui/app.css",
                        "/dlq",
                        "/dlq/{id}/replay",
                        "/events",
                        "/v1/chat/completions",
                        "/v1/models",
                        "/v1/models/{id}",
                        "/{component}/input",
                    ] {
                        cfg.service(web::resource(p).to(echo_pattern));
                    }
                })
                .default_service(web::to(echo_pattern)),
        )
        .await;
        for path in [
            "/health",
            "/health/",
            "/livez",
            "/readyz",
            "/metrics",
            "/components",
            "/components/",
            "/components/a",
            "/components/input",
            "/components/a/input",
            "/sessions/s1",
            "/sessions",
            "/sessions/",
            "/sessions/input",
            "/graph",
            "/graph/",
            "/ui",
            "/ui/",
            "/ui/app.js",
            "/ui/app.css",
            "/ui/app.css/",
            "/ui/input",
            "/dlq",
            "/dlq/x",
            "/dlq/x/replay",
            "/dlq/x/replay/",
            "/dlq/input",
            "/events",
            "/events/",
            "/events/input",
            "/v1/chat/completions",
            "/v1/chat/completions/",
            "/v1/chat",
            "/v1/models",
            "/v1/models/",
            "/v1/models/bot",
            "/v1/models/bot/x",
            "/v1/models/input",
            "/v1/input",
            "/v1",
            "/in/input",
            "/in/input/",
            "//input",
            "/a/b/input",
            "/input",
            "/",
            "/x",
            "/in/inputs",
            "/%20/input",
        ] {
            for method in [actix_web::http::Method::GET, actix_web::http::Method::POST] {
                let req = test::TestRequest::default()
                    .method(method.clone())
                    .uri(path)
                    .to_request();
                let body = test::call_and_read_body(&app, req).await;
                assert_eq!(
                    pattern_of(&method, path),
                    std::str::from_utf8(&body).unwrap(),
                    "{method} {path}"
                );
            }
        }
    }

    /// Walks the route table (`configure` as served) with a path per route pattern: every one
    /// that answers GET answers HEAD too (DESIGN.md §5). Handlers miss their app data here, so
    /// a served route answers 500; what matters is that HEAD is never 404/405 where GET is not.
    #[actix_web::test]
    async fn every_get_route_answers_head() {
        use actix_web::http::{Method, StatusCode};
        let app = test::init_service(
            App::new()
                .configure(configure)
                .default_service(web::to(fallback::not_found)),
        )
        .await;
        let mut gets = 0;
        for path in [
            "/health",
            "/livez",
            "/readyz",
            "/metrics",
            "/components",
            "/components/x",
            "/sessions",
            "/sessions/x",
            "/graph",
            "/ui",
            "/ui/app.js",
            "/ui/app.css",
            "/dlq",
            "/dlq/x/replay",
            "/events",
            "/v1/models",
            "/v1/models/x",
            "/v1/chat/completions",
            "/x/input",
        ] {
            let answer = |method: Method| {
                let req = test::TestRequest::default()
                    .method(method)
                    .uri(path)
                    .to_request();
                test::call_service(&app, req)
            };
            let get = answer(Method::GET).await.status();
            if get == StatusCode::NOT_FOUND || get == StatusCode::METHOD_NOT_ALLOWED {
                continue;
            }
            gets += 1;
            let head = answer(Method::HEAD).await.status();
            assert!(
                head != StatusCode::NOT_FOUND && head != StatusCode::METHOD_NOT_ALLOWED,
                "GET {path} is {get} but HEAD is {head}"
            );
        }
        assert!(
            gets >= 10,
            "only {gets} GET routes found: is the table empty?"
        );
    }
}
