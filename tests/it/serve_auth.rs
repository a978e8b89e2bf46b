//! Bearer-token auth: everything but /livez and /readyz needs it; 401 with WWW-Authenticate;
//! the token never appears in any response or log line.

use crate::common::{client, error_of, quickstart, Server};
use serde_json::json;

const TOKEN: &str = "tok-4f9a1c-secret";

async fn check_guarded(server: &Server) {
    for path in ["/livez", "/readyz"] {
        let res = server.get(path).await;
        assert_eq!(res.status(), 200, "{path} is open");
    }
    for path in [
        "/health",
        "/components",
        "/metrics",
        "/dlq",
        "/sessions/abc",
        "/nowhere",
    ] {
        let res = server.get(path).await;
        assert_eq!(res.status(), 401, "{path} without a token");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let (code, message) = error_of(res).await;
        assert_eq!(code, "unauthorized");
        assert!(!message.contains(TOKEN));
        let res = client()
            .get(server.url(path))
            .bearer_auth("wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path} with a wrong token");
    }
    let res = server.post_json("/in/input", &json!({"input": "hi"})).await;
    assert_eq!(res.status(), 401);
    let res = client()
        .post(server.url("/in/input"))
        .bearer_auth(TOKEN)
        .json(&json!({"input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client()
        .get(server.url("/health"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(!body.contains(TOKEN));
    assert!(!server.logs().contains(TOKEN), "the token is never logged");
}

#[tokio::test]
async fn token_from_the_command_line() {
    let server = Server::start(&quickstart(), &["--auth-token", TOKEN]);
    check_guarded(&server).await;
}

#[tokio::test]
async fn token_from_the_environment() {
    let server = Server::start_with(&quickstart(), &[], &[("WOODWORK_AUTH_TOKEN", TOKEN)]);
    check_guarded(&server).await;
}

#[tokio::test]
async fn no_token_means_open() {
    let server = Server::start(&quickstart(), &[]);
    let res = server.get("/health").await;
    assert_eq!(res.status(), 200);
}
