//! A Chroma server (chromadb 1.x) through its HTTP API v2: the collection is created with cosine
//! distance, filled with our own embeddings (Chroma's embedding functions are never used) and
//! queried with `query_embeddings`. Each chunk's metadata carries its file, contents hash and
//! recipe, so the collection itself is the manifest: nothing else has to be kept next to it.

use crate::hit::Hit;
use crate::http::{backoff, describe, display_url, excerpt, read_body, retryable_status, RETRIES};
use crate::manifest::{FileEntry, Manifest, NewChunk};
use parking_lot::RwLock;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use woodwork_tools::ToolError;

/// Records per add/delete request (Chroma 1.5 allows 5,461; smaller keeps bodies to a few MB).
pub const WRITE_BATCH: usize = 256;
/// Records per page when reading the collection's metadata.
const PAGE: usize = 1000;
/// Largest answer read from Chroma.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// Client for one collection on one Chroma server; cheap to share.
pub struct ChromaServer {
    http: reqwest::Client,
    /// `…/api/v2/tenants/{t}/databases/{d}`
    base: String,
    root: String,
    shown: String,
    collection: String,
    secrets: Vec<String>,
    state: RwLock<Option<Collection>>,
}

#[derive(Clone, Debug)]
struct Collection {
    id: String,
    /// Turns Chroma's distance into cosine similarity (differs by the collection's space).
    space: Space,
}

#[derive(Clone, Copy, Debug)]
enum Space {
    Cosine,
    L2,
    Ip,
}

impl Space {
    fn similarity(self, distance: f32) -> f32 {
        match self {
            Space::Cosine | Space::Ip => 1.0 - distance,
            Space::L2 => 1.0 - distance / 2.0,
        }
    }
}

/// Chroma's rule for tenant, database and collection names.
fn valid_name(name: &str) -> bool {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    (3..=512).contains(&name.len())
        && ok_chars
        && ends(name.chars().next())
        && ends(name.chars().last())
}

