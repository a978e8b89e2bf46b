//! The two places vectors can live behind one interface, so ingest and queries do not care
//! whether the `.ww` gave a Chroma `url`.

use crate::embedded::EmbeddedStore;
use crate::hit::Hit;
use crate::manifest::{FileEntry, FileUpdate, Manifest};
use crate::server::ChromaServer;
use serde_json::json;
use std::collections::BTreeSet;
use woodwork_tools::ToolError;

pub(crate) enum VectorStore {
    Embedded(EmbeddedStore),
    Server(ChromaServer),
}

impl VectorStore {
    /// Loads the embedded store or connects to the server and opens the collection.
    pub async fn open(&self, model: &str) -> Result<(), ToolError> {
        match self {
            VectorStore::Embedded(s) => s.open(model).await.map_err(ToolError::Failed),
            VectorStore::Server(s) => s.open().await,
        }
    }

    pub async fn manifest(&self) -> Result<Manifest, ToolError> {
        match self {
            VectorStore::Embedded(s) => Ok(s.manifest()),
            VectorStore::Server(s) => s.manifest().await,
        }
    }

    /// Removes every chunk of these files.
    pub async fn remove(&self, gone: &[(String, FileEntry)]) -> Result<(), ToolError> {
        match self {
            VectorStore::Embedded(s) => {
                let rels: Vec<String> = gone.iter().map(|(r, _)| r.clone()).collect();
                s.apply(&rels, Vec::new()).map_err(ToolError::Failed)
            }
            VectorStore::Server(s) => {
                let ids: Vec<String> = gone
                    .iter()
                    .flat_map(|(_, e)| e.ids.iter().cloned())
                    .collect();
                s.delete(&ids).await
            }
        }
    }

    /// Stores each file's new chunks and drops its old ones (given as the old manifest entry).
    pub async fn replace(
        &self,
        updates: Vec<(FileUpdate, Option<FileEntry>)>,
    ) -> Result<(), ToolError> {
        match self {
            VectorStore::Embedded(s) => s
                .apply(&[], updates.into_iter().map(|(u, _)| u).collect())
                .map_err(ToolError::Failed),
            VectorStore::Server(s) => {
                let mut chunks = Vec::new();
                let mut metas = Vec::new();
                let mut stale = Vec::new();
                for (u, old) in updates {
                    let count = u.chunks.len();
                    for (i, c) in u.chunks.into_iter().enumerate() {
                        metas.push(json!({
                            "file": u.rel, "hash": u.entry.hash, "recipe": u.entry.recipe,
                            "chunk": i, "chunks": count,
                        }));
                        chunks.push(c);
                    }
                    let new: BTreeSet<&String> = u.entry.ids.iter().collect();
                    if let Some(old) = old {
                        stale.extend(old.ids.into_iter().filter(|id| !new.contains(id)));
                    }
                }
                // New chunks first: a failure in between leaves extra chunks, never a file without any.
                s.upsert(&chunks, &metas).await?;
                s.delete(&stale).await
            }
        }
    }

    /// Makes what was stored durable (the server already is).
    pub async fn save(&self) -> Result<(), ToolError> {
        match self {
            VectorStore::Embedded(s) => s.save().await.map_err(ToolError::Failed),
            VectorStore::Server(_) => Ok(()),
        }
    }

    /// `Some(true)` when the store is known to be empty without asking a server.
    pub fn known_empty(&self) -> Option<bool> {
        match self {
            VectorStore::Embedded(s) => Some(s.is_empty()),
            VectorStore::Server(_) => None,
        }
    }

    pub async fn search(&self, query: Vec<f32>, n: usize) -> Result<Vec<Hit>, ToolError> {
        match self {
            VectorStore::Embedded(s) => s.search(query, n).await.map_err(ToolError::Failed),
            VectorStore::Server(s) => s.query(&query, n).await,
        }
    }
}
