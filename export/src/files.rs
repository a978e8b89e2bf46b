//! The files a system needs next to its `.ww`: prompt files, `api functions` and hook scripts,
//! documentation, knowledge-base files and folders to embed. Any plain string in the file that
//! names a regular file in the file's directory (a `file.py::function` hook too) is one; a
//! `file_to_embed` folder brings its files. Paths keep their place relative to the `.ww`, so the
//! container's working copy resolves them exactly as on this machine.

use crate::error::ExportError;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Most files exported (a typo guard: a folder to embed that is someone's home directory).
pub const MAX_FILES: usize = 2000;
/// Largest single file exported.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Most bytes exported in all.
pub const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

/// Folders never exported from a folder to embed (DESIGN.md §3's skip list).
const SKIPPED_DIRS: [&str; 4] = [".git", "node_modules", ".venv", "__pycache__"];

/// One file of the system: its path relative to the `.ww`'s directory (`/`-separated) and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysFile {
    pub rel: String,
    pub bytes: Vec<u8>,
}

/// Collects files in a sorted, de-duplicated set.
pub struct Collector {
    base: PathBuf,
    files: BTreeMap<String, Vec<u8>>,
    total: u64,
    pub warnings: Vec<String>,
}

impl Collector {
    /// A collector for files under `base` (the `.ww`'s directory).
    pub fn new(base: &Path) -> Result<Collector, ExportError> {
        let base = base.canonicalize().map_err(|source| ExportError::Read {
            path: base.to_path_buf(),
            source,
        })?;
        Ok(Collector {
            base,
            files: BTreeMap::new(),
            total: 0,
            warnings: Vec::new(),
        })
    }

    /// Adds the file a string from the `.ww` names, if it names one; `what` is the string.
    pub fn mention(&mut self, what: &str) -> Result<(), ExportError> {
        let text = what.split("::").next().unwrap_or("").trim();
        if text.is_empty() || text.len() > 1024 || text.contains("://") || text.contains('\n') {
            return Ok(());
        }
        let path = Path::new(text);
        if path.is_absolute() {
            if path.is_file() && !is_system_path(path) {
                self.warnings.push(format!(
                    "`{text}` is an absolute path: it is not exported, so it must exist in the container too"
                ));
            }
            return Ok(());
        }
        let full = self.base.join(path);
        if full.is_file() {
            self.add_file(text, &full)?;
        }
        Ok(())
    }

    /// Adds every file under the folder (or the file) `what` names, for embedding.
    pub fn folder(&mut self, what: &str) -> Result<(), ExportError> {
        let path = Path::new(what);
        if path.is_absolute() {
            return self.mention(what);
        }
        let full = self.base.join(path);
        if full.is_file() {
            return self.add_file(what, &full);
        }
        if !full.is_dir() {
            return Ok(());
        }
        let canonical = self.inside(what, &full)?;
        let mut stack = vec![canonical];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|source| ExportError::Read {
                path: dir.clone(),
                source,
            })?;
            let mut paths: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let meta = match std::fs::symlink_metadata(&p) {
                    Ok(m) => m,
                    Err(_) => continue,
                };
                if meta.is_dir() && !SKIPPED_DIRS.contains(&name) {
                    stack.push(p);
                } else if meta.is_file() {
                    let shown = p
                        .strip_prefix(&self.base)
                        .unwrap_or(&p)
                        .display()
                        .to_string();
                    self.add_file(&shown, &p)?;
                }
            }
        }
        Ok(())
    }

    /// The main `.ww` file itself, under its own name.
    pub fn main_file(&mut self, path: &Path) -> Result<String, ExportError> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                ExportError::invalid(
                    format!("{} has no usable file name", path.display()),
                    "rename the file to a UTF-8 name such as `main.ww`",
                )
            })?
            .to_string();
        self.add_file(&name, &self.base.join(&name))?;
        Ok(name)
    }

    /// The collected files, sorted by path.
    pub fn finish(self) -> (Vec<SysFile>, Vec<String>) {
        let files = self
            .files
            .into_iter()
            .map(|(rel, bytes)| SysFile { rel, bytes })
            .collect();
        (files, self.warnings)
    }

    /// The canonical path of `full`, refused when it leaves the `.ww`'s directory.
    fn inside(&self, what: &str, full: &Path) -> Result<PathBuf, ExportError> {
        let canonical = full.canonicalize().map_err(|source| ExportError::Read {
            path: full.to_path_buf(),
            source,
        })?;
        if !canonical.starts_with(&self.base) {
            return Err(ExportError::invalid(
                format!(
                    "`{what}` is outside {} (the .ww file's directory), so the exported system could not find it",
                    self.base.display()
                ),
                "move the file next to the .ww file (or below it) and refer to it by that relative path",
            ));
        }
        Ok(canonical)
    }

    fn add_file(&mut self, what: &str, full: &Path) -> Result<(), ExportError> {
        let canonical = self.inside(what, full)?;
        let rel_path = canonical.strip_prefix(&self.base).unwrap_or(&canonical);
        let mut parts = Vec::new();
        for c in rel_path.components() {
            match c {
                Component::Normal(s) => match s.to_str() {
                    Some(s) => parts.push(s.to_string()),
                    None => {
                        self.warnings.push(format!(
                            "`{what}` has a name that is not UTF-8: not exported"
                        ));
                        return Ok(());
                    }
                },
                _ => return Ok(()),
            }
        }
        let rel = parts.join("/");
        if rel == ".env" || rel.ends_with("/.env") {
            self.warnings.push(format!(
                "`{rel}` is not exported (it holds secrets): give its variables to the container as secrets"
            ));
            return Ok(());
        }
        if self.files.contains_key(&rel) {
            return Ok(());
        }
        if self.files.len() >= MAX_FILES {
            return Err(ExportError::invalid(
                format!("the system refers to more than {MAX_FILES} files (at `{what}`)"),
                "point `file_to_embed` at the folder of documents only, not a whole tree",
            ));
        }
        let len = std::fs::metadata(&canonical)
            .map_err(|source| ExportError::Read {
                path: canonical.clone(),
                source,
            })?
            .len();
        if len > MAX_FILE_BYTES || self.total + len > MAX_TOTAL_BYTES {
            return Err(ExportError::invalid(
                format!(
                    "`{what}` ({len} bytes) takes the exported files past {MAX_FILE_BYTES} bytes for one file or {MAX_TOTAL_BYTES} in all"
                ),
                "serve large documents from a Chroma server (`url:`) or a volume instead of exporting them",
            ));
        }
        let bytes = std::fs::read(&canonical).map_err(|source| ExportError::Read {
            path: canonical.clone(),
            source,
        })?;
        self.total += bytes.len() as u64;
        self.files.insert(rel, bytes);
        Ok(())
    }
}

/// Paths that exist in any Linux image (interpreters), so naming one is not a missing file.
fn is_system_path(p: &Path) -> bool {
    ["/usr/", "/bin/", "/etc/", "/lib/", "/opt/", "/tmp/"]
        .iter()
        .any(|prefix| p.starts_with(prefix))
}
