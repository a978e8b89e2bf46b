//! Builds the long-lived backends of tool and knowledge components from their typed config:
//! the `woodwork-tools` backend a tool component forwards calls to, and the knowledge base an
//! `llm`/`agent` with `knowledge_base:` retrieves context from. Paths are relative to the `.ww`
//! file's folder; errors name the component, the key and the fix, never a secret.

use crate::llm::props::ConfigError;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
pub use woodwork_knowledge::KnowledgeBase as Knowledge;
use woodwork_knowledge::{
    ChromaKb, ChromaSettings, EmbedderSettings, EmbeddingApi, Store, TextFileKb, TextFileSettings,
};
use woodwork_parser::schema::defaults;
use woodwork_parser::spec::{ChromaSpec, SecretPairs, Spec};
use woodwork_parser::{Component, Config, Kind};
use woodwork_tools::functions::{FunctionsSettings, PythonFunctions};
use woodwork_tools::mcp::{McpServer, McpSettings, McpTransport};
use woodwork_tools::web::{WebApi, WebSettings};
use woodwork_tools::ToolBackend;

/// Largest `documentation` file read (a description for a model, not a corpus).
const MAX_DOCUMENTATION: usize = 256 * 1024;
/// Where the embedded vector store lives when `path` is not given.
const DEFAULT_STORE_DIR: &str = ".woodwork/chroma";

pub use crate::cell::Backends;

/// The backends of `c` (none for kinds that have none); a [`ConfigError`] names the component,
/// the key and the fix, and its message is what a failed start reports.
pub fn build(c: &Component, config: &Config, base_dir: &Path) -> Result<Backends, ConfigError> {
    if !matches!(c.kind, Kind::Api | Kind::Mcp | Kind::KnowledgeBase) {
        return Ok(Backends::default());
    }
    let timeout = c.timeout.unwrap_or(Duration::from_secs(30));
    let tool: Arc<dyn ToolBackend> = match c.spec()? {
        Spec::ApiFunctions(f) => {
            let mut s = FunctionsSettings::new(c.name.clone(), base_dir.join(&f.path));
            s.python = resolve_program(&f.python, base_dir);
            s.call_timeout = timeout;
            s.documentation = documentation(c, f.documentation.as_deref(), base_dir)?;
            Arc::new(PythonFunctions::new(s))
        }
        Spec::ApiWeb(w) => {
            let mut s = WebSettings::new(c.name.clone(), w.url.clone());
            if let Some(m) = &w.method {
                s.method = m
                    .parse::<woodwork_tools::web::Method>()
                    .map_err(|e| ConfigError::invalid(c, e.to_string()))?;
            }
            s.headers = expose(&w.headers);
            s.documentation = documentation(c, w.documentation.as_deref(), base_dir)?;
            s.timeout = timeout;
            Arc::new(WebApi::new(s))
        }
        Spec::Mcp(m) => {
            let transport = match m.url {
                Some(url) => McpTransport::Http {
                    url,
                    headers: expose(&m.headers),
                },
                None => {
                    let mut command = m.command;
                    if command.len() == 1 {
                        // `command: "uvx mcp-server-time"`: words, like a shell without quoting.
                        command = command[0].split_whitespace().map(str::to_string).collect();
                    }
                    command.extend(m.args);
                    if command.is_empty() {
                        return Err(ConfigError::invalid(
                            c,
                            "give `command` (a stdio server) or `url` (streamable HTTP)",
                        ));
                    }
                    McpTransport::Stdio {
                        command,
                        env: expose(&m.env),
                        cwd: base_dir.to_path_buf(),
                    }
                }
            };
            let mut s = McpSettings::new(c.name.clone(), transport);
            s.call_timeout = timeout;
            Arc::new(McpServer::new(s))
        }
        Spec::TextFile(t) => {
            let kb = Knowledge::TextFile(Arc::new(TextFileKb::new(TextFileSettings {
                name: c.name.clone(),
                path: base_dir.join(&t.path),
            })));
            return Ok(Backends {
                tool: Some(kb.backend()),
                knowledge: Some(kb),
            });
        }
        Spec::Chroma(ch) => {
            let kb = Knowledge::Chroma(Arc::new(
                ChromaKb::new(chroma_settings(c, &ch, config, base_dir)?)
                    .map_err(|e| ConfigError::invalid(c, e.to_string()))?,
            ));
            return Ok(Backends {
                tool: Some(kb.backend()),
                knowledge: Some(kb),
            });
        }
        _ => return Ok(Backends::default()),
    };
    Ok(Backends {
        tool: Some(tool),
        knowledge: None,
    })
}

