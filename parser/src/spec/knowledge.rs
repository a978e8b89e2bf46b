//! Specs of the `knowledge_base` types: `text_file` and `chroma`.

use super::read::{Reader, SecretPairs, SpecError};
use crate::model::Secret;

/// `knowledge_base text_file`.
#[derive(Clone, Debug, PartialEq)]
pub struct TextFileSpec {
    /// The file, as written (relative to the `.ww` file).
    pub path: String,
}

impl TextFileSpec {
    pub(crate) fn read(r: &Reader<'_>) -> Result<Self, SpecError> {
        Ok(TextFileSpec {
            path: r.required("path")?,
        })
    }
}

/// `knowledge_base chroma`: an embedded store or a Chroma server, with its embeddings provider.
#[derive(Clone, Debug, PartialEq)]
pub struct ChromaSpec {
    /// `local` or `http`, as written.
    pub client: Option<String>,
    /// Directory of the embedded store.
    pub path: Option<String>,
    /// Chroma server URL.
    pub url: Option<String>,
    pub collection: Option<String>,
    pub file_to_embed: Option<String>,
    /// The `llm` whose embeddings endpoint is used.
    pub embedding: Option<String>,
    /// Embedding model (schema default).
    pub embedding_model: Option<String>,
    pub api_key: Option<Secret>,
    /// Headers sent to a Chroma server.
    pub headers: SecretPairs,
}

impl ChromaSpec {
    pub(crate) fn read(r: &Reader<'_>) -> Result<Self, SpecError> {
        Ok(ChromaSpec {
            client: r.string("client")?,
            path: r.string("path")?,
            url: r.string("url")?,
            collection: r.string("collection")?,
            file_to_embed: r.string("file_to_embed")?,
            embedding: r.reference("embedding"),
            embedding_model: r.string("embedding_model")?,
            api_key: r.api_key()?,
            headers: r.secret_map("headers")?,
        })
    }
}
