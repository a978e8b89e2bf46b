//! The ingest → query → restart → edit → delete story, run against each store kind.

use super::*;
use woodwork_knowledge::{ChromaKb, ChromaSettings, EmbedderSettings, Store};
use woodwork_tools::{Readiness, ToolBackend, ToolRequest};

pub fn request(action: &str, inputs: Value) -> ToolRequest {
    ToolRequest {
        action: Some(action.to_string()),
        inputs,
        session_id: "s1".into(),
    }
}

pub fn settings(source: &Path, store: Store, server: &EmbedServer) -> ChromaSettings {
    let mut s = ChromaSettings::new(
        "docs",
        store,
        EmbedderSettings::openai(server.base_url.clone(), Some("sk-test-key-123".to_string())),
    );
    s.source = Some(source.to_path_buf());
    s
}

pub async fn started(settings: ChromaSettings) -> ChromaKb {
    let kb = ChromaKb::new(settings).expect("valid settings");
    assert_eq!(kb.readiness(), Readiness::Starting);
    kb.start().await.expect("start ingests the fixture folder");
    assert_eq!(kb.readiness(), Readiness::Ready);
    kb
}

pub async fn query(kb: &ChromaKb, q: &str, n: Option<usize>) -> String {
    let inputs = match n {
        Some(n) => json!({"query": q, "n": n}),
        None => json!({"query": q}),
    };
    kb.call(request("query", inputs))
        .await
        .expect("query answers")
}

/// Sources of the `[File: …]` blocks of an answer, in order.
pub fn sources(answer: &str) -> Vec<String> {
    answer
        .lines()
        .filter_map(|l| l.strip_prefix("[File: ").and_then(|l| l.strip_suffix(']')))
        .map(str::to_string)
        .collect()
}

/// Runs the whole story with stores made by `store` (called once per restart: same place).
pub async fn run(store: impl Fn() -> Store) {
    let docs = fixture_folder();
    let server = EmbedServer::start(Flavour::OpenAi).await;

    // First start: every text file is embedded, the rest skipped.
    let kb = started(settings(docs.path(), store(), &server)).await;
    let first = server.requests();
    assert!(first >= 1);
    let report = kb.last_ingest().expect("a report");
    let mut embedded = report.embedded.clone();
    embedded.sort();
    assert_eq!(
        embedded,
        [
            "chess.md",
            "notes/ownership.md",
            "sourdough.md",
            "volcanoes.md"
        ]
    );
    assert!(report.chunks >= 5, "sourdough.md is two chunks: {report}");
    assert!(
        report
            .skipped
            .iter()
            .any(|(f, why)| f == "logo.png" && why.contains("binary")),
        "{report}"
    );
    let inputs = server.inputs();
    for marker in SKIPPED_MARKERS {
        assert!(
            !inputs.iter().any(|i| i.contains(marker)),
            "{marker} was embedded"
        );
    }
    assert!(server
        .seen
        .auth
        .lock()
        .unwrap()
        .iter()
        .all(|a| a.as_deref() == Some("Bearer sk-test-key-123")));

    // Queries answer the right file first, in woodwork's block format.
    let answer = query(
        &kb,
        "how long should the sourdough starter ferment before baking the bread",
        None,
    )
    .await;
    assert!(answer.starts_with("[File: sourdough.md]\n"), "{answer}");
    assert_eq!(sources(&answer).len(), 3, "default n is 3: {answer}");
    assert!(
        answer.contains("\n\n[File: "),
        "blocks are separated by a blank line: {answer}"
    );
    let answer = query(
        &kb,
        "why do volcano eruptions of lava and ash explode",
        Some(1),
    )
    .await;
    assert_eq!(sources(&answer), ["volcanoes.md"], "{answer}");
    let answer = query(
        &kb,
        "the borrow checker and ownership of values in Rust",
        Some(2),
    )
    .await;
    assert_eq!(sources(&answer)[0], "notes/ownership.md", "{answer}");
    let hits = kb
        .retrieve("knights bishops castle the king in the opening", 2)
        .await
        .expect("retrieve");
    assert_eq!(hits[0].source, "chess.md");
    assert!(hits[0].score > hits[1].score);

    // Restart with nothing changed: no embedding request at all.
    drop(kb);
    let before = server.requests();
    let kb = started(settings(docs.path(), store(), &server)).await;
    assert_eq!(
        server.requests(),
        before,
        "unchanged files were embedded again"
    );
    let report = kb.last_ingest().expect("a report");
    assert!(
        report.embedded.is_empty() && report.unchanged == 4,
        "{report}"
    );
    let answer = query(&kb, "sourdough starter", Some(1)).await;
    assert_eq!(sources(&answer), ["sourdough.md"], "{answer}");

    // Edit one file, delete another: only the edited one is embedded, the deleted one is gone.
    std::fs::write(
        docs.path().join("chess.md"),
        "# Chess endgames\n\nIn a rook endgame, put the rook behind the passed pawn. Activate the king.\n",
    )
    .unwrap();
    std::fs::remove_file(docs.path().join("volcanoes.md")).unwrap();
    drop(kb);
    server.clear_inputs();
    let kb = started(settings(docs.path(), store(), &server)).await;
    let inputs = server.inputs();
    assert!(
        !inputs.is_empty() && inputs.iter().all(|i| i.contains("rook")),
        "re-embedded: {inputs:?}"
    );
    let report = kb.last_ingest().expect("a report");
    assert_eq!(report.embedded, ["chess.md"], "{report}");
    assert_eq!(report.removed, ["volcanoes.md"], "{report}");
    assert_eq!(report.unchanged, 2, "{report}");
    let everything = query(&kb, "volcano lava ash eruption rook sicilian", Some(50)).await;
    let all = sources(&everything);
    assert!(
        !all.iter().any(|s| s == "volcanoes.md"),
        "deleted file still answers: {everything}"
    );
    assert!(
        everything.contains("rook behind the passed pawn"),
        "{everything}"
    );
    assert!(
        !everything.contains("Sicilian"),
        "the old chess text is still stored: {everything}"
    );
    assert_eq!(
        all.len(),
        4,
        "sourdough (2) + ownership + chess: {everything}"
    );

    // The ingest action picks up a new file without a restart.
    std::fs::write(
        docs.path().join("tea.md"),
        "Green tea is steeped at 80 degrees for two minutes.",
    )
    .unwrap();
    let out = kb
        .call(request("ingest", json!({})))
        .await
        .expect("ingest action");
    assert!(out.starts_with("1 file(s) embedded"), "{out}");
    let answer = query(&kb, "how hot should green tea be steeped", Some(1)).await;
    assert_eq!(sources(&answer), ["tea.md"], "{answer}");
}