/// The pairs as the tool sends them: the one place header and env secrets are exposed.
fn expose(pairs: &SecretPairs) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect()
}

/// A program path: relative paths with a slash start at the .ww file's folder; bare names are
/// looked up in PATH.
fn resolve_program(p: &str, base_dir: &Path) -> std::path::PathBuf {
    if p.contains('/') {
        base_dir.join(p)
    } else {
        p.into()
    }
}

fn documentation(
    c: &Component,
    file: Option<&str>,
    base_dir: &Path,
) -> Result<Option<String>, ConfigError> {
    let Some(file) = file else {
        return Ok(None);
    };
    woodwork_tools::files::read_text(&base_dir.join(file), MAX_DOCUMENTATION)
        .map(Some)
        .map_err(|e| ConfigError::invalid(c, format!("`documentation`: {e}")))
}

fn chroma_settings(
    c: &Component,
    ch: &ChromaSpec,
    config: &Config,
    base_dir: &Path,
) -> Result<ChromaSettings, ConfigError> {
    if ch.client.as_deref() == Some("http") && ch.url.is_none() {
        return Err(ConfigError::invalid(
            c,
            "`client: \"http\"` needs `url: \"http://host:8000\"` (the Chroma server)",
        ));
    }
    let store = match &ch.url {
        Some(url) => {
            let mut store = Store::server(url.clone());
            if let Store::Server { headers, .. } = &mut store {
                *headers = expose(&ch.headers);
            }
            store
        }
        None => Store::Embedded {
            dir: base_dir.join(ch.path.as_deref().unwrap_or(DEFAULT_STORE_DIR)),
        },
    };
    let mut embedder = embedder(c, ch, config)?;
    if let Some(m) = &ch.embedding_model {
        embedder.model = m.clone();
    }
    let mut s = ChromaSettings::new(c.name.clone(), store, embedder);
    s.source = ch.file_to_embed.as_ref().map(|f| base_dir.join(f));
    // Each knowledge base its own collection unless the file shares one on purpose: two bases
    // in one store folder would otherwise overwrite each other's records.
    s.collection = ch.collection.clone().unwrap_or_else(|| c.name.clone());
    if let Some(t) = c.timeout {
        s.timeout = t;
    }
    Ok(s)
}

/// Embeddings from the `embedding:` component, else from the environment like OpenAI's SDK.
fn embedder(
    c: &Component,
    ch: &ChromaSpec,
    config: &Config,
) -> Result<EmbedderSettings, ConfigError> {
    let Some(name) = &ch.embedding else {
        let key = ch
            .api_key
            .as_ref()
            .map(|k| k.expose().to_string())
            .or_else(|| env_nonempty("OPENAI_API_KEY"));
        let base =
            env_nonempty("OPENAI_BASE_URL").unwrap_or_else(|| defaults::OPENAI_BASE_URL.into());
        if key.is_none() && base.contains("api.openai.com") {
            return Err(ConfigError::invalid(
                c,
                "embeddings need a provider: name `embedding: <an llm openai or llm ollama>`, or set OPENAI_API_KEY (and OPENAI_BASE_URL for another OpenAI-compatible server)",
            ));
        }
        return Ok(EmbedderSettings::openai(base, key));
    };
    let model = config
        .component(name)
        .ok_or_else(|| ConfigError::invalid(c, format!("`embedding: {name}` is not declared")))?;
    let api = match model.spec()? {
        Spec::OpenAi(p) => EmbeddingApi::OpenAi {
            base_url: p.base_url,
            api_key: p
                .api_key
                .map(|k| k.expose().to_string())
                .or_else(|| env_nonempty("OPENAI_API_KEY")),
        },
        Spec::Ollama(p) => EmbeddingApi::Ollama {
            base_url: p.base_url,
        },
        _ => {
            return Err(ConfigError::invalid(
                c,
                format!(
                    "`embedding: {name}` is an `llm {}`; embeddings come from an `llm openai` (its /embeddings) or an `llm ollama` (its /api/embed)",
                    model.type_name
                ),
            ))
        }
    };
    let mut e = EmbedderSettings::openai(String::new(), None);
    e.api = api;
    Ok(e)
}

fn env_nonempty(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}
