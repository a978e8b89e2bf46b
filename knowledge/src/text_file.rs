//! `knowledge_base text_file { path }`: one plain text file an agent can read, overwrite and
//! search by words, and that an llm can use as its retrieval source.

use crate::hit::Hit;
use crate::inputs::{action_name, string_input};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use woodwork_tools::files::{kind_of, read_capped};
use woodwork_tools::observation::{clip, MAX_OBSERVATION};
use woodwork_tools::{Readiness, ToolBackend, ToolError, ToolFuture, ToolRequest};

/// Most bytes `query` searches: a huge log must not be read whole into memory per call.
pub const MAX_SEARCH_BYTES: usize = 8 * 1024 * 1024;
/// Largest `content` a `write` accepts, so one model reply cannot fill the disk.
pub const MAX_WRITE_BYTES: usize = 8 * 1024 * 1024;
/// Most lines a `query` answers, so the observation stays readable.
pub const MAX_QUERY_LINES: usize = 20;
/// Longest line shown in a `query` answer; longer lines are cut with `…`.
const MAX_LINE_SHOWN: usize = 1000;
/// Most distinct query words matched (a pasted paragraph must not make every line a scan of hundreds).
const MAX_QUERY_WORDS: usize = 64;

const ACTIONS: &str = "read, write, query";

/// Settings of a `knowledge_base text_file` component, built by the runtime from the `.ww`.
#[derive(Clone, Debug)]
pub struct TextFileSettings {
    /// The component's name (used in descriptions and errors).
    pub name: String,
    /// The file, absolute (the runtime resolves it against the `.ww` file's folder).
    pub path: PathBuf,
}

/// A text file as a tool: cheap to clone, all clones share one writer lock.
#[derive(Clone)]
pub struct TextFileKb {
    inner: Arc<Inner>,
}

struct Inner {
    settings: TextFileSettings,
    /// One write at a time, so two sessions' writes never interleave their temp files.
    write_lock: tokio::sync::Mutex<()>,
}

/// What reading the file found.
enum Contents {
    Missing,
    Text { text: String, total: u64 },
}

impl TextFileKb {
    /// Builds the backend; nothing is touched on disk until a call.
    pub fn new(settings: TextFileSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings,
                write_lock: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The settings it was built with.
    pub fn settings(&self) -> &TextFileSettings {
        &self.inner.settings
    }

    /// The lines best matching `query` (most query words first), at most `n`, so an llm can use
    /// the file as its knowledge base. A missing file has no hits.
    pub async fn retrieve(&self, query: &str, n: usize) -> Result<Vec<Hit>, ToolError> {
        let inner = self.inner.clone();
        let words = query_words(query);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let contents = inner.load(MAX_SEARCH_BYTES).await?;
        let Contents::Text { text, .. } = contents else {
            return Ok(Vec::new());
        };
        let source = inner.display_name();
        Ok(best_lines(&text, &words, n)
            .into_iter()
            .map(|m| Hit {
                source: source.clone(),
                text: shown_line(m.number, m.line),
                score: m.score,
            })
            .collect())
    }
}

impl Inner {
    fn display_name(&self) -> String {
        match self.settings.path.file_name() {
            Some(n) => n.to_string_lossy().into_owned(),
            None => self.settings.path.display().to_string(),
        }
    }

    async fn load(&self, cap: usize) -> Result<Contents, ToolError> {
        let path = self.settings.path.clone();
        let read = tokio::task::spawn_blocking(move || read_capped(&path, cap))
            .await
            .map_err(|e| ToolError::Failed(format!("reading the text file stopped: {e}")))?
            .map_err(|e| ToolError::Failed(format!("text file `{}`: {e}", self.settings.name)))?;
        Ok(match read {
            None => Contents::Missing,
            Some(c) => Contents::Text {
                text: decode(c.bytes),
                total: c.total,
            },
        })
    }

    fn empty_note(&self) -> String {
        format!(
            "the text file `{}` is empty: there is no file at {} yet (`write` creates it)",
            self.settings.name,
            self.settings.path.display()
        )
    }

    async fn read(&self) -> Result<String, ToolError> {
        match self.load(MAX_OBSERVATION).await? {
            Contents::Missing => Ok(self.empty_note()),
            Contents::Text { text, total } => {
                if text.is_empty() {
                    return Ok(format!("the text file `{}` is empty", self.settings.name));
                }
                if total > text.len() as u64 {
                    return Ok(format!("{text} …(truncated: {total} bytes in all)"));
                }
                Ok(clip(text, MAX_OBSERVATION))
            }
        }
    }

    async fn write(&self, content: String) -> Result<String, ToolError> {
        if content.len() > MAX_WRITE_BYTES {
            return Err(ToolError::Failed(format!(
                "`content` is {} bytes; the most a write takes is {MAX_WRITE_BYTES}",
                content.len()
            )));
        }
        let _one_writer = self.write_lock.lock().await;
        let path = self.settings.path.clone();
        let len = content.len();
        tokio::task::spawn_blocking(move || write_atomic(&path, content.as_bytes()))
            .await
            .map_err(|e| ToolError::Failed(format!("writing the text file stopped: {e}")))?
            .map_err(|e| ToolError::Failed(format!("text file `{}`: {e}", self.settings.name)))?;
        Ok(format!(
            "wrote {len} bytes to {}",
            self.settings.path.display()
        ))
    }

