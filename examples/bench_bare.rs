//! The comparison point of `scripts/bench-http.sh`: a bare actix-web app that parses a JSON body
//! and answers JSON, with nothing else (no middleware, no runtime). DESIGN.md §6 asks `POST
//! /{component}/input` to reach at least half its requests/s on the same machine.
//!
//!     cargo run --release --example bench_bare -- 127.0.0.1:0

use actix_web::{web, App, HttpResponse, HttpServer};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Input {
    input: String,
}

#[derive(Serialize)]
struct Output {
    output: String,
}

async fn echo(body: web::Json<Input>) -> HttpResponse {
    HttpResponse::Ok().json(Output {
        output: format!("echo: {}", body.input),
    })
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    actix_rt::System::new().block_on(async move {
        let server = HttpServer::new(|| App::new().route("/echo", web::post().to(echo)))
            .bind(addr.as_str())?;
        for a in server.addrs() {
            println!("listening on http://{a}");
        }
        server.run().await
    })
}
