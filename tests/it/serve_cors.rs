//! `--cors-origin`: only the listed origins get CORS headers and answered preflights (before
//! auth: a browser sends no token on a preflight); none by default; a bad value stops `serve`.

use crate::common::{binary, client, error_of, quickstart, run_bounded, Server};

const ALLOWED: &str = "http://app.example.test:3000";
const OTHER: &str = "https://evil.example.test";

fn preflight(server: &Server, path: &str, origin: &str) -> reqwest::RequestBuilder {
    client()
        .request(reqwest::Method::OPTIONS, server.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
}

fn allow_origin(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn listed_origins_get_cors_headers_and_preflights_others_do_not() {
    let server = Server::start_with(
        &quickstart(),
        &[
            "--cors-origin",
            ALLOWED,
            "--cors-origin",
            "http://second.test",
        ],
        &[("WOODWORK_AUTH_TOKEN", "s3cret")],
    );
    // Preflight from an allowed origin: answered here, without the token.
    let res = preflight(&server, "/in/input", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(allow_origin(&res).as_deref(), Some(ALLOWED));
    let methods = res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let headers = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(headers.contains("authorization"), "{headers}");
    assert!(res.headers().contains_key("access-control-max-age"));

    // Preflight from another origin: refused, saying how to allow it.
    let res = preflight(&server, "/in/input", OTHER).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(allow_origin(&res), None);
    let (code, message) = error_of(res).await;
    assert_eq!(code, "cors_origin_denied");
    assert!(message.contains("--cors-origin"), "{message}");

    // Actual requests: the allowed origin gets the headers (on errors too, so a page can read
    // them), another origin gets none; both are still served or refused by auth as usual.
    let res = client()
        .post(server.url("/in/input"))
        .header("origin", ALLOWED)
        .bearer_auth("s3cret")
        .json(&serde_json::json!({"input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(allow_origin(&res).as_deref(), Some(ALLOWED));
    assert!(res.headers()["vary"].to_str().unwrap().contains("Origin"));
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("retry-after"), "{exposed}");
    let res = client()
        .get(server.url("/health"))
        .header("origin", "http://second.test")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        401,
        "no token: refused, and the page may read why"
    );
    assert_eq!(allow_origin(&res).as_deref(), Some("http://second.test"));
    let res = client()
        .get(server.url("/health"))
        .header("origin", OTHER)
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(allow_origin(&res), None);
}

#[tokio::test]
async fn without_the_flag_no_origin_gets_cors_headers() {
    let server = Server::start(&quickstart(), &[]);
    let res = preflight(&server, "/in/input", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 204);
    assert_eq!(allow_origin(&res), None);
    let res = client()
        .get(server.url("/health"))
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(allow_origin(&res), None);
}

#[tokio::test]
async fn a_star_allows_any_origin_and_a_bad_value_stops_serve() {
    let server = Server::start(&quickstart(), &["--cors-origin", "*"]);
    let res = preflight(&server, "/events", OTHER).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(allow_origin(&res).as_deref(), Some(OTHER));

    let mut cmd = binary();
    cmd.arg("serve").arg(quickstart()).args([
        "--port",
        "0",
        "--cors-origin",
        "app.example.test/path",
    ]);
    let out = run_bounded(cmd);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--cors-origin") && err.contains("scheme://host"),
        "{err}"
    );
}
