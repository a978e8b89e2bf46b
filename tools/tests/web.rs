//! `api web` against a real HTTP server on 127.0.0.1: how inputs, headers and actions reach the
//! server, and how every kind of bad answer (status, silence, flood, redirect loop) becomes an
//! observation.

#[path = "fixtures/web/server.rs"]
mod server;

use serde_json::{json, Value};
use std::time::Duration;
use woodwork_tools::observation::MAX_OBSERVATION;
use woodwork_tools::web::{Method, WebApi, WebSettings};
use woodwork_tools::{Readiness, ToolBackend, ToolError, ToolRequest};

fn req(action: Option<&str>, inputs: Value) -> ToolRequest {
    ToolRequest {
        action: action.map(str::to_string),
        inputs,
        session_id: "s".into(),
    }
}

async fn api(settings: WebSettings) -> WebApi {
    let api = WebApi::new(settings);
    api.start().await.expect("valid settings start");
    api
}

fn failed(r: Result<String, ToolError>) -> String {
    match r {
        Err(ToolError::Failed(m)) => m,
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn query_pairs(q: &str) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("http://x/?{q}")).unwrap();
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn get_sends_inputs_as_a_query_and_the_headers_as_given() {
    let srv = server::start().await;
    let mut s = WebSettings::new("weather", srv.url("/api?key=base"));
    s.headers = vec![
        ("Authorization".into(), "Bearer s3cret".into()),
        ("X-Api-Key".into(), "k-123".into()),
    ];
    let api = api(s).await;
    let inputs = json!({"q": "a b&c", "n": 3, "ok": true, "tags": ["x", "y"], "filter": {"k": 1}, "none": null});
    let out = api.call(req(Some("users/42"), inputs)).await.unwrap();
    let echoed: Value = serde_json::from_str(&out).expect("the body as is");
    assert_eq!(echoed["path"], "/api/users/42");
    let r = &srv.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/api/users/42");
    let want: Vec<(String, String)> = [
        ("filter", r#"{"k":1}"#),
        ("key", "base"),
        ("n", "3"),
        ("ok", "true"),
        ("q", "a b&c"),
        ("tags", "x"),
        ("tags", "y"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(query_pairs(r.query.as_deref().unwrap()), want);
    assert_eq!(r.header("authorization"), Some("Bearer s3cret"));
    assert_eq!(r.header("x-api-key"), Some("k-123"));
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn post_put_patch_send_a_json_body_and_delete_a_query() {
    let srv = server::start().await;
    for method in [Method::Post, Method::Put, Method::Patch, Method::Delete] {
        let mut s = WebSettings::new("w", srv.url("/api/"));
        s.method = method;
        let api = api(s).await;
        let inputs = json!({"name": "Ada", "tags": [1, 2], "nested": {"a": null}});
        api.call(req(Some("items"), inputs.clone())).await.unwrap();
        let r = srv.requests().pop().unwrap();
        assert_eq!(r.method, method.as_str());
        assert_eq!(r.path, "/api/items");
        if method == Method::Delete {
            assert!(r.body.is_empty());
            assert!(r.query.unwrap().contains("name=Ada"));
        } else {
            assert_eq!(r.header("content-type"), Some("application/json"));
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body, inputs);
            assert_eq!(r.query, None);
        }
    }
}

#[tokio::test]
async fn actions_join_the_url_path_and_escapes_are_refused() {
    let srv = server::start().await;
    let api = api(WebSettings::new("w", srv.url("/api/"))).await;
    api.call(req(Some("/x/y"), Value::Null)).await.unwrap();
    api.call(req(None, Value::Null)).await.unwrap();
    let paths: Vec<String> = srv.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/api/x/y", "/api/"]);
    for bad in [
        "../x",
        "x/../../admin",
        "x?admin=1",
        "x#y",
        "http://evil.example/",
        "a b",
        "%2e%2e/x",
    ] {
        let m = failed(api.call(req(Some(bad), Value::Null)).await);
        assert!(m.starts_with(&format!("action `{bad}` ")), "{m}");
        assert!(m.contains("a path appended to http://127.0.0.1"), "{m}");
    }
    assert_eq!(srv.requests().len(), 2, "refused actions send nothing");
}

#[tokio::test]
async fn non_2xx_answers_are_error_observations_without_the_query() {
    let srv = server::start().await;
    let api = api(WebSettings::new("w", srv.url("/status?key=secret"))).await;
    let m = failed(api.call(req(Some("404"), Value::Null)).await);
    assert_eq!(
        m,
        format!(
            "HTTP 404 Not Found from {}: no such thing",
            srv.url("/status/404")
        )
    );
    let m = failed(api.call(req(Some("500"), Value::Null)).await);
    let prefix = format!(
        "HTTP 500 Internal Server Error from {}: ",
        srv.url("/status/500")
    );
    assert!(m.starts_with(&prefix), "{m}");
    assert_eq!(m[prefix.len()..], format!("{}…", "e".repeat(500)));
    assert!(!m.contains("secret"));
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    let srv = server::start().await;
    let mut s = WebSettings::new("w", srv.url("/hang"));
    s.timeout = Duration::from_millis(500);
    let api = api(s).await;
    match api.call(req(None, Value::Null)).await {
        Err(ToolError::Timeout(d)) => assert_eq!(d, Duration::from_millis(500)),
        other => panic!("expected Timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_ten_megabyte_body_is_read_up_to_the_cap_and_clipped() {
    let srv = server::start().await;
    let api = api(WebSettings::new("w", srv.url("/big"))).await;
    let out = api.call(req(None, Value::Null)).await.unwrap();
    assert!(out.starts_with("zzzz"));
    assert!(out.len() <= MAX_OBSERVATION + 64, "{} bytes", out.len());
    assert!(
        out.ends_with(" …(truncated: more than 1048576 bytes)"),
        "{}",
        &out[out.len() - 50..]
    );
}

#[tokio::test]
async fn an_endless_body_ends_at_the_cap() {
    let srv = server::start().await;
    let mut s = WebSettings::new("w", srv.url("/endless"));
    s.max_response = 100_000;
    s.timeout = Duration::from_secs(60);
    let api = api(s).await;
    let out = api.call(req(None, Value::Null)).await.unwrap();
    assert!(
        out.ends_with(" …(truncated: more than 100000 bytes)"),
        "{}",
        &out[out.len() - 50..]
    );
}

#[tokio::test]
async fn a_redirect_loop_is_a_clear_error_and_five_hops_are_followed() {
    let srv = server::start().await;
    let api = api(WebSettings::new("w", srv.url("/"))).await;
    let m = failed(api.call(req(Some("loop"), Value::Null)).await);
    assert!(
        m.starts_with(&format!(
            "{} redirected more than 5 times",
            srv.url("/loop")
        )),
        "{m}"
    );
    assert_eq!(
        api.call(req(Some("hop/5"), Value::Null)).await.unwrap(),
        "arrived"
    );
    let m = failed(api.call(req(Some("hop/6"), Value::Null)).await);
    assert!(m.contains("redirected more than 5 times"), "{m}");
}

#[tokio::test]
async fn a_redirect_to_another_host_does_not_carry_the_headers_there() {
    let srv = server::start().await;
    let other = server::start().await;
    *srv.elsewhere.lock().unwrap() = other.url("/landing");
    let mut s = WebSettings::new("w", srv.url("/elsewhere"));
    s.headers = vec![("Authorization".into(), "Bearer s3cret".into())];
    let api = api(s).await;
    let m = failed(api.call(req(None, Value::Null)).await);
    assert!(m.starts_with("HTTP 302 Found from http://127.0.0.1"), "{m}");
    assert!(
        m.contains(&format!("redirect to http://{} not followed", other.addr)),
        "{m}"
    );
    assert!(!m.contains("s3cret"));
    assert!(
        other.requests().is_empty(),
        "nothing reached the other host"
    );
    // Without headers there is nothing to leak: the redirect is followed.
    let plain = api_plain(srv.url("/elsewhere")).await;
    plain.call(req(None, Value::Null)).await.unwrap();
    assert_eq!(other.requests()[0].path, "/landing");
}

async fn api_plain(url: String) -> WebApi {
    api(WebSettings::new("w", url)).await
}

#[tokio::test]
async fn an_unreachable_server_is_named_without_credentials_or_query() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://user:pw@127.0.0.1:{port}/api?token=secret");
    let api = api(WebSettings::new("w", url)).await;
    let m = failed(api.call(req(Some("x"), Value::Null)).await);
    assert!(
        m.starts_with(&format!(
            "cannot connect to http://127.0.0.1:{port}/api/x: "
        )),
        "{m}"
    );
    assert!(m.to_lowercase().contains("refused"), "{m}");
    assert!(!m.contains("pw") && !m.contains("secret"), "{m}");
}

#[tokio::test]
async fn empty_binary_and_non_object_inputs() {
    let srv = server::start().await;
    let api = api(WebSettings::new("w", srv.url("/"))).await;
    assert_eq!(
        api.call(req(Some("empty"), Value::Null)).await.unwrap(),
        "HTTP 204 No Content (no body)"
    );
    let out = api.call(req(Some("binary"), Value::Null)).await.unwrap();
    assert_eq!(
        out,
        "binary response (application/octet-stream, 4 bytes); this tool shows text only"
    );
    let m = failed(api.call(req(Some("x"), json!([1]))).await);
    assert!(m.contains("inputs must be a JSON object"), "{m}");
}

#[tokio::test]
async fn start_checks_the_url_and_headers_and_says_what_is_wrong() {
    for (url, want) in [
        ("ftp://files.example/x", "has scheme `ftp`"),
        ("not a url", "is not a valid URL"),
        ("http://", "is not a valid URL"),
    ] {
        let api = WebApi::new(WebSettings::new("w", url));
        let m = failed(api.start().await.map(|_| String::new()));
        assert!(m.starts_with("api web `w`: url `"), "{m}");
        assert!(m.contains(want), "{url}: {m}");
        assert!(matches!(api.readiness(), Readiness::Down(_)));
        assert!(matches!(
            api.call(req(None, Value::Null)).await,
            Err(ToolError::Unavailable(_))
        ));
    }
    let mut s = WebSettings::new("w", "http://127.0.0.1:1/");
    s.headers = vec![("X-Key".into(), "line\nbreak-secret".into())];
    let m = failed(WebApi::new(s).start().await.map(|_| String::new()));
    assert!(m.contains("header `X-Key`") && !m.contains("secret"), "{m}");
    let ok = WebApi::new(WebSettings::new("w", "https://api.example/v1"));
    assert_eq!(ok.readiness(), Readiness::Starting);
    ok.start().await.unwrap();
    assert_eq!(ok.readiness(), Readiness::Ready);
}

#[test]
fn description_and_debug_never_show_secrets() {
    let mut s = WebSettings::new("w", "https://u:pw@api.example/v1?key=secret");
    s.headers = vec![("Authorization".into(), "Bearer s3cret".into())];
    s.method = Method::Post;
    let d = WebApi::new(s.clone()).description();
    assert!(d.contains("POST https://api.example/v1"), "{d}");
    assert!(d.contains("JSON request body"), "{d}");
    let debug = format!("{s:?}");
    for secret in ["pw", "secret", "s3cret"] {
        assert!(
            !d.contains(secret) && !debug.contains(secret),
            "{d}\n{debug}"
        );
    }
    assert!(debug.contains("Authorization"), "{debug}");
    s.documentation = Some("Weather API: GET /forecast?city=…".into());
    assert_eq!(
        WebApi::new(s).description(),
        "Weather API: GET /forecast?city=…"
    );
    assert_eq!("patch".parse::<Method>(), Ok(Method::Patch));
    assert!("TRACE".parse::<Method>().unwrap_err().contains("GET, POST"));
}
