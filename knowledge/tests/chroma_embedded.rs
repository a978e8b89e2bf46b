//! `knowledge_base chroma` with the embedded store: real files, a real embedding server on
//! loopback, the store on disk.

mod common;

use common::scenario::{query, request, settings, sources, started};
use common::*;
use serde_json::json;
use woodwork_knowledge::{
    ChromaKb, ChromaSettings, EmbedderSettings, EmbeddingApi, KnowledgeBase, Store,
};
use woodwork_tools::{Readiness, ToolBackend, ToolError};

#[tokio::test]
async fn embedded_store_answers_best_first_and_reembeds_only_changed_files() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().to_path_buf();
    common::scenario::run(move || Store::Embedded {
        dir: store_dir.clone(),
    })
    .await;
    let files: Vec<String> = std::fs::read_dir(dir.path().join("woodwork"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.contains(&"index.json".to_string()), "{files:?}");
    assert_eq!(
        files.iter().filter(|f| f.starts_with("vectors-")).count(),
        1,
        "old generations removed: {files:?}"
    );
    assert!(!files.iter().any(|f| f.ends_with(".tmp")), "{files:?}");
}

#[tokio::test]
async fn readiness_is_starting_until_the_files_are_embedded() {
    let docs = fixture_folder();
    let store = tempfile::tempdir().unwrap();
    let server = EmbedServer::start(Flavour::OpenAi).await;
    let gate = server.hold();
    let kb = ChromaKb::new(settings(
        docs.path(),
        Store::Embedded {
            dir: store.path().into(),
        },
        &server,
    ))
    .unwrap();
    let starting = tokio::spawn(kb.start());
    for _ in 0..2000 {
        if server.requests() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        server.requests() > 0,
        "the ingest never asked for embeddings"
    );
    assert_eq!(kb.readiness(), Readiness::Starting);
    let err = kb
        .call(request("query", json!({"query": "bread"})))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolError::Unavailable(m) if m.contains("still embedding")),
        "{err}"
    );
    gate.add_permits(10_000);
    starting
        .await
        .unwrap()
        .expect("start finishes once embeddings arrive");
    assert_eq!(kb.readiness(), Readiness::Ready);
}

#[tokio::test]
async fn ollama_embeddings_work_the_same() {
    let docs = fixture_folder();
    let store = tempfile::tempdir().unwrap();
    let server = EmbedServer::start(Flavour::Ollama).await;
    let mut s = ChromaSettings::new(
        "docs",
        Store::Embedded {
            dir: store.path().into(),
        },
        EmbedderSettings {
            api: EmbeddingApi::Ollama {
                base_url: server.base_url.clone(),
            },
            model: "nomic-embed-text".into(),
        },
    );
    s.source = Some(docs.path().into());
    let kb = started(s).await;
    let answer = query(&kb, "sourdough starter fermentation", Some(2)).await;
    assert_eq!(sources(&answer)[0], "sourdough.md", "{answer}");
    assert!(server.seen.auth.lock().unwrap().iter().all(Option::is_none));
}

#[tokio::test]
async fn an_empty_store_says_so_without_asking_for_embeddings() {
    let store = tempfile::tempdir().unwrap();
    let server = EmbedServer::start(Flavour::OpenAi).await;
    let s = ChromaSettings::new(
        "empty",
        Store::Embedded {
            dir: store.path().into(),
        },
        EmbedderSettings::openai(server.base_url.clone(), None),
    );
    let kb = started(s).await;
    let out = kb
        .call(request("query", json!({"query": "anything"})))
        .await
        .unwrap();
    assert_eq!(out, "the knowledge base is empty");
    assert_eq!(server.requests(), 0);
    let kb = KnowledgeBase::Chroma(std::sync::Arc::new(kb));
    assert!(kb.retrieve("anything", 3).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_new_model_or_an_unreadable_store_embeds_everything_again() {
    let docs = fixture_folder();
    let store = tempfile::tempdir().unwrap();
    let server = EmbedServer::start(Flavour::OpenAi).await;
    let embedded = Store::Embedded {
        dir: store.path().into(),
    };
    drop(started(settings(docs.path(), embedded.clone(), &server)).await);

    let mut other_model = settings(docs.path(), embedded.clone(), &server);
    other_model.embedder.model = "text-embedding-3-large".into();
    let kb = started(other_model).await;
    assert_eq!(kb.last_ingest().unwrap().embedded.len(), 4);
    drop(kb);

    std::fs::write(store.path().join("woodwork/index.json"), b"{ torn").unwrap();
    let kb = started(settings(docs.path(), embedded, &server)).await;
    assert_eq!(kb.last_ingest().unwrap().embedded.len(), 4);
    let answer = query(&kb, "volcano lava", Some(1)).await;
    assert_eq!(sources(&answer), ["volcanoes.md"], "{answer}");
}

#[tokio::test]
async fn a_single_file_source_is_embedded_under_its_name() {
    let docs = fixture_folder();
    let store = tempfile::tempdir().unwrap();
    let server = EmbedServer::start(Flavour::OpenAi).await;
    let mut s = settings(
        docs.path(),
        Store::Embedded {
            dir: store.path().into(),
        },
        &server,
    );
    s.source = Some(docs.path().join("chess.md"));
    let kb = started(s).await;
    let answer = query(&kb, "sourdough bread", None).await;
    assert_eq!(
        sources(&answer),
        ["chess.md"],
        "only the one file is stored: {answer}"
    );
}
