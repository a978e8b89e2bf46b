//! `knowledge_base chroma` against a real Chroma server (`.venv/bin/chroma run`, chromadb 1.5):
//! the same story as the embedded store, checked also from Chroma's side.

mod common;

use common::scenario::{request, settings, started};
use common::*;
use serde_json::json;
use woodwork_knowledge::Store;
use woodwork_tools::ToolBackend;

/// Records of `file` in the collection, asked of Chroma directly.
async fn records_of(url: &str, collection: &str, file: &str) -> usize {
    let client = reqwest::Client::new();
    let base =
        format!("{url}/api/v2/tenants/default_tenant/databases/default_database/collections");
    let c: serde_json::Value = client
        .get(format!("{base}/{collection}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = c["id"].as_str().unwrap();
    let got: serde_json::Value = client
        .post(format!("{base}/{id}/get"))
        .json(&json!({"where": {"file": file}, "include": ["metadatas"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    got["ids"].as_array().unwrap().len()
}

#[tokio::test]
async fn chroma_server_answers_best_first_and_reembeds_only_changed_files() {
    let chroma = ChromaProcess::start().await;
    let url = chroma.url.clone();
    common::scenario::run(move || Store::server(url.clone())).await;
    assert_eq!(
        records_of(&chroma.url, "woodwork", "volcanoes.md").await,
        0,
        "the deleted file's chunks are gone"
    );
    assert_eq!(records_of(&chroma.url, "woodwork", "sourdough.md").await, 2);
    assert_eq!(
        records_of(&chroma.url, "woodwork", "chess.md").await,
        1,
        "old chess chunks replaced, not added to"
    );
}

#[tokio::test]
async fn records_chroma_did_not_get_from_us_are_left_alone_and_errors_are_clear() {
    let chroma = ChromaProcess::start().await;
    let server = EmbedServer::start(Flavour::OpenAi).await;
    let docs = fixture_folder();
    let mut s = settings(docs.path(), Store::server(chroma.url.clone()), &server);
    s.collection = "shared-notes".into();
    let kb = started(s.clone()).await;

    // Someone else's record in the same collection (no `file` metadata): never deleted by an ingest.
    let client = reqwest::Client::new();
    let base = format!(
        "{}/api/v2/tenants/default_tenant/databases/default_database/collections",
        chroma.url
    );
    let c: serde_json::Value = client
        .get(format!("{base}/shared-notes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = c["id"].as_str().unwrap().to_string();
    let foreign = client
        .post(format!("{base}/{id}/upsert"))
        .json(&json!({"ids": ["theirs"], "embeddings": [embed_text("foreign record")], "documents": ["foreign record"]}))
        .send()
        .await
        .unwrap();
    assert!(foreign.status().is_success());
    std::fs::remove_file(docs.path().join("chess.md")).unwrap();
    kb.call(request("ingest", json!({}))).await.unwrap();
    let count: serde_json::Value = client
        .get(format!("{base}/{id}/count"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        count,
        json!(5),
        "sourdough (2) + volcanoes + ownership + theirs"
    );
    let theirs: serde_json::Value = client
        .post(format!("{base}/{id}/get"))
        .json(&json!({"ids": ["theirs"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["ids"], json!(["theirs"]));
    assert_eq!(records_of(&chroma.url, "shared-notes", "chess.md").await, 0);

    // A collection holding vectors of another length: the start error says so, from Chroma.
    let made = client
        .post(base.clone())
        .json(&json!({"name": "other-dims", "get_or_create": true}))
        .send()
        .await
        .unwrap();
    let other: serde_json::Value = made.json().await.unwrap();
    let other_id = other["id"].as_str().unwrap();
    let put = client
        .post(format!("{base}/{other_id}/upsert"))
        .json(&json!({"ids": ["x"], "embeddings": [[1.0, 0.0, 0.0]], "documents": ["x"]}))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let mut wrong = s.clone();
    wrong.collection = "other-dims".into();
    let kb2 = woodwork_knowledge::ChromaKb::new(wrong).unwrap();
    let err = kb2.start().await.unwrap_err().to_string();
    assert!(
        err.contains("knowledge base `docs`") && err.contains("dimension"),
        "{err}"
    );
    assert!(!err.contains("sk-test-key-123"), "{err}");
}