impl ChromaServer {
    /// Checks the URL, names and headers; nothing is sent until `open`.
    pub fn new(
        url: &str,
        tenant: &str,
        database: &str,
        headers: &[(String, String)],
        collection: &str,
        timeout: Duration,
    ) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| {
            format!(
                "the Chroma `url` is not a valid URL ({e}); give one like http://localhost:8000"
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "the Chroma `url` {} is not http(s)",
                display_url(url)
            ));
        }
        for (what, name) in [
            ("tenant", tenant),
            ("database", database),
            ("collection", collection),
        ] {
            if !valid_name(name) {
                return Err(format!(
                    "the Chroma {what} name `{name}` is not valid: use 3-512 letters, digits, `.`, `_` or `-`, starting and ending with a letter or digit"
                ));
            }
        }
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("`{k}` is not a valid HTTP header name (Chroma headers)"))?;
            let mut value = HeaderValue::from_str(v).map_err(|_| {
                format!("the value of header `{k}` is not a valid HTTP header value")
            })?;
            value.set_sensitive(true);
            map.insert(name, value);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .default_headers(map)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", describe(e)))?;
        let root = format!("{}/api/v2", url.trim_end_matches('/'));
        Ok(Self {
            http,
            base: format!("{root}/tenants/{tenant}/databases/{database}"),
            shown: display_url(url),
            root,
            collection: collection.to_string(),
            secrets: headers
                .iter()
                .map(|(_, v)| v.clone())
                .filter(|v| v.len() >= 4)
                .collect(),
            state: RwLock::new(None),
        })
    }

    /// The server's address without credentials, for messages.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// Checks the server answers and gets or creates the collection (cosine distance).
    pub async fn open(&self) -> Result<(), ToolError> {
        self.request(Method::GET, format!("{}/heartbeat", self.root), None)
            .await
            .map_err(|e| {
                let hint = "; start it with `chroma run --path <folder>` or fix `url`";
                match e {
                    ToolError::Unavailable(m) => ToolError::Unavailable(format!("{m}{hint}")),
                    other => other,
                }
            })?;
        let body = json!({
            "name": self.collection,
            "configuration": { "hnsw": { "space": "cosine" } },
            "get_or_create": true,
        });
        let answer = self
            .request(
                Method::POST,
                format!("{}/collections", self.base),
                Some(body),
            )
            .await?;
        let id = answer
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| self.bad_answer("creating the collection", "no `id`"))?
            .to_string();
        let space = match answer
            .pointer("/configuration_json/hnsw/space")
            .and_then(Value::as_str)
        {
            Some("l2") => Space::L2,
            Some("ip") => Space::Ip,
            _ => Space::Cosine,
        };
        *self.state.write() = Some(Collection { id, space });
        Ok(())
    }

    fn collection(&self) -> Result<Collection, ToolError> {
        self.state.read().clone().ok_or_else(|| {
            ToolError::Unavailable(format!(
                "the Chroma collection `{}` is not open yet",
                self.collection
            ))
        })
    }

    fn url(&self, c: &Collection, op: &str) -> String {
        format!("{}/collections/{}/{op}", self.base, c.id)
    }

    /// What the collection holds per file, read from the chunks' metadata. Records without our
    /// metadata (added by someone else) are left out, so they are never deleted.
    pub(crate) async fn manifest(&self) -> Result<Manifest, ToolError> {
        let c = self.collection()?;
        let mut by_file: BTreeMap<String, (FileEntry, usize, bool)> = BTreeMap::new();
        let mut offset = 0;
        loop {
            let body = json!({ "limit": PAGE, "offset": offset, "include": ["metadatas"] });
            let answer = self
                .request(Method::POST, self.url(&c, "get"), Some(body))
                .await?;
            let ids = answer
                .get("ids")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let metas = answer
                .get("metadatas")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (id, meta) in ids
                .iter()
                .zip(metas.iter().chain(std::iter::repeat(&Value::Null)))
            {
                let (Some(id), Some(file)) =
                    (id.as_str(), meta.get("file").and_then(Value::as_str))
                else {
                    continue;
                };
                let hash = meta.get("hash").and_then(Value::as_str).unwrap_or_default();
                let recipe = meta
                    .get("recipe")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let count = meta.get("chunks").and_then(Value::as_u64).unwrap_or(0) as usize;
                let slot = by_file.entry(file.to_string()).or_insert_with(|| {
                    (
                        FileEntry {
                            hash: hash.to_string(),
                            recipe: recipe.to_string(),
                            ids: Vec::new(),
                        },
                        count,
                        true,
                    )
                });
                slot.2 &= slot.0.hash == hash && slot.0.recipe == recipe && slot.1 == count;
                slot.0.ids.push(id.to_string());
            }
            if ids.len() < PAGE {
                break;
            }
            offset += ids.len();
        }
        Ok(by_file
            .into_iter()
            .map(|(file, (mut entry, count, consistent))| {
                // A file whose chunks disagree or are incomplete (a crash mid-upsert) is embedded again.
                if !consistent || entry.ids.len() != count {
                    entry.hash.clear();
                }
                (file, entry)
            })
            .collect())
    }

    /// Deletes records by id.
    pub(crate) async fn delete(&self, ids: &[String]) -> Result<(), ToolError> {
        let c = self.collection()?;
        for batch in ids.chunks(WRITE_BATCH) {
            self.request(
                Method::POST,
                self.url(&c, "delete"),
                Some(json!({ "ids": batch })),
            )
            .await?;
        }
        Ok(())
    }

    /// Adds or overwrites chunks with their vectors, passages and metadata.
    /// `metas[i]` is stored with `chunks[i]`.
    pub async fn upsert(&self, chunks: &[NewChunk], metas: &[Value]) -> Result<(), ToolError> {
        let c = self.collection()?;
        if metas.len() != chunks.len() {
            return Err(ToolError::Failed(format!(
                "{} metadata for {} chunks",
                metas.len(),
                chunks.len()
            )));
        }
        for (batch, meta) in chunks.chunks(WRITE_BATCH).zip(metas.chunks(WRITE_BATCH)) {
            let body = json!({
                "ids": batch.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
                "embeddings": batch.iter().map(|c| unit(&c.vector)).collect::<Vec<_>>(),
                "documents": batch.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
                "metadatas": meta,
            });
            self.request(Method::POST, self.url(&c, "upsert"), Some(body))
                .await?;
        }
        Ok(())
    }

    /// The `n` passages nearest `query`, best first.
    pub async fn query(&self, query: &[f32], n: usize) -> Result<Vec<Hit>, ToolError> {
        let c = self.collection()?;
        let body = json!({
            "query_embeddings": [unit(query)],
            "n_results": n,
            "include": ["documents", "metadatas", "distances"],
        });
        let answer = self
            .request(Method::POST, self.url(&c, "query"), Some(body))
            .await?;
        let first = |key: &str| {
            answer
                .get(key)
                .and_then(|v| v.get(0))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let (docs, metas, dists) = (first("documents"), first("metadatas"), first("distances"));
        let mut hits = Vec::new();
        for (i, doc) in docs.iter().enumerate() {
            let Some(text) = doc.as_str() else { continue };
            let source = metas
                .get(i)
                .and_then(|m| m.get("file"))
                .and_then(Value::as_str)
                .unwrap_or("unknown file")
                .to_string();
            let distance = dists.get(i).and_then(Value::as_f64).unwrap_or(f64::MAX) as f32;
            hits.push(Hit {
                source,
                text: text.to_string(),
                score: c.space.similarity(distance),
            });
        }
        Ok(hits)
    }

    /// Records in the collection.
    pub async fn count(&self) -> Result<usize, ToolError> {
        let c = self.collection()?;
        let answer = self
            .request(Method::GET, self.url(&c, "count"), None)
            .await?;
        answer
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| self.bad_answer("counting", "not a number"))
    }

    fn bad_answer(&self, doing: &str, what: &str) -> ToolError {
        ToolError::Failed(format!(
            "Chroma at {} answered {doing} with something unexpected ({what}); is it chromadb 1.x?",
            self.shown
        ))
    }

    /// One JSON request, retried on connection failures, 429 and 5xx (every call made here is
    /// idempotent: upserts by id, deletes by id, reads).
    async fn request(
        &self,
        method: Method,
        url: String,
        body: Option<Value>,
    ) -> Result<Value, ToolError> {
        let path = url.strip_prefix(&self.root).unwrap_or(&url).to_string();
        let mut attempt = 0;
        loop {
            let mut req = self.http.request(method.clone(), &url);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let err = match req.send().await {
                Err(e) => ToolError::Unavailable(format!(
                    "Chroma at {} ({} {path}): {}",
                    self.shown,
                    method,
                    describe(e)
                )),
                Ok(resp) => {
                    let status = resp.status();
                    let bytes = read_body(resp, MAX_ANSWER).await.map_err(|e| {
                        ToolError::Unavailable(format!(
                            "Chroma at {} ({method} {path}): {e}",
                            self.shown
                        ))
                    })?;
                    if status.is_success() {
                        return serde_json::from_slice(&bytes).map_err(|e| {
                            self.bad_answer(&format!("{method} {path}"), &e.to_string())
                        });
                    }
                    let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
                    let said = match chroma_message(&bytes) {
                        Some(m) => excerpt(m.as_bytes(), &secrets),
                        None => excerpt(&bytes, &secrets),
                    };
                    let hint = match status.as_u16() {
                        401 | 403 => " — check the Chroma auth headers",
                        404 => " — check the tenant and database exist",
                        _ if said.contains("dimension") => {
                            " — the collection holds vectors of another embedding model; use another `collection` or delete this one"
                        }
                        _ => "",
                    };
                    let msg = format!(
                        "Chroma at {} ({method} {path}) answered HTTP {status}: {said}{hint}",
                        self.shown
                    );
                    if retryable_status(status) {
                        ToolError::Unavailable(msg)
                    } else {
                        return Err(ToolError::Failed(msg));
                    }
                }
            };
            if attempt >= RETRIES {
                return Err(err);
            }
            attempt += 1;
            tokio::time::sleep(backoff(attempt, None)).await;
        }
    }
}

