//! One retry budget per request, against the real binary and a loopback provider: a provider that
//! always fails is called at most 4 times per request and each failed request counts once on the
//! breaker; a provider 404 names the URL it came from and shows on the component; the dead-letter
//! queue keeps to its byte bound and `GET /dlq` pages through every letter exactly once.

use crate::common::{client, error_of, write_ww, Server};
use serde_json::{json, Value};
use std::collections::HashSet;

/// What a provider sends when it is down: 500 with OpenAI's error body.
fn always_500() -> crate::wire::Reply {
    crate::wire::Reply::json(
        500,
        r#"{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}"#,
    )
}

/// `brain` is an OpenAI client of `base_url`; `bot` an agent using it; `in` routes to `target`.
fn system(name: &str, base_url: &str, threshold: u32, target: &str) -> std::path::PathBuf {
    write_ww(
        name,
        &format!(
            r#"brain = llm openai {{
    api_key: "sk-test-key"
    model: "gpt-test"
    base_url: "{base_url}"
    circuit_breaker: {{ failure_threshold: {threshold}, reset_timeout_s: 600 }}
}}
bot = agent llm {{
    model: brain
    circuit_breaker: {{ failure_threshold: {threshold}, reset_timeout_s: 600 }}
}}
in = input command_line {{ to: {target} }}
"#
        ),
    )
}

