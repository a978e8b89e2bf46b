//! Embedding servers that fail, lie or refuse; settings and calls that are wrong: every case is a
//! clear error (what, where, how to fix) with no secret in it, and nothing is lost.

mod common;

use common::scenario::{query, request, settings, sources, started};
use common::*;
use serde_json::json;
use woodwork_knowledge::{ChromaKb, Store};
use woodwork_tools::{Readiness, ToolBackend, ToolError};

const KEY: &str = "sk-test-key-123";

fn embedded(dir: &tempfile::TempDir) -> Store {
    Store::Embedded {
        dir: dir.path().into(),
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_the_server_answers() {
    let docs = fixture_folder();
    let store = tempfile::tempdir().unwrap();
    let server = EmbedServer::start(Flavour::OpenAi).await;
    server.script(vec![
        Reply::Status(500, "boom".into()),
        Reply::Status(429, "slow down".into()),
    ]);
    let kb = started(settings(docs.path(), embedded(&store), &server)).await;
    // 5 chunks fit one batch: one request, asked three times.
    assert_eq!(server.requests(), 3);
    let answer = query(&kb, "sourdough starter", Some(1)).await;
    assert_eq!(sources(&answer), ["sourdough.md"]);
}

#[tokio::test]
async fn a_refused_key_is_a_clear_start_error_without_the_key() {
    let docs = fixture_folder();
    let store = tempfile::tempdir().unwrap();
    let server = EmbedServer::start(Flavour::OpenAi).await;
    server.always(Some(Reply::Status(
        401,
        json!({"error": {"message": format!("Incorrect API key provided: {KEY}")}}).to_string(),
    )));
    let kb = ChromaKb::new(settings(docs.path(), embedded(&store), &server)).unwrap();
    let err = kb.start().await.unwrap_err().to_string();
    assert!(
        err.contains(&format!("{}/embeddings", server.base_url)),
        "names the URL: {err}"
    );
    assert!(
        err.contains("401") && err.contains("API key"),
        "says why and what to fix: {err}"
    );
    assert!(!err.contains(KEY), "the key leaked: {err}");
    assert_eq!(server.requests(), 1, "a 401 is not retried");
    match kb.readiness() {
        Readiness::Down(cause) => assert!(cause.contains("401") && !cause.contains(KEY), "{cause}"),
        other => panic!("readiness after a failed start: {other:?}"),
    }
    let err = kb
        .call(request("query", json!({"query": "x"})))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Unavailable(_)), "{err}");
}

#[tokio::test]
async fn garbage_from_the_embedding_server_is_a_clear_error() {
    let docs = fixture_folder();
    let store = tempfile::tempdir().unwrap();
    let server = EmbedServer::start(Flavour::OpenAi).await;
    server.always(Some(Reply::Garbage));
    let kb = ChromaKb::new(settings(docs.path(), embedded(&store), &server)).unwrap();
    let err = kb.start().await.unwrap_err().to_string();
    assert!(
        err.contains("not embeddings JSON") && err.contains("base URL"),
        "{err}"
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn an_unreachable_embedding_server_is_retried_then_named() {
    let docs = fixture_folder();
    let store = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut s = ChromaKb::new(settings(
        docs.path(),
        embedded(&store),
        &EmbedServer::start(Flavour::OpenAi).await,
    ))
    .unwrap()
    .settings()
    .clone();
    s.embedder = woodwork_knowledge::EmbedderSettings::openai(
        format!("http://{closed}/v1"),
        Some(KEY.into()),
    );
    let kb = ChromaKb::new(s).unwrap();
    let err = kb.start().await.unwrap_err().to_string();
    assert!(
        err.contains(&format!("http://{closed}/v1/embeddings")) && err.contains("after 4 attempts"),
        "{err}"
    );
    assert!(err.contains("running"), "says how to fix: {err}");
}

#[tokio::test]
async fn failed_embeddings_mid_ingest_keep_what_was_stored() {
    let docs = fixture_folder();
    let store = tempfile::tempdir().unwrap();
    let server = EmbedServer::start(Flavour::OpenAi).await;
    drop(started(settings(docs.path(), embedded(&store), &server)).await);
    // A changed file while the server is down: the start fails, the old store is still whole.
    std::fs::write(docs.path().join("chess.md"), "rook endgame").unwrap();
    server.always(Some(Reply::Status(400, "bad model".into())));
    let kb = ChromaKb::new(settings(docs.path(), embedded(&store), &server)).unwrap();
    let err = kb.start().await.unwrap_err().to_string();
    assert!(
        err.contains("400") && err.contains("embedding model"),
        "{err}"
    );
    server.always(None);
    let kb = started(settings(docs.path(), embedded(&store), &server)).await;
    let report = kb.last_ingest().unwrap();
    assert_eq!(
        report.embedded,
        ["chess.md"],
        "only the file that failed is embedded now: {report}"
    );
}

#[tokio::test]
async fn bad_calls_and_settings_say_what_to_do() {
    let docs = fixture_folder();
    let store = tempfile::tempdir().unwrap();
    let server = EmbedServer::start(Flavour::OpenAi).await;
    let kb = started(settings(docs.path(), embedded(&store), &server)).await;
    let err = kb
        .call(request("query", json!({"question": "bread"})))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("needs `query`") && err.contains("question"),
        "{err}"
    );
    let err = kb
        .call(request("query", json!({"query": "bread", "n": "lots"})))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("`n` must be a whole number"), "{err}");
    let err = kb
        .call(request("query", json!({"query": "   "})))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty"), "{err}");
    let err = kb
        .call(request("forget", json!({})))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no action `forget`") && err.contains("query, ingest"),
        "{err}"
    );
    assert!(!kb.description().contains(KEY) && kb.description().contains("query"));
    let debug = format!("{:?}", kb.settings());
    assert!(!debug.contains(KEY), "{debug}");

    // A missing file_to_embed fails the start naming the path.
    let mut s = settings(&docs.path().join("nope"), embedded(&store), &server);
    s.collection = "other".into();
    let err = ChromaKb::new(s)
        .unwrap()
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("file_to_embed") && err.contains("nope"),
        "{err}"
    );

    // Settings that cannot work are refused when built.
    let mut s = settings(docs.path(), embedded(&store), &server);
    s.overlap = s.chunk_chars;
    assert!(ChromaKb::new(s)
        .err()
        .unwrap_or_default()
        .contains("overlap"));
    let s = settings(docs.path(), Store::server("http://127.0.0.1:1"), &server);
    let mut s2 = s.clone();
    s2.collection = "x".into();
    assert!(ChromaKb::new(s2)
        .err()
        .unwrap_or_default()
        .contains("collection name"));
}

#[tokio::test]
async fn an_unreachable_chroma_server_says_how_to_start_one() {
    let docs = fixture_folder();
    let server = EmbedServer::start(Flavour::OpenAi).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = settings(
        docs.path(),
        Store::server(format!("http://user:pw-secret@{closed}")),
        &server,
    );
    let err = ChromaKb::new(s)
        .unwrap()
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("http://{closed}/")) && err.contains("chroma run"),
        "{err}"
    );
    assert!(!err.contains("pw-secret"), "{err}");
    assert_eq!(server.requests(), 0);
}
