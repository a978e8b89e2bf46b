//! What the dashboard stands on, over real HTTP: its three files (content types, CSP, caching,
//! open without the token), `GET /graph` (the CLI's `graph --format json`, behind the token),
//! `GET /sessions` (bounded, most recent first) and the latency `/components` shows.

use crate::common::{binary, client, error_of, quickstart, run_bounded, Server};
use serde_json::{json, Value};

const TOKEN: &str = "ui-serve-token-93ab";

fn authed(server: &Server, path: &str) -> reqwest::RequestBuilder {
    client().get(server.url(path)).bearer_auth(TOKEN)
}

async fn json_of(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn dashboard_files_are_served_embedded_with_strict_headers_and_no_token() {
    let server = Server::start(&quickstart(), &["--auth-token", TOKEN]);
    for (path, ct, needle) in [
        (
            "/ui",
            "text/html; charset=utf-8",
            "<script src=\"/ui/app.js\"",
        ),
        (
            "/ui/app.js",
            "text/javascript; charset=utf-8",
            "function readSse",
        ),
        ("/ui/app.css", "text/css; charset=utf-8", "#graph"),
    ] {
        let res = server.get(path).await;
        assert_eq!(res.status(), 200, "{path} is open without the token");
        let h = res.headers().clone();
        assert_eq!(h["content-type"], ct, "{path}");
        assert_eq!(h["cache-control"], "no-cache", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path} CSP {csp}");
        }
        assert!(!csp.contains("unsafe"), "{path} CSP {csp}");
        let etag = h["etag"].to_str().unwrap().to_string();
        let body = res.text().await.unwrap();
        assert!(body.contains(needle), "{path}");
        // Nothing loads from elsewhere (the SVG namespace is a name, not a fetch).
        let rest = body.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !rest.contains("http://") && !rest.contains("https://"),
            "{path}: no CDN"
        );

        // Revalidation: the browser's copy is current, so no body.
        let res = client()
            .get(server.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304, "{path}");
        assert_eq!(res.headers()["etag"], etag.as_str());
        assert!(res.bytes().await.unwrap().is_empty());

        let res = client().head(server.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "HEAD {path}");
    }
    // Only those three: anything else under /ui is behind the token like the rest (then a JSON
    // 404), and the files take GET and HEAD only.
    assert_eq!(server.get("/ui/other.js").await.status(), 401);
    let res = authed(&server, "/ui/other.js").send().await.unwrap();
    assert_eq!(error_of(res).await.0, "not_found");
    let res = server.post_empty("/ui").await;
    assert_eq!(res.status(), 405);
    assert_eq!(error_of(res).await.0, "method_not_allowed");
    // The data behind the page needs the token.
    for path in ["/graph", "/sessions", "/components", "/events"] {
        assert_eq!(server.get(path).await.status(), 401, "{path}");
    }
}

#[tokio::test]
async fn graph_endpoint_is_the_cli_graph_json() {
    let server = Server::start(&quickstart(), &["--auth-token", TOKEN]);
    let served = json_of(authed(&server, "/graph").send().await.unwrap()).await;
    let mut cmd = binary();
    cmd.arg("graph")
        .arg(quickstart())
        .args(["--format", "json"]);
    let out = run_bounded(cmd);
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(served, printed);
    let names: Vec<&str> = served["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["model", "assistant", "in", "out"]);
    assert!(served["routes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["from"] == "in" && r["to"] == "assistant"));
    assert_eq!(
        served["uses"],
        json!([{"from": "assistant", "to": "model"}])
    );
}

#[tokio::test]
async fn sessions_list_is_capped_most_recent_first_and_checks_its_limit() {
    let server = Server::start(&quickstart(), &[]);
    let list = json_of(server.get("/sessions").await).await;
    assert_eq!(list, json!({"total": 0, "sessions": []}));
    for id in ["s-one", "s-two", "s-three"] {
        let res = server
            .post_json("/in/input", &json!({"input": "hi", "session_id": id}))
            .await;
        assert_eq!(res.status(), 200);
    }
    // A second turn in the first session makes it the most recently active.
    let res = server
        .post_json(
            "/in/input",
            &json!({"input": "again", "session_id": "s-one"}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let list = json_of(server.get("/sessions").await).await;
    assert_eq!(list["total"], 3);
    let ids: Vec<&str> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["s-one", "s-three", "s-two"]);
    let first = &list["sessions"][0];
    assert_eq!(first["turns"], 2);
    assert_eq!(first["busy"], false);
    for key in ["created_at", "last_active", "queued"] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }

    let list = json_of(server.get("/sessions?limit=2").await).await;
    assert_eq!(list["total"], 3);
    assert_eq!(list["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(list["sessions"][0]["id"], "s-one");

    for bad in ["0", "501", "x", "-1"] {
        let res = server.get(&format!("/sessions?limit={bad}")).await;
        assert_eq!(res.status(), 400, "limit={bad}");
        let (code, message) = error_of(res).await;
        assert_eq!(code, "bad_query");
        assert!(
            message.contains("limit must be a whole number from 1 to 500"),
            "{message}"
        );
    }
    assert_eq!(
        client()
            .head(server.url("/sessions"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(server.delete("/sessions").await.status(), 405);
}

#[tokio::test]
async fn components_show_a_latency_once_work_was_timed() {
    let server = Server::start(&quickstart(), &[]);
    let before = json_of(server.get("/components/assistant").await).await;
    assert_eq!(before["latency_ms"], Value::Null, "{before}");
    let res = server
        .post_json("/in/input", &json!({"input": "time me"}))
        .await;
    assert_eq!(res.status(), 200);
    let after = json_of(server.get("/components/assistant").await).await;
    let ms = after["latency_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("a latency after a turn: {after}"));
    assert!(ms >= 0.0 && ms.is_finite(), "{after}");
}