/// Chroma's `{"error": …, "message": …}` as one line.
fn chroma_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let msg = v.get("message").and_then(Value::as_str)?;
    Some(match v.get("error").and_then(Value::as_str) {
        Some(kind) => format!("{kind}: {msg}"),
        None => msg.to_string(),
    })
}

/// `v` scaled to unit length, so distances in any space order like cosine similarity.
fn unit(v: &[f32]) -> Vec<f32> {
    let mut v = v.to_vec();
    crate::index::normalise(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_chromas_rule() {
        assert!(valid_name("woodwork") && valid_name("a.b_c-1"));
        assert!(!valid_name("ab") && !valid_name("-abc") && !valid_name("a b c"));
    }

    #[test]
    fn bad_settings_are_refused_without_echoing_secrets() {
        let headers = vec![("x-token".to_string(), "secret\nvalue".to_string())];
        let e = ChromaServer::new(
            "http://127.0.0.1:1",
            "default_tenant",
            "default_database",
            &headers,
            "woodwork",
            Duration::from_secs(1),
        )
        .err()
        .unwrap_or_default();
        assert!(e.contains("x-token") && !e.contains("secret"), "{e}");
        assert!(ChromaServer::new(
            "ftp://x",
            "default_tenant",
            "default_database",
            &[],
            "woodwork",
            Duration::from_secs(1)
        )
        .is_err());
    }
}
