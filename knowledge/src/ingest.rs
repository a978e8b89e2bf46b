//! Bringing a store up to date with the files under `file_to_embed`: new and changed files are
//! chunked and embedded (in groups, so progress is stored as it is made), deleted ones removed,
//! unchanged ones not touched — no embedding request is spent on them.

use crate::chunk::split;
use crate::embed::Embedder;
use crate::manifest::{chunk_id, FileEntry, FileUpdate, NewChunk};
use crate::scan::{read_text, scan, sha256_hex, FileText, Skipped, SourceFile};
use crate::store::VectorStore;
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use woodwork_tools::ToolError;

/// Chunks embedded and stored together: a crash or an embedding failure loses at most this
/// much work, and memory holds at most this many passages in flight.
const GROUP_CHUNKS: usize = 512;
/// Most skipped files named in a report (the rest are counted).
const NAMED_SKIPS: usize = 10;

/// What an ingest did.
#[derive(Debug, Default, Clone)]
pub struct IngestReport {
    /// Files embedded (new or changed), relative.
    pub embedded: Vec<String>,
    /// Chunks embedded.
    pub chunks: usize,
    /// Files left as they were.
    pub unchanged: usize,
    /// Files whose chunks were removed (deleted, or now skipped).
    pub removed: Vec<String>,
    /// Files left out, with the reason.
    pub skipped: Vec<(String, String)>,
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} file(s) embedded ({} chunks), {} unchanged, {} removed",
            self.embedded.len(),
            self.chunks,
            self.unchanged,
            self.removed.len()
        )?;
        if !self.skipped.is_empty() {
            write!(f, "; skipped {}: ", self.skipped.len())?;
            let named: Vec<String> = self
                .skipped
                .iter()
                .take(NAMED_SKIPS)
                .map(|(rel, why)| {
                    if rel.is_empty() {
                        why.clone()
                    } else {
                        format!("{rel} ({why})")
                    }
                })
                .collect();
            write!(f, "{}", named.join(", "))?;
            if self.skipped.len() > NAMED_SKIPS {
                write!(f, " and {} more", self.skipped.len() - NAMED_SKIPS)?;
            }
        }
        Ok(())
    }
}

/// How chunks are made, recorded per file: changing the model or chunking re-embeds the file.
pub(crate) fn recipe(model: &str, chunk_chars: usize, overlap: usize) -> String {
    format!("{model}|{chunk_chars}|{overlap}")
}

/// Parameters of one ingest.
pub(crate) struct Plan<'a> {
    pub source: &'a Path,
    pub exclude: Option<&'a Path>,
    pub chunk_chars: usize,
    pub overlap: usize,
}

/// Brings `store` up to date with `plan.source`.
pub(crate) async fn ingest(
    plan: Plan<'_>,
    embedder: &Embedder,
    store: &VectorStore,
) -> Result<IngestReport, ToolError> {
    let source = plan.source.to_path_buf();
    let exclude = plan.exclude.map(Path::to_path_buf);
    let found = tokio::task::spawn_blocking(move || scan(&source, exclude.as_deref()))
        .await
        .map_err(|e| ToolError::Failed(format!("reading the files stopped: {e}")))?
        .map_err(ToolError::Failed)?;
    let manifest = store.manifest().await?;
    let recipe = recipe(embedder.model(), plan.chunk_chars, plan.overlap);
    let mut report = IngestReport {
        skipped: found
            .skipped
            .iter()
            .map(|Skipped { rel, reason }| (rel.clone(), reason.clone()))
            .collect(),
        ..IngestReport::default()
    };

    let present: BTreeSet<&str> = found.files.iter().map(|f| f.rel.as_str()).collect();
    let gone: Vec<(String, FileEntry)> = manifest
        .iter()
        .filter(|(rel, _)| !present.contains(rel.as_str()))
        .map(|(r, e)| (r.clone(), e.clone()))
        .collect();
    if !gone.is_empty() {
        store.remove(&gone).await?;
        report.removed = gone.into_iter().map(|(rel, _)| rel).collect();
    }

    let changed: Vec<&SourceFile> = found
        .files
        .iter()
        .filter(|f| match manifest.get(&f.rel) {
            Some(e) => e.hash != f.hash || e.recipe != recipe,
            None => true,
        })
        .collect();
    report.unchanged = found.files.len() - changed.len();

    let mut group = Group::default();
    for file in changed {
        let path = file.path.clone();
        let text = tokio::task::spawn_blocking(move || read_text(&path))
            .await
            .map_err(|e| ToolError::Failed(format!("reading a file stopped: {e}")))?;
        let text = match text {
            FileText::Text(t) => t,
            // Changed or removed between the scan and now: the next ingest sees it as it is then.
            FileText::Missing => continue,
            FileText::Skip(reason) => {
                report.skipped.push((file.rel.clone(), reason));
                continue;
            }
        };
        let hash = sha256_hex(text.as_bytes());
        let chunks = split(&text, plan.chunk_chars, plan.overlap);
        let ids: Vec<String> = (0..chunks.len())
            .map(|i| chunk_id(&file.rel, &hash, &recipe, i))
            .collect();
        group.texts.extend(chunks.into_iter().map(|c| c.text));
        group.files.push((
            file.rel.clone(),
            FileEntry {
                hash,
                recipe: recipe.clone(),
                ids,
            },
            manifest.get(&file.rel).cloned(),
        ));
        if group.texts.len() >= GROUP_CHUNKS {
            flush(&mut group, embedder, store, &mut report).await?;
        }
    }
    flush(&mut group, embedder, store, &mut report).await?;
    Ok(report)
}

/// Files waiting to be embedded together: (file, new entry, old entry) and their chunk texts in order.
#[derive(Default)]
struct Group {
    files: Vec<(String, FileEntry, Option<FileEntry>)>,
    texts: Vec<String>,
}

async fn flush(
    group: &mut Group,
    embedder: &Embedder,
    store: &VectorStore,
    report: &mut IngestReport,
) -> Result<(), ToolError> {
    if group.files.is_empty() {
        return Ok(());
    }
    let Group { files, texts } = std::mem::take(group);
    let vectors = embedder.embed_all(&texts).await?;
    let mut pairs = texts.into_iter().zip(vectors);
    let mut updates = Vec::with_capacity(files.len());
    for (rel, entry, old) in files {
        let chunks: Vec<NewChunk> = entry
            .ids
            .iter()
            .filter_map(|id| {
                pairs.next().map(|(text, vector)| NewChunk {
                    id: id.clone(),
                    file: rel.clone(),
                    text,
                    vector,
                })
            })
            .collect();
        report.chunks += chunks.len();
        report.embedded.push(rel.clone());
        updates.push((FileUpdate { rel, entry, chunks }, old));
    }
    store.replace(updates).await
}
