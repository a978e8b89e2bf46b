//! `knowledge_base chroma`: files embedded into a vector store (embedded on disk, or a Chroma
//! server) and searched by meaning, as a tool (`query`, `ingest`) and as an llm's retrieval source.

use crate::embed::Embedder;
use crate::embedded::EmbeddedStore;
use crate::hit::{render_hits, Hit};
use crate::ingest::{ingest, IngestReport, Plan};
use crate::inputs::{action_name, optional_count, string_input};
use crate::server::ChromaServer;
use crate::settings::{ChromaSettings, Store};
use crate::store::VectorStore;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use parking_lot::Mutex;
use std::sync::Arc;
use woodwork_tools::observation::{clip, MAX_OBSERVATION};
use woodwork_tools::{Readiness, ToolBackend, ToolError, ToolFuture, ToolRequest};

/// Most passages one query answers.
pub const MAX_N: usize = 50;
/// Longest query embedded (characters); longer ones are cut.
const MAX_QUERY_CHARS: usize = 8000;
const ACTIONS: &str = "query, ingest";
/// Longest shutdown waits for a running ingest.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A `knowledge_base chroma` component; clones share everything.
#[derive(Clone)]
pub struct ChromaKb {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ChromaSettings,
    embedder: Embedder,
    store: VectorStore,
    readiness: Mutex<Readiness>,
    /// One ingest at a time (start, or the `ingest` action).
    ingest_lock: tokio::sync::Mutex<()>,
    last_report: Mutex<Option<IngestReport>>,
}

impl ChromaKb {
    /// Checks the settings (URLs, names, chunking) and builds the clients; nothing is read,
    /// embedded or connected until `start`.
    pub fn new(settings: ChromaSettings) -> Result<Self, String> {
        let label = format!("knowledge base `{}`", settings.name);
        if settings.chunk_chars < 50 {
            return Err(format!(
                "{label}: chunks of {} characters are too small; use about 1000",
                settings.chunk_chars
            ));
        }
        if settings.overlap >= settings.chunk_chars {
            return Err(format!(
                "{label}: the overlap ({}) must be smaller than the chunk size ({})",
                settings.overlap, settings.chunk_chars
            ));
        }
        if let Some(src) = &settings.source {
            if !src.is_absolute() {
                return Err(format!(
                    "{label}: file_to_embed `{}` must be an absolute path",
                    src.display()
                ));
            }
        }
        let embedder = Embedder::new(&settings.embedder, settings.timeout)
            .map_err(|e| format!("{label}: {e}"))?;
        let store = match &settings.store {
            Store::Embedded { dir } => {
                VectorStore::Embedded(EmbeddedStore::new(dir, &settings.collection))
            }
            Store::Server {
                url,
                tenant,
                database,
                headers,
            } => VectorStore::Server(
                ChromaServer::new(
                    url,
                    tenant,
                    database,
                    headers,
                    &settings.collection,
                    settings.timeout,
                )
                .map_err(|e| format!("{label}: {e}"))?,
            ),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                embedder,
                store,
                readiness: Mutex::new(Readiness::Starting),
                ingest_lock: tokio::sync::Mutex::new(()),
                last_report: Mutex::new(None),
            }),
        })
    }

    /// The settings it was built with.
    pub fn settings(&self) -> &ChromaSettings {
        &self.inner.settings
    }

    /// The `n` passages most related to `query`, best first: what the runtime puts in an llm's
    /// prompt. Empty when the store holds nothing.
    pub async fn retrieve(&self, query: &str, n: usize) -> Result<Vec<Hit>, ToolError> {
        self.inner.retrieve(query, n).await
    }

    /// Reads `file_to_embed` again and embeds what changed; answers what it did.
    pub async fn ingest(&self) -> Result<IngestReport, ToolError> {
        self.inner.ingest().await
    }

    /// What the last ingest did (none before the first).
    pub fn last_ingest(&self) -> Option<IngestReport> {
        self.inner.last_report.lock().clone()
    }
}

impl Inner {
    fn label(&self) -> String {
        format!("knowledge base `{}`", self.settings.name)
    }

    fn check_ready(&self) -> Result<(), ToolError> {
        match &*self.readiness.lock() {
            Readiness::Ready => Ok(()),
            Readiness::Starting => Err(ToolError::Unavailable(format!(
                "{} is still embedding its files; try again shortly",
                self.label()
            ))),
            Readiness::Down(cause) => Err(ToolError::Unavailable(format!(
                "{} is down: {cause}",
                self.label()
            ))),
        }
    }

