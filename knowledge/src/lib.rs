//! Knowledge bases (DESIGN.md §3): `knowledge_base text_file` (one text file an agent reads,
//! writes and searches by words) and `knowledge_base chroma` (files embedded into an on-disk
//! vector store or a Chroma server, searched by meaning). Both are tools (`ToolBackend`) and
//! both can feed an llm's prompt through `KnowledgeBase::retrieve`.

mod chroma;
mod chunk;
mod embed;
mod embedded;
mod hit;
mod http;
mod index;
mod ingest;
mod inputs;
mod manifest;
mod scan;
mod server;
mod settings;
mod store;
mod text_file;

pub use chroma::{ChromaKb, MAX_N};
pub use chunk::{split, Chunk};
pub use embed::{EmbedError, Embedder, BATCH as EMBED_BATCH, CONCURRENCY as EMBED_CONCURRENCY};
pub use embedded::EmbeddedStore;
pub use hit::{render_hits, Hit};
pub use index::VectorIndex;
pub use ingest::IngestReport;
pub use manifest::NewChunk;
pub use scan::{MAX_FILE_BYTES, SKIPPED_DIRS};
pub use server::ChromaServer;
pub use settings::{
    ChromaSettings, EmbedderSettings, EmbeddingApi, Store, DEFAULT_COLLECTION, DEFAULT_DATABASE,
    DEFAULT_EMBEDDING_MODEL, DEFAULT_TENANT,
};
pub use text_file::{
    TextFileKb, TextFileSettings, MAX_QUERY_LINES, MAX_SEARCH_BYTES, MAX_WRITE_BYTES,
};

use std::sync::Arc;
use woodwork_tools::{ToolBackend, ToolError};

/// Either kind of knowledge base, so the runtime retrieves for an llm's prompt without caring
/// which one the `.ww` declared.
#[derive(Clone)]
pub enum KnowledgeBase {
    TextFile(Arc<TextFileKb>),
    Chroma(Arc<ChromaKb>),
}

impl KnowledgeBase {
    /// The `n` passages best matching `query`, best first (render them with `render_hits`).
    pub async fn retrieve(&self, query: &str, n: usize) -> Result<Vec<Hit>, ToolError> {
        match self {
            KnowledgeBase::TextFile(kb) => kb.retrieve(query, n).await,
            KnowledgeBase::Chroma(kb) => kb.retrieve(query, n).await,
        }
    }

    /// The same knowledge base as a tool backend (to start, call, health-check and stop).
    pub fn backend(&self) -> Arc<dyn ToolBackend> {
        match self {
            KnowledgeBase::TextFile(kb) => kb.clone(),
            KnowledgeBase::Chroma(kb) => kb.clone(),
        }
    }
}
