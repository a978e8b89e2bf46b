//! The embedded store: vectors and passages on disk under one folder, loaded whole at start and
//! searched in memory (see `index`), so a `.ww` with a knowledge base needs no server.
//!
//! Layout of `<dir>/<collection>/`: `vectors-<generation>.f32` (rows of little-endian f32, end
//! to end) and `index.json` (model, dims, generation, the rows' ids/files/texts, the manifest).
//! A save writes a new vectors file, then a new `index.json` through a temp file and a rename:
//! `index.json` names its vectors file, so a crash at any point leaves the old or the new store
//! whole, never a mix.

use crate::hit::Hit;
use crate::index::VectorIndex;
use crate::manifest::{FileUpdate, Manifest, NewChunk};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use woodwork_tools::files::read_capped;

/// Version of the on-disk layout (a store of another version is rebuilt).
const FORMAT: u32 = 1;
/// Largest `index.json` read (about 2 million 1,000-character chunks).
const MAX_INDEX_BYTES: usize = 4 * 1024 * 1024 * 1024;

/// One stored passage.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Row {
    id: String,
    file: String,
    text: String,
}

/// Everything the store holds; shared read-only with queries, copied on write.
#[derive(Clone, Debug, Default)]
struct Snapshot {
    model: String,
    rows: Vec<Row>,
    index: VectorIndex,
    files: Manifest,
}

#[derive(Deserialize)]
struct IndexFile {
    format: u32,
    model: String,
    dims: usize,
    generation: u64,
    vectors: String,
    rows: Vec<Row>,
    files: Manifest,
}

/// `IndexFile` as written, borrowing the snapshot instead of copying its texts.
#[derive(Serialize)]
struct IndexFileRef<'a> {
    format: u32,
    model: &'a str,
    dims: usize,
    generation: u64,
    vectors: &'a str,
    rows: &'a [Row],
    files: &'a Manifest,
}

/// An on-disk vector store for one collection.
pub struct EmbeddedStore {
    dir: PathBuf,
    state: RwLock<Arc<Snapshot>>,
    generation: AtomicU64,
    dirty: AtomicBool,
}

impl EmbeddedStore {
    /// A store in `<dir>/<collection>`; nothing is read until `open`.
    pub fn new(dir: &Path, collection: &str) -> Self {
        Self {
            dir: dir.join(collection),
            state: RwLock::new(Arc::default()),
            generation: AtomicU64::new(0),
            dirty: AtomicBool::new(false),
        }
    }