    async fn start(&self) -> Result<(), ToolError> {
        *self.readiness.lock() = Readiness::Starting;
        let result = async {
            self.store.open(self.embedder.model()).await?;
            if self.settings.source.is_some() {
                self.ingest_now().await?;
            }
            Ok::<(), ToolError>(())
        }
        .await;
        match result {
            Ok(()) => {
                *self.readiness.lock() = Readiness::Ready;
                Ok(())
            }
            Err(e) => {
                let msg = format!("{}: {}", self.label(), message(&e));
                *self.readiness.lock() = Readiness::Down(msg.clone());
                Err(match e {
                    ToolError::Failed(_) => ToolError::Failed(msg),
                    _ => ToolError::Unavailable(msg),
                })
            }
        }
    }

    async fn ingest(&self) -> Result<IngestReport, ToolError> {
        self.check_ready()?;
        if self.settings.source.is_none() {
            return Err(ToolError::Failed(format!(
                "{} has no file_to_embed to read",
                self.label()
            )));
        }
        self.ingest_now().await
    }

    async fn ingest_now(&self) -> Result<IngestReport, ToolError> {
        let Some(source) = &self.settings.source else {
            return Ok(IngestReport::default());
        };
        let _one = self.ingest_lock.lock().await;
        let exclude = match &self.store {
            VectorStore::Embedded(s) => Some(s.dir().to_path_buf()),
            VectorStore::Server(_) => None,
        };
        let plan = Plan {
            source,
            exclude: exclude.as_deref(),
            chunk_chars: self.settings.chunk_chars,
            overlap: self.settings.overlap,
        };
        let result = ingest(plan, &self.embedder, &self.store).await;
        // What was stored before a failure is kept: the next ingest starts from there.
        let saved = self.store.save().await;
        let report = result?;
        saved?;
        tracing::info!(knowledge_base = %self.settings.name, source = %source.display(), "{report}");
        *self.last_report.lock() = Some(report.clone());
        Ok(report)
    }

    async fn retrieve(&self, query: &str, n: usize) -> Result<Vec<Hit>, ToolError> {
        self.check_ready()?;
        let query = query.trim();
        if query.is_empty() {
            return Err(ToolError::Failed(
                "the query is empty; give the words or question to look up".into(),
            ));
        }
        if n == 0 || self.store.known_empty() == Some(true) {
            return Ok(Vec::new());
        }
        let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
        let mut vectors = self
            .embedder
            .embed_batch(std::slice::from_ref(&query))
            .await?;
        let vector = vectors.pop().unwrap_or_default();
        self.store.search(vector, n.min(MAX_N)).await
    }

    async fn call(&self, request: ToolRequest) -> Result<String, ToolError> {
        let action = action_name(&request, &self.label(), ACTIONS)?;
        match action.as_str() {
            "query" => {
                let query = string_input(
                    &request.inputs,
                    "query",
                    "query",
                    "the question or words to look up",
                )?;
                let n = optional_count(&request.inputs, "n", self.settings.default_n, MAX_N)?;
                let hits = self.retrieve(&query, n).await?;
                if hits.is_empty() {
                    return Ok("the knowledge base is empty".into());
                }
                Ok(clip(render_hits(&hits), MAX_OBSERVATION))
            }
            "ingest" => Ok(self.ingest().await?.to_string()),
            other => Err(ToolError::Failed(format!(
                "{} has no action `{other}`; use one of: {ACTIONS}",
                self.label()
            ))),
        }
    }
}

/// An error's message without the variant's prefix.
fn message(e: &ToolError) -> String {
    match e {
        ToolError::Failed(m) | ToolError::Unavailable(m) => m.clone(),
        other => other.to_string(),
    }
}

impl ToolBackend for ChromaKb {
    fn description(&self) -> String {
        let s = &self.inner.settings;
        let what = match &s.source {
            Some(src) => format!("passages of the files under {}", src.display()),
            None => format!("passages stored in the collection `{}`", s.collection),
        };
        format!(
            "Knowledge base `{}`: {what}, found by meaning. Actions:\n\
             - query {{query: text, n?: number (default {})}}: the passages most related to the query, \
             best first, each as `[File: path]` followed by the passage.\n\
             - ingest {{}}: reads the files again and embeds the ones that changed; answers what it did.",
            s.name, s.default_n
        )
    }

    fn start(&self) -> BoxFuture<'static, Result<(), ToolError>> {
        let inner = self.inner.clone();
        async move { inner.start().await }.boxed()
    }

    fn call(&self, request: ToolRequest) -> ToolFuture {
        let inner = self.inner.clone();
        async move { inner.call(request).await }.boxed()
    }

    fn readiness(&self) -> Readiness {
        self.inner.readiness.lock().clone()
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        let inner = self.inner.clone();
        async move {
            // Give a running ingest a moment to store its current group; what it had stored stays.
            let _ = tokio::time::timeout(SHUTDOWN_WAIT, inner.ingest_lock.lock()).await;
        }
        .boxed()
    }
}
