//! What a store holds per source file (contents hash, how it was chunked and embedded, chunk
//! ids), so a restart embeds again only files whose contents or recipe changed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One embedded file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct FileEntry {
    /// SHA-256 of the contents that were embedded.
    pub hash: String,
    /// Model and chunking the chunks were made with (a change re-embeds the file).
    pub recipe: String,
    /// The file's chunk ids, in order.
    pub ids: Vec<String>,
}

/// Relative path → entry.
pub(crate) type Manifest = BTreeMap<String, FileEntry>;

/// A chunk with its vector, ready to store.
#[derive(Clone, Debug)]
pub struct NewChunk {
    /// Stable id: derived from the file, its contents hash, the recipe and the chunk's position.
    pub id: String,
    /// The source file, relative.
    pub file: String,
    pub text: String,
    pub vector: Vec<f32>,
}

/// A file's new chunks, replacing whatever the store held for it.
#[derive(Clone, Debug)]
pub(crate) struct FileUpdate {
    pub rel: String,
    pub entry: FileEntry,
    pub chunks: Vec<NewChunk>,
}

/// The id of chunk `index` of a file: the same inputs always give the same id, so an upsert
/// after a crash overwrites instead of duplicating.
pub(crate) fn chunk_id(rel: &str, hash: &str, recipe: &str, index: usize) -> String {
    let key = format!("{rel}\0{hash}\0{recipe}\0{index}");
    let mut id = crate::scan::sha256_hex(key.as_bytes());
    id.truncate(32);
    id
}
