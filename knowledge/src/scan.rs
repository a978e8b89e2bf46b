//! Finding the text files under `file_to_embed`: a walk that honours `.gitignore`, skips
//! dependency and tool folders and hidden files, and reads only regular UTF-8 text files of
//! bounded size; everything left out is reported with the reason.

use ignore::WalkBuilder;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use woodwork_tools::files::read_capped;

/// Largest file embedded; bigger ones are reported as skipped (a log or a data dump is rarely
/// knowledge, and would cost thousands of embeddings).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Most files one ingest considers, so pointing at `/` cannot walk the whole disk.
pub const MAX_FILES: usize = 100_000;
/// Folders never walked into, whatever `.gitignore` says.
pub const SKIPPED_DIRS: [&str; 4] = [".git", "node_modules", ".venv", "__pycache__"];

/// A text file found under the source, identified by its contents' hash.
#[derive(Clone, Debug)]
pub(crate) struct SourceFile {
    /// Path relative to the source folder, `/`-separated (what `[File: …]` shows).
    pub rel: String,
    pub path: PathBuf,
    /// SHA-256 of the contents, hex.
    pub hash: String,
}

/// A file left out, and why.
#[derive(Clone, Debug)]
pub(crate) struct Skipped {
    pub rel: String,
    pub reason: String,
}

/// What a walk found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub files: Vec<SourceFile>,
    pub skipped: Vec<Skipped>,
}

/// A file's text, or why it is not embedded.
pub(crate) enum FileText {
    Text(String),
    Missing,
    Skip(String),
}

/// Reads `path` as embeddable text: a regular file of at most `MAX_FILE_BYTES`, valid UTF-8,
/// without NUL bytes.
pub(crate) fn read_text(path: &Path) -> FileText {
    let read = match read_capped(path, MAX_FILE_BYTES + 1) {
        Ok(None) => return FileText::Missing,
        Ok(Some(r)) => r,
        Err(e) => return FileText::Skip(e),
    };
    if read.total > MAX_FILE_BYTES as u64 {
        return FileText::Skip(format!(
            "larger than {} MiB ({} bytes)",
            MAX_FILE_BYTES >> 20,
            read.total
        ));
    }
    if read.bytes.contains(&0) {
        return FileText::Skip("binary (has NUL bytes)".into());
    }
    match String::from_utf8(read.bytes) {
        Ok(s) => FileText::Text(s),
        Err(_) => FileText::Skip("not UTF-8 text".into()),
    }
}

/// Hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Walks `source` (a file or a folder), never entering `exclude` (the store's own folder).
pub(crate) fn scan(source: &Path, exclude: Option<&Path>) -> Result<Scan, String> {
    let meta = std::fs::metadata(source).map_err(|e| {
        format!(
            "file_to_embed `{}` cannot be read ({e}); point it at an existing file or folder",
            source.display()
        )
    })?;
    let mut scan = Scan::default();
    if meta.is_file() {
        let rel = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        add_file(&mut scan, rel, source.to_path_buf());
        return Ok(scan);
    }
    if !meta.is_dir() {
        return Err(format!(
            "file_to_embed `{}` is {}; point it at a file or a folder",
            source.display(),
            woodwork_tools::files::kind_of(&meta)
        ));
    }
    let exclude: Option<PathBuf> = exclude.map(Path::to_path_buf);
    let walker = WalkBuilder::new(source)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            if is_dir && SKIPPED_DIRS.iter().any(|d| entry.file_name() == *d) {
                return false;
            }
            !exclude
                .as_deref()
                .is_some_and(|x| entry.path().starts_with(x))
        })
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                scan.skipped.push(Skipped {
                    rel: String::new(),
                    reason: format!("walk error: {e}"),
                });
                continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.into_path();
        let Some(rel) = path
            .strip_prefix(source)
            .ok()
            .and_then(|r| r.to_str())
            .map(str::to_string)
        else {
            scan.skipped.push(Skipped {
                rel: path.to_string_lossy().into_owned(),
                reason: "its name is not UTF-8".into(),
            });
            continue;
        };
        if scan.files.len() + scan.skipped.len() >= MAX_FILES {
            scan.skipped.push(Skipped {
                rel: "…".into(),
                reason: format!("more than {MAX_FILES} files: the rest of the folder was not read"),
            });
            break;
        }
        add_file(&mut scan, rel, path);
    }
    Ok(scan)
}

fn add_file(scan: &mut Scan, rel: String, path: PathBuf) {
    match read_text(&path) {
        FileText::Text(text) if text.trim().is_empty() => {
            scan.skipped.push(Skipped {
                rel,
                reason: "no text".into(),
            });
        }
        FileText::Text(text) => {
            let hash = sha256_hex(text.as_bytes());
            scan.files.push(SourceFile { rel, path, hash });
        }
        FileText::Missing => {}
        FileText::Skip(reason) => {
            tracing::debug!(file = %rel, %reason, "not embedded");
            scan.skipped.push(Skipped { rel, reason });
        }
    }
}
