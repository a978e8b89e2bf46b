//! Settings of a `knowledge_base chroma` component, as the runtime builds them from the `.ww`
//! (DESIGN.md §3). Secrets (the embedding key, Chroma header values) are redacted from `Debug`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The collection used when the `.ww` names none.
pub const DEFAULT_COLLECTION: &str = "woodwork";
/// The embedding model used when the `.ww` names none.
pub const DEFAULT_EMBEDDING_MODEL: &str = "text-embedding-3-small";
/// Chroma's own default tenant.
pub const DEFAULT_TENANT: &str = "default_tenant";
/// Chroma's own default database.
pub const DEFAULT_DATABASE: &str = "default_database";

/// Everything a `ChromaKb` needs.
#[derive(Clone)]
pub struct ChromaSettings {
    /// The component's name (used in descriptions, logs and errors).
    pub name: String,
    /// `file_to_embed`: a file or a folder, absolute. `None`: nothing is ingested and queries
    /// answer from what the store already holds.
    pub source: Option<PathBuf>,
    /// Where the vectors live.
    pub store: Store,
    /// The Chroma collection (server) or the name recorded in the embedded store; default `woodwork`.
    pub collection: String,
    /// Who turns text into vectors.
    pub embedder: EmbedderSettings,
    /// Target chunk length in characters (default 1000).
    pub chunk_chars: usize,
    /// Characters shared by consecutive chunks of one file (default 200).
    pub overlap: usize,
    /// Passages a `query` answers when it gives no `n` (default 3).
    pub default_n: usize,
    /// Bound on each HTTP request to the embedding server or Chroma (default 60 s).
    pub timeout: Duration,
}

impl ChromaSettings {
    /// Settings with the documented defaults for everything but the name, store and embedder.
    pub fn new(name: impl Into<String>, store: Store, embedder: EmbedderSettings) -> Self {
        Self {
            name: name.into(),
            source: None,
            store,
            collection: DEFAULT_COLLECTION.to_string(),
            embedder,
            chunk_chars: 1000,
            overlap: 200,
            default_n: 3,
            timeout: Duration::from_secs(60),
        }
    }
}

impl fmt::Debug for ChromaSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChromaSettings")
            .field("name", &self.name)
            .field("source", &self.source)
            .field("store", &self.store)
            .field("collection", &self.collection)
            .field("embedder", &self.embedder)
            .field("chunk_chars", &self.chunk_chars)
            .field("overlap", &self.overlap)
            .field("default_n", &self.default_n)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Where the vectors are kept.
#[derive(Clone)]
pub enum Store {
    /// On disk in this process (no `url` in the `.ww`): nothing else to run.
    Embedded {
        /// The store's folder (the runtime's default: `.woodwork/chroma` next to the `.ww`).
        dir: PathBuf,
    },
    /// A Chroma server (chromadb 1.x, HTTP API v2).
    Server {
        /// e.g. `http://localhost:8000`.
        url: String,
        /// Chroma tenant (default `default_tenant`).
        tenant: String,
        /// Chroma database (default `default_database`).
        database: String,
        /// Extra headers on every request (auth tokens); values are secrets.
        headers: Vec<(String, String)>,
    },
}

impl Store {
    /// A Chroma server at `url` with the default tenant and database and no extra headers.
    pub fn server(url: impl Into<String>) -> Self {
        Store::Server {
            url: url.into(),
            tenant: DEFAULT_TENANT.to_string(),
            database: DEFAULT_DATABASE.to_string(),
            headers: Vec::new(),
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Store::Embedded { dir } => f.debug_struct("Embedded").field("dir", dir).finish(),
            Store::Server {
                url,
                tenant,
                database,
                headers,
            } => {
                let names: Vec<String> = headers
                    .iter()
                    .map(|(k, _)| format!("{k}: <redacted>"))
                    .collect();
                f.debug_struct("Server")
                    .field("url", &crate::http::display_url(url))
                    .field("tenant", tenant)
                    .field("database", database)
                    .field("headers", &names)
                    .finish()
            }
        }
    }
}

/// Which embedding API, and which model on it.
#[derive(Clone)]
pub struct EmbedderSettings {
    pub api: EmbeddingApi,
    /// Model name (default `text-embedding-3-small`).
    pub model: String,
}

impl EmbedderSettings {
    /// An OpenAI-compatible server with the default model.
    pub fn openai(base_url: impl Into<String>, api_key: Option<String>) -> Self {
        Self {
            api: EmbeddingApi::OpenAi {
                base_url: base_url.into(),
                api_key,
            },
            model: DEFAULT_EMBEDDING_MODEL.to_string(),
        }
    }
}

impl fmt::Debug for EmbedderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbedderSettings")
            .field("api", &self.api)
            .field("model", &self.model)
            .finish()
    }
}

/// The two embedding protocols DESIGN.md §3 names.
#[derive(Clone)]
pub enum EmbeddingApi {
    /// `POST {base_url}/embeddings` (OpenAI, vLLM, llama.cpp, Ollama `/v1`, LM Studio…);
    /// `base_url` includes the version path, e.g. `https://api.openai.com/v1`.
    OpenAi {
        base_url: String,
        api_key: Option<String>,
    },
    /// Ollama's native `POST {base_url}/api/embed`; `base_url` like `http://localhost:11434`.
    Ollama { base_url: String },
}

impl fmt::Debug for EmbeddingApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmbeddingApi::OpenAi { base_url, api_key } => f
                .debug_struct("OpenAi")
                .field("base_url", &crate::http::display_url(base_url))
                .field("api_key", &api_key.as_ref().map(|_| "<redacted>"))
                .finish(),
            EmbeddingApi::Ollama { base_url } => f
                .debug_struct("Ollama")
                .field("base_url", &crate::http::display_url(base_url))
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let mut s = ChromaSettings::new(
            "kb",
            Store::Server {
                url: "http://user:pw-secret@127.0.0.1:8000/?token=tok-secret".into(),
                tenant: DEFAULT_TENANT.into(),
                database: DEFAULT_DATABASE.into(),
                headers: vec![("x-chroma-token".into(), "hdr-secret".into())],
            },
            EmbedderSettings::openai("http://127.0.0.1:1/v1", Some("sk-secret".into())),
        );
        s.source = Some("/tmp/docs".into());
        let text = format!("{s:?}");
        for secret in ["pw-secret", "tok-secret", "hdr-secret", "sk-secret"] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
        assert!(
            text.contains("x-chroma-token") && text.contains("<redacted>"),
            "{text}"
        );
    }
}