async fn component(server: &Server, name: &str) -> Value {
    let res = server.get(&format!("/components/{name}")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn health_bus(server: &Server) -> Value {
    let v: Value = server.get("/health").await.json().await.unwrap();
    v["bus"].clone()
}

#[tokio::test]
async fn a_failing_provider_is_called_at_most_four_times_per_request_and_counted_once() {
    let provider = crate::wire::Server::start(vec![always_500()]).await;
    let ww = system("retries-llm", &format!("{}/v1", provider.url), 2, "brain");
    let server = Server::start(&ww, &[]);

    let res = server.post_json("/in/input", &json!({"input": "hi"})).await;
    assert_eq!(res.status(), 502);
    let (code, message) = error_of(res).await;
    assert_eq!(code, "component_failed");
    let calls = provider.requests().len();
    assert!(
        (1..=4).contains(&calls),
        "one request called the failing provider {calls} times: {message}"
    );
    // One failed request is one failure for the breaker (threshold 2): still closed.
    let brain = component(&server, "brain").await;
    assert_eq!(brain["breaker"], "closed", "{brain}");
    assert_eq!(brain["failed"], 1, "{brain}");
    assert!(
        brain["last_failure"].as_str().unwrap().contains("HTTP 500"),
        "{brain}"
    );

    // The second failed request opens it; the third is refused without calling the provider.
    let res = server.post_json("/in/input", &json!({"input": "hi"})).await;
    assert_eq!(res.status(), 502);
    assert!(provider.requests().len() - calls <= 4);
    assert_eq!(component(&server, "brain").await["breaker"], "open");
    let before = provider.requests().len();
    let res = server.post_json("/in/input", &json!({"input": "hi"})).await;
    assert_eq!(res.status(), 503);
    assert_eq!(provider.requests().len(), before);
}

#[tokio::test]
async fn an_agent_over_a_failing_provider_makes_at_most_four_calls_per_request() {
    let provider = crate::wire::Server::start(vec![always_500()]).await;
    let ww = system("retries-agent", &format!("{}/v1", provider.url), 2, "bot");
    let server = Server::start(&ww, &[]);

    let res = server.post_json("/in/input", &json!({"input": "hi"})).await;
    assert_eq!(res.status(), 502);
    let calls = provider.requests().len();
    assert!((1..=4).contains(&calls), "{calls} provider calls");
    // Each breaker counted the failed request once.
    for name in ["brain", "bot"] {
        let c = component(&server, name).await;
        assert_eq!(c["breaker"], "closed", "{c}");
        assert_eq!(c["failed"], 1, "{c}");
    }
}

#[tokio::test]
async fn a_provider_404_names_the_url_and_shows_on_the_component() {
    // `base_url` without `/v1`, the most common mistake; credentials in it never show.
    let provider = crate::wire::Server::start(vec![crate::wire::Reply::Body {
        status: 404,
        content_type: "text/plain; charset=utf-8",
        headers: Vec::new(),
        body: "404 page not found\n".into(),
    }])
    .await;
    let base = provider
        .url
        .replace("http://", "http://user:sk-in-the-url@");
    let ww = system("retries-404", &base, 1, "bot");
    let server = Server::start(&ww, &[]);
    let port = provider.url.rsplit(':').next().unwrap().to_string();
    let called = format!("http://127.0.0.1:{port}/chat/completions");

    for round in 1..=2 {
        let res = server.post_json("/in/input", &json!({"input": "hi"})).await;
        // A configuration error does not open the breaker (threshold 1): it stays a 502 that
        // says what is wrong, never a 503 "retry later".
        assert_eq!(res.status(), 502, "round {round}");
        let (code, message) = error_of(res).await;
        assert_eq!(code, "component_failed");
        assert!(message.contains(&called), "{message}");
        assert!(
            message.contains("expected an OpenAI-compatible /chat/completions endpoint"),
            "{message}"
        );
        assert!(message.contains("check `base_url`"), "{message}");
        assert!(!message.contains("sk-in-the-url"), "{message}");
        assert!(!message.contains("user@"), "{message}");
        // Not retryable: one call per request.
        assert_eq!(provider.requests().len(), round);
    }
    let brain = component(&server, "brain").await;
    assert_eq!(brain["failed"], 2, "{brain}");
    assert_eq!(brain["breaker"], "closed", "{brain}");
    let last = brain["last_failure"].as_str().unwrap_or_default();
    assert!(last.contains(&called), "{brain}");
    assert!(last.contains("check `base_url`"), "{brain}");
    assert!(!brain.to_string().contains("sk-in-the-url"), "{brain}");
}

/// A system whose model always fails (retryable): every input ends in the dead-letter queue.
fn dead_letter_system() -> std::path::PathBuf {
    write_ww(
        "retries-dlq",
        r#"model = llm mock {
    replies: [{ error: "server_error" }]
    circuit_breaker: { failure_threshold: 100000 }
}
in = input command_line { to: model }
"#,
    )
}

#[tokio::test]
async fn the_dead_letter_queue_keeps_its_byte_bound_and_pages_every_letter_once() {
    let server = Server::start(&dead_letter_system(), &["--dlq-max-bytes", "8KiB"]);
    let inputs = 24;
    let sends = (0..inputs).map(|i| {
        let server = &server;
        async move {
            let text = format!("{i:04}{}", "x".repeat(1000));
            let res = server
                .post_json(
                    "/in/input",
                    &json!({"input": text, "session_id": format!("dlq-{i}")}),
                )
                .await;
            assert_eq!(res.status(), 502);
        }
    });
    futures_util::future::join_all(sends).await;

    let bus = health_bus(&server).await;
    assert_eq!(bus["dead_lettered"], inputs, "{bus}");
    let held = bus["dlq_bytes"].as_u64().expect("dlq_bytes in the stats");
    assert!(held <= 8 * 1024, "{bus}");
    let kept = bus["dlq_len"].as_u64().unwrap();
    assert!(kept >= 1 && kept < inputs, "{bus}");
    assert_eq!(bus["dlq_dropped"].as_u64().unwrap(), inputs - kept, "{bus}");
    // The same figures on /metrics.
    let metrics = server.get("/metrics").await.text().await.unwrap();
    for line in [
        format!("woodwork_dlq_dropped_total {}", inputs - kept),
        format!("woodwork_dlq_letters {kept}"),
        format!("woodwork_dlq_bytes {held}"),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in\n{metrics}"
        );
    }

    // Page through with limit 3, following the `next` link until there is none.
    let mut seen = Vec::new();
    let mut next = Some("/dlq?limit=3".to_string());
    let mut pages = 0;
    while let Some(path) = next.take() {
        pages += 1;
        assert!(pages <= 100, "paging does not end");
        let res = server.get(&path).await;
        assert_eq!(res.status(), 200);
        let total: u64 = res.headers()["x-total-count"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(total, kept);
        next = res
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string())
            .and_then(|l| {
                l.strip_prefix('<')
                    .and_then(|l| l.split_once(">; rel=\"next\""))
                    .map(|(url, _)| url.to_string())
            });
        let page: Vec<Value> = res.json().await.unwrap();
        assert!(page.len() <= 3, "a page of {}", page.len());
        for letter in page {
            assert_eq!(letter["reason"], "retries_exhausted", "{letter}");
            assert!(
                letter["message"]
                    .as_str()
                    .unwrap()
                    .contains("retries exhausted"),
                "{letter}"
            );
            seen.push(letter["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen.len() as u64, kept, "{seen:?}");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());

    // The default page is the whole (small) queue; a limit over 1000 is refused.
    let all: Vec<Value> = server.get("/dlq").await.json().await.unwrap();
    assert_eq!(all.len() as u64, kept);
    let res = server.get("/dlq?limit=5000").await;
    assert_eq!(res.status(), 400);
    assert_eq!(error_of(res).await.0, "bad_query");
    let res = client()
        .get(server.url("/dlq?after=not-a-cursor"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
