//! `GET /graph`: the served file's components, routes (explicit and inferred) and tool uses, as
//! the `graph --format json` document. Rendered once at start by the same code as the CLI
//! (`woodwork_parser::graph`), so it says what `woodwork-actors graph` prints for the file `serve`
//! started with. After a `serve --watch` reload, `/components` (`routes_to`) has the live routes:
//! `/ui` draws components and routes from there and takes only the uses, inferred marks and
//! source lines from this document.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use bytes::Bytes;
use woodwork_parser::graph::{render, GraphFormat};
use woodwork_parser::Config;

/// The rendered document (app data): cheap to clone into every answer.
pub struct GraphJson(Bytes);

impl GraphJson {
    /// Renders `config` as `graph --format json` does.
    pub fn of(config: &Config) -> GraphJson {
        GraphJson(Bytes::from(render(config, GraphFormat::Json)))
    }
}

pub async fn graph(graph: web::Data<GraphJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(graph.0.clone())
}