    async fn query(&self, query: String) -> Result<String, ToolError> {
        let words = query_words(&query);
        if words.is_empty() {
            return Err(ToolError::Failed(
                "`query` has no words to look for; give it a few words, e.g. {\"query\": \"invoice total\"}"
                    .into(),
            ));
        }
        let (text, total) = match self.load(MAX_SEARCH_BYTES).await? {
            Contents::Missing => return Ok(self.empty_note()),
            Contents::Text { text, total } => (text, total),
        };
        let found = best_lines(&text, &words, MAX_QUERY_LINES);
        let mut out = if found.is_empty() {
            format!("no line matches `{}`", query.trim())
        } else {
            found
                .iter()
                .map(|m| shown_line(m.number, m.line))
                .collect::<Vec<_>>()
                .join("\n")
        };
        if total > text.len() as u64 {
            out.push_str(&format!(
                "\n(only the first {MAX_SEARCH_BYTES} of {total} bytes were searched)"
            ));
        }
        Ok(clip(out, MAX_OBSERVATION))
    }
}

impl ToolBackend for TextFileKb {
    fn description(&self) -> String {
        let s = &self.inner.settings;
        format!(
            "Text file knowledge base `{}` ({}). Actions:\n\
             - read {{}}: the whole file.\n\
             - write {{content: text}}: replaces the file's contents with `content`.\n\
             - query {{query: text}}: the lines containing the query's words (case-insensitive), \
             most words first, as `line N: text`.",
            s.name,
            s.path.display()
        )
    }

    fn start(&self) -> BoxFuture<'static, Result<(), ToolError>> {
        async { Ok(()) }.boxed()
    }

    fn call(&self, request: ToolRequest) -> ToolFuture {
        let inner = self.inner.clone();
        async move {
            let label = format!("text file `{}`", inner.settings.name);
            let action = action_name(&request, &label, ACTIONS)?;
            match action.as_str() {
                "read" => inner.read().await,
                "write" => {
                    let content = string_input(
                        &request.inputs,
                        "content",
                        "write",
                        "the new contents of the file",
                    )?;
                    inner.write(content).await
                }
                "query" => {
                    let query =
                        string_input(&request.inputs, "query", "query", "the words to look for")?;
                    inner.query(query).await
                }
                other => Err(ToolError::Failed(format!(
                    "text file `{}` has no action `{other}`; use one of: {ACTIONS}",
                    inner.settings.name
                ))),
            }
        }
        .boxed()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Ready
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        async {}.boxed()
    }
}

/// Bytes as text: invalid UTF-8 is replaced, and a character cut by the read cap is dropped.
fn decode(mut bytes: Vec<u8>) -> String {
    if let Err(e) = std::str::from_utf8(&bytes) {
        if e.error_len().is_none() {
            bytes.truncate(e.valid_up_to());
        }
    }
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// The distinct lower-cased words of a query.
fn query_words(query: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for w in query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let w = w.to_lowercase();
        if !words.contains(&w) {
            words.push(w);
            if words.len() == MAX_QUERY_WORDS {
                break;
            }
        }
    }
    words
}

struct LineMatch<'a> {
    number: usize,
    line: &'a str,
    matched: usize,
    score: f32,
}

/// Lines containing at least one word, most words first, then in file order; at most `n`.
fn best_lines<'a>(text: &'a str, words: &[String], n: usize) -> Vec<LineMatch<'a>> {
    let mut found: Vec<LineMatch<'a>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let lower = line.to_lowercase();
        let matched = words.iter().filter(|w| lower.contains(w.as_str())).count();
        if matched > 0 {
            let score = matched as f32 / words.len() as f32;
            found.push(LineMatch {
                number: i + 1,
                line,
                matched,
                score,
            });
        }
    }
    found.sort_by(|a, b| b.matched.cmp(&a.matched).then(a.number.cmp(&b.number)));
    found.truncate(n);
    found
}

fn shown_line(number: usize, line: &str) -> String {
    if line.len() <= MAX_LINE_SHOWN {
        return format!("line {number}: {line}");
    }
    let mut end = MAX_LINE_SHOWN;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("line {number}: {}…", &line[..end])
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces the file's contents the way the Python engine's `write` does, but through a temp file
/// renamed over it, so a crash leaves the old or the new contents and never half of either.
fn write_atomic(path: &Path, content: &[u8]) -> Result<(), String> {
    // Write through a symlink to its target rather than replacing the link with a file.
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            format!(
                "`{}` is a symlink whose target cannot be resolved: {e}",
                path.display()
            )
        })?,
        _ => path.to_path_buf(),
    };
    let existing = match std::fs::metadata(&target) {
        Ok(m) if !m.is_file() => {
            return Err(format!(
                "`{}` is {}, not a regular file; point `path` at a text file",
                target.display(),
                kind_of(&m)
            ))
        }
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot inspect `{}`: {e}", target.display())),
    };
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| format!("`{}` has no parent folder", target.display()))?;
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create the folder `{}`: {e}", parent.display()))?;
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content)?;
        if let Some(m) = &existing {
            f.set_permissions(m.permissions())?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, &target)?;
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write `{}`: {e}", target.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_more_query_words_come_first() {
        let text = "apples and pears\nonly pears here\nnothing\nPEARS and APPLES again";
        let words = query_words("Apples, pears!");
        let found = best_lines(text, &words, 10);
        let numbers: Vec<usize> = found.iter().map(|m| m.number).collect();
        assert_eq!(numbers, vec![1, 4, 2]);
        assert_eq!(found[0].score, 1.0);
        assert_eq!(best_lines(text, &words, 1).len(), 1);
    }

    #[test]
    fn a_character_cut_by_the_cap_is_dropped_not_garbled() {
        let mut bytes = "aé".as_bytes().to_vec();
        bytes.pop();
        assert_eq!(decode(bytes), "a");
        assert_eq!(decode(vec![b'a', 0xff, b'b']), "a\u{fffd}b");
    }
}