    /// The store's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Loads what is on disk. Vectors of another model than `model` are dropped (they cannot be
    /// compared with the new model's), as is a store that cannot be read (with a warning): the
    /// source files are still there to embed again.
    pub async fn open(&self, model: &str) -> Result<(), String> {
        let dir = self.dir.clone();
        let loaded = tokio::task::spawn_blocking(move || load(&dir))
            .await
            .map_err(|e| format!("loading the store stopped: {e}"))?;
        let (mut snapshot, generation) = match loaded {
            Ok(Some(loaded)) => loaded,
            Ok(None) => (Snapshot::default(), generation_on_disk(&self.dir)),
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "the knowledge base store cannot be read; its files will be embedded again");
                (Snapshot::default(), generation_on_disk(&self.dir))
            }
        };
        self.generation.store(generation, Ordering::Relaxed);
        if snapshot.model != model {
            if !snapshot.rows.is_empty() {
                tracing::info!(from = %snapshot.model, to = %model, "embedding model changed: every file is embedded again");
            }
            snapshot = Snapshot {
                model: model.to_string(),
                ..Snapshot::default()
            };
            self.dirty.store(true, Ordering::Relaxed);
        }
        *self.state.write() = Arc::new(snapshot);
        Ok(())
    }

    pub(crate) fn manifest(&self) -> Manifest {
        self.state.read().files.clone()
    }

    /// Passages held.
    pub fn len(&self) -> usize {
        self.state.read().rows.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the files `remove` and stores `updates` (each replacing its file's old chunks).
    pub(crate) fn apply(&self, remove: &[String], updates: Vec<FileUpdate>) -> Result<(), String> {
        if remove.is_empty() && updates.is_empty() {
            return Ok(());
        }
        let mut guard = self.state.write();
        let snap = Arc::make_mut(&mut guard);
        let gone: BTreeSet<&str> = remove
            .iter()
            .map(String::as_str)
            .chain(updates.iter().map(|u| u.rel.as_str()))
            .collect();
        let keep: Vec<bool> = snap
            .rows
            .iter()
            .map(|r| !gone.contains(r.file.as_str()))
            .collect();
        if keep.iter().any(|k| !k) {
            snap.index.retain(&keep);
            let mut k = keep.iter();
            snap.rows.retain(|_| k.next().copied().unwrap_or(false));
        }
        for rel in remove {
            snap.files.remove(rel);
        }
        for update in updates {
            for chunk in &update.chunks {
                push_chunk(snap, chunk)?;
            }
            snap.files.insert(update.rel, update.entry);
        }
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Stores `chunks` as they are (no manifest entry): used by benchmarks to fill a store
    /// with synthetic vectors.
    pub fn insert_chunks(&self, chunks: &[NewChunk]) -> Result<(), String> {
        let mut guard = self.state.write();
        let snap = Arc::make_mut(&mut guard);
        for chunk in chunks {
            push_chunk(snap, chunk)?;
        }
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Writes the store to disk if anything changed since the last save.
    pub async fn save(&self) -> Result<(), String> {
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        let snap = self.state.read().clone();
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let dir = self.dir.clone();
        let saved = tokio::task::spawn_blocking(move || save(&dir, &snap, generation))
            .await
            .map_err(|e| format!("saving the store stopped: {e}"))
            .and_then(|r| r);
        if saved.is_err() {
            self.dirty.store(true, Ordering::Relaxed);
        }
        saved
    }

    /// The `n` passages most similar to `query` (any length; normalised here), best first.
    pub async fn search(&self, query: Vec<f32>, n: usize) -> Result<Vec<Hit>, String> {
        let snap = self.state.read().clone();
        if snap.rows.is_empty() {
            return Ok(Vec::new());
        }
        if query.len() != snap.index.dims() {
            return Err(format!(
                "the query's vector has {} numbers but the store's have {}; was the embedding model changed while running?",
                query.len(),
                snap.index.dims()
            ));
        }
        tokio::task::spawn_blocking(move || {
            snap.index
                .search(&query, n)
                .into_iter()
                .filter_map(|(r, score)| {
                    snap.rows.get(r).map(|row| Hit {
                        source: row.file.clone(),
                        text: row.text.clone(),
                        score,
                    })
                })
                .collect()
        })
        .await
        .map_err(|e| format!("the search stopped: {e}"))
    }
}

fn push_chunk(snap: &mut Snapshot, chunk: &NewChunk) -> Result<(), String> {
    if snap.index.is_empty() && snap.index.dims() != chunk.vector.len() {
        snap.index = VectorIndex::new(chunk.vector.len());
    }
    snap.index.push(&chunk.vector).map_err(|e| {
        format!("{e}: the embedding model answered vectors of a new length; delete the store folder to start over")
    })?;
    snap.rows.push(Row {
        id: chunk.id.clone(),
        file: chunk.file.clone(),
        text: chunk.text.clone(),
    });
    Ok(())
}

fn load(dir: &Path) -> Result<Option<(Snapshot, u64)>, String> {
    let index_path = dir.join("index.json");
    let Some(read) = read_capped(&index_path, MAX_INDEX_BYTES)? else {
        return Ok(None);
    };
    let file: IndexFile = serde_json::from_slice(&read.bytes)
        .map_err(|e| format!("`{}` is not a store index: {e}", index_path.display()))?;
    if file.format != FORMAT {
        return Err(format!(
            "`{}` has format {}, this version reads {FORMAT}",
            index_path.display(),
            file.format
        ));
    }
    if file.vectors.contains('/') || file.vectors.contains("..") {
        return Err(format!(
            "`{}` names a vectors file outside its folder",
            index_path.display()
        ));
    }
    let vectors_path = dir.join(&file.vectors);
    let want = file.rows.len().saturating_mul(file.dims).saturating_mul(4);
    let bytes = read_capped(&vectors_path, want + 1)?
        .ok_or_else(|| format!("`{}` is missing", vectors_path.display()))?;
    if bytes.bytes.len() != want || bytes.total != want as u64 {
        return Err(format!(
            "`{}` holds {} bytes, {} rows of {} numbers need {want}",
            vectors_path.display(),
            bytes.total,
            file.rows.len(),
            file.dims
        ));
    }
    let floats: Vec<f32> = bytes
        .bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let index = if file.rows.is_empty() {
        VectorIndex::new(file.dims)
    } else {
        VectorIndex::from_normalised(file.dims, floats)?
    };
    Ok(Some((
        Snapshot {
            model: file.model,
            rows: file.rows,
            index,
            files: file.files,
        },
        file.generation,
    )))
}

/// The highest generation of a vectors file in `dir`, so a rebuilt store never reuses a name.
fn generation_on_disk(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("vectors-")?
                .strip_suffix(".f32")?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or(0)
}

fn save(dir: &Path, snap: &Snapshot, generation: u64) -> Result<(), String> {
    let fail = |what: &str, e: std::io::Error| format!("cannot {what} in `{}`: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(|e| fail("create the store folder", e))?;
    let vectors_name = format!("vectors-{generation}.f32");
    let mut bytes = Vec::with_capacity(snap.index.as_slice().len() * 4);
    for x in snap.index.as_slice() {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    write_replace(dir, &vectors_name, &bytes).map_err(|e| fail("write the vectors", e))?;
    let file = IndexFileRef {
        format: FORMAT,
        model: &snap.model,
        dims: snap.index.dims(),
        generation,
        vectors: &vectors_name,
        rows: &snap.rows,
        files: &snap.files,
    };
    let json =
        serde_json::to_vec(&file).map_err(|e| format!("cannot encode the store index: {e}"))?;
    write_replace(dir, "index.json", &json).map_err(|e| fail("write index.json", e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    // Old generations are garbage once index.json names the new one.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let stale =
                (name.starts_with("vectors-") && name != vectors_name) || name.ends_with(".tmp");
            if stale {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

/// Writes `name` in `dir` through a temp file, fsync and rename.
fn write_replace(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
