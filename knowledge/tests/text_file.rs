//! `knowledge_base text_file`: read, write (replaces, as the Python engine does), query by
//! words, and files that are missing, huge or not regular files.

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use woodwork_knowledge::{render_hits, KnowledgeBase, TextFileKb, TextFileSettings};
use woodwork_tools::{Readiness, ToolBackend, ToolError, ToolRequest};

fn kb(path: std::path::PathBuf) -> TextFileKb {
    TextFileKb::new(TextFileSettings {
        name: "notes".into(),
        path,
    })
}

async fn call(kb: &TextFileKb, action: &str, inputs: Value) -> Result<String, ToolError> {
    let req = ToolRequest {
        action: Some(action.into()),
        inputs,
        session_id: "s".into(),
    };
    // A guard against hangs only (a FIFO must never block a call).
    tokio::time::timeout(Duration::from_secs(20), kb.call(req))
        .await
        .expect("the call returned")
}

#[tokio::test]
async fn write_replaces_read_returns_and_query_ranks_lines() {
    let dir = tempfile::tempdir().unwrap();
    let kb = kb(dir.path().join("notes.txt"));
    kb.start().await.unwrap();
    assert_eq!(kb.readiness(), Readiness::Ready);
    let text = "Invoice 17: paid in March\nThe invoice total was 420 euros\nMeeting notes\nTOTAL of invoice 18 is due in April\n";
    let out = call(&kb, "write", json!({"content": text})).await.unwrap();
    assert!(out.contains("wrote") && out.contains("notes.txt"), "{out}");
    assert_eq!(call(&kb, "read", json!({})).await.unwrap(), text);

    let out = call(&kb, "query", json!({"query": "invoice total"}))
        .await
        .unwrap();
    assert_eq!(
        out,
        "line 2: The invoice total was 420 euros\nline 4: TOTAL of invoice 18 is due in April\nline 1: Invoice 17: paid in March"
    );
    let out = call(&kb, "query", json!({"query": "holidays"}))
        .await
        .unwrap();
    assert!(out.contains("no line matches"), "{out}");

    // `write` replaces the contents, as woodwork-engine's text_file does.
    call(&kb, "write", json!({"content": "only this"}))
        .await
        .unwrap();
    assert_eq!(call(&kb, "read", json!({})).await.unwrap(), "only this");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "only this"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temp files left: {leftovers:?}");
}

#[tokio::test]
async fn a_missing_file_is_empty_knowledge_and_write_creates_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/new.txt");
    let kb = kb(path.clone());
    let out = call(&kb, "read", json!({})).await.unwrap();
    assert!(out.contains("empty") && out.contains("no file"), "{out}");
    let out = call(&kb, "query", json!({"query": "x"})).await.unwrap();
    assert!(out.contains("empty"), "{out}");
    assert!(KnowledgeBase::TextFile(Arc::new(kb.clone()))
        .retrieve("x", 3)
        .await
        .unwrap()
        .is_empty());
    call(&kb, "write", json!({"content": "created"}))
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "created");
}

#[tokio::test]
async fn a_fifo_is_refused_at_once_for_every_action() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs (coreutils)");
    assert!(made.success());
    let kb = kb(fifo);
    for (action, inputs) in [
        ("read", json!({})),
        ("query", json!({"query": "x"})),
        ("write", json!({"content": "x"})),
    ] {
        let err = call(&kb, action, inputs).await.unwrap_err();
        assert!(
            err.to_string().contains("FIFO") && err.to_string().contains("not a regular file"),
            "{action}: {err}"
        );
    }
    let err = KnowledgeBase::TextFile(Arc::new(kb))
        .retrieve("x", 3)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("FIFO"), "{err}");
}

#[tokio::test]
async fn bad_calls_say_what_to_send() {
    let dir = tempfile::tempdir().unwrap();
    let kb = kb(dir.path().join("n.txt"));
    let err = call(&kb, "delete", json!({}))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no action `delete`") && err.contains("read, write, query"),
        "{err}"
    );
    let err = call(&kb, "query", json!({"q": "x"}))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs `query`"), "{err}");
    let err = call(&kb, "write", json!({"content": 5}))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("`content` as a string"), "{err}");
    let err = call(&kb, "query", json!({"query": "  ?! "}))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no words"), "{err}");
    let req = ToolRequest {
        action: None,
        inputs: json!({}),
        session_id: "s".into(),
    };
    let err = kb.call(req).await.unwrap_err().to_string();
    assert!(
        err.contains("no action given") && err.contains("read, write, query"),
        "{err}"
    );
    let huge = "x".repeat(woodwork_knowledge::MAX_WRITE_BYTES + 1);
    let err = call(&kb, "write", json!({"content": huge}))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("the most a write takes"), "{err}");
    assert!(
        !dir.path().join("n.txt").exists(),
        "a refused write touches nothing"
    );
}

#[tokio::test]
async fn big_files_are_read_clipped_and_searched_up_to_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.txt");
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!("line number {i} about nothing in particular\n"));
    }
    text.push_str("the needle is here\n");
    std::fs::write(&path, &text).unwrap();
    let kb = kb(path);
    let out = call(&kb, "read", json!({})).await.unwrap();
    assert!(
        out.len() < text.len()
            && out.contains("truncated")
            && out.contains(&text.len().to_string()),
        "{}",
        out.len()
    );
    let out = call(&kb, "query", json!({"query": "needle"}))
        .await
        .unwrap();
    assert_eq!(out, "line 2001: the needle is here");
    let out = call(&kb, "query", json!({"query": "number"}))
        .await
        .unwrap();
    assert_eq!(out.lines().count(), woodwork_knowledge::MAX_QUERY_LINES);
}

#[tokio::test]
async fn retrieval_gives_the_best_lines_as_hits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("facts.txt");
    std::fs::write(
        &path,
        "cats purr\ndogs bark loudly\nsome dogs and cats are friends\n",
    )
    .unwrap();
    let kb = KnowledgeBase::TextFile(Arc::new(kb(path)));
    let hits = kb.retrieve("dogs and cats", 2).await.unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].text, "line 3: some dogs and cats are friends");
    assert_eq!(hits[0].source, "facts.txt");
    assert!(hits[0].score > hits[1].score);
    assert_eq!(
        render_hits(&hits[..1]),
        "[File: facts.txt]\nline 3: some dogs and cats are friends"
    );
    assert!(kb.backend().description().contains("query"));
}
