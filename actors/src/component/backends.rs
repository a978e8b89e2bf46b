//! Builds the long-lived backends of tool and knowledge components from their typed config:
//! the `woodwork-tools` backend a tool component forwards calls to, and the knowledge base an
//! `llm`/`agent` with `knowledge_base:` retrieves context from. Paths are relative to the `.ww`
//! file's folder; errors name the component, the key and the fix, never a secret.

use crate::llm::props::Props;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
pub use woodwork_knowledge::KnowledgeBase as Knowledge;
use woodwork_knowledge::{
    ChromaKb, ChromaSettings, EmbedderSettings, EmbeddingApi, Store, TextFileKb, TextFileSettings,
};
use woodwork_parser::{Component, Config, Kind};
use woodwork_tools::functions::{FunctionsSettings, PythonFunctions};
use woodwork_tools::mcp::{McpServer, McpSettings, McpTransport};
use woodwork_tools::web::{WebApi, WebSettings};
use woodwork_tools::ToolBackend;

/// Largest `documentation` file read (a description for a model, not a corpus).
const MAX_DOCUMENTATION: usize = 256 * 1024;
/// Where the embedded vector store lives when `path` is not given.
const DEFAULT_STORE_DIR: &str = ".woodwork/chroma";
/// OpenAI's API, the embeddings default when nothing else is named.
const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Ollama's default address.
const OLLAMA_BASE_URL: &str = "http://127.0.0.1:11434";

/// What a component's cell holds besides its model.
#[derive(Default, Clone)]
pub struct Backends {
    pub tool: Option<Arc<dyn ToolBackend>>,
    pub knowledge: Option<Knowledge>,
}

/// The backends of `spec` (none for kinds that have none).
pub fn build(spec: &Component, config: &Config, base_dir: &Path) -> Result<Backends, String> {
    let props = Props::new(spec);
    let timeout = spec.timeout.unwrap_or(Duration::from_secs(30));
    let tool: Arc<dyn ToolBackend> = match (spec.kind, spec.type_name.as_str()) {
        (Kind::Api, "functions") => {
            let path = required(&props, spec, "path")?;
            let mut s = FunctionsSettings::new(spec.name.clone(), base_dir.join(path));
            s.python = props
                .string("python")?
                .map(|p| resolve_program(&p, base_dir))
                .unwrap_or_else(|| "python3".into());
            s.call_timeout = timeout;
            s.documentation = documentation(&props, spec, base_dir)?;
            Arc::new(PythonFunctions::new(s))
        }
        (Kind::Api, "web") => {
            let url = required(&props, spec, "url")?;
            let mut s = WebSettings::new(spec.name.clone(), url);
            if let Some(m) = props.string("method")? {
                s.method = m.parse().map_err(|e| format!("{}: {e}", props.context()))?;
            }
            s.headers = props.secret_map("headers")?;
            s.documentation = documentation(&props, spec, base_dir)?;
            s.timeout = timeout;
            Arc::new(WebApi::new(s))
        }
        (Kind::Mcp, "server") => {
            let transport = match props.string("url")? {
                Some(url) => McpTransport::Http {
                    url,
                    headers: props.secret_map("headers")?,
                },
                None => {
                    let mut command = props.string_list("command")?;
                    if command.len() == 1 {
                        // `command: "uvx mcp-server-time"`: words, like a shell without quoting.
                        command = command[0].split_whitespace().map(str::to_string).collect();
                    }
                    command.extend(props.string_list("args")?);
                    if command.is_empty() {
                        return Err(format!(
                            "{}: give `command` (a stdio server) or `url` (streamable HTTP)",
                            props.context()
                        ));
                    }
                    McpTransport::Stdio {
                        command,
                        env: props.secret_map("env")?,
                        cwd: base_dir.to_path_buf(),
                    }
                }
            };
            let mut s = McpSettings::new(spec.name.clone(), transport);
            s.call_timeout = timeout;
            Arc::new(McpServer::new(s))
        }
        (Kind::KnowledgeBase, "text_file") => {
            let path = required(&props, spec, "path")?;
            let kb = Knowledge::TextFile(Arc::new(TextFileKb::new(TextFileSettings {
                name: spec.name.clone(),
                path: base_dir.join(path),
            })));
            return Ok(Backends {
                tool: Some(kb.backend()),
                knowledge: Some(kb),
            });
        }
        (Kind::KnowledgeBase, "chroma") => {
            let kb = Knowledge::Chroma(Arc::new(
                ChromaKb::new(chroma_settings(spec, &props, config, base_dir)?)
                    .map_err(|e| format!("{}: {e}", props.context()))?,
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

fn required(props: &Props<'_>, spec: &Component, key: &str) -> Result<String, String> {
    props
        .string(key)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            format!(
                "{}: `{key}` is missing or empty",
                Props::new(spec).context()
            )
        })
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
    props: &Props<'_>,
    spec: &Component,
    base_dir: &Path,
) -> Result<Option<String>, String> {
    let Some(file) = props.string("documentation")? else {
        return Ok(None);
    };
    woodwork_tools::files::read_text(&base_dir.join(&file), MAX_DOCUMENTATION)
        .map(Some)
        .map_err(|e| format!("{}: `documentation`: {e}", Props::new(spec).context()))
}

fn chroma_settings(
    spec: &Component,
    props: &Props<'_>,
    config: &Config,
    base_dir: &Path,
) -> Result<ChromaSettings, String> {
    let server = props.string("url")?;
    if props.string("client")?.as_deref() == Some("http") && server.is_none() {
        return Err(format!(
            "{}: `client: \"http\"` needs `url: \"http://host:8000\"` (the Chroma server)",
            props.context()
        ));
    }
    let store = match server {
        Some(url) => {
            let mut store = Store::server(url);
            if let Store::Server { headers, .. } = &mut store {
                *headers = props.secret_map("headers")?;
            }
            store
        }
        None => Store::Embedded {
            dir: base_dir.join(
                props
                    .string("path")?
                    .unwrap_or_else(|| DEFAULT_STORE_DIR.into()),
            ),
        },
    };
    let mut embedder = embedder(spec, props, config)?;
    if let Some(m) = props.string("embedding_model")? {
        embedder.model = m;
    }
    let mut s = ChromaSettings::new(spec.name.clone(), store, embedder);
    s.source = props.string("file_to_embed")?.map(|f| base_dir.join(f));
    // Each knowledge base its own collection unless the file shares one on purpose: two bases
    // in one store folder would otherwise overwrite each other's records.
    s.collection = props
        .string("collection")?
        .unwrap_or_else(|| spec.name.clone());
    if let Some(t) = spec.timeout {
        s.timeout = t;
    }
    Ok(s)
}

/// Embeddings from the `embedding:` component, else from the environment like OpenAI's SDK.
fn embedder(
    spec: &Component,
    props: &Props<'_>,
    config: &Config,
) -> Result<EmbedderSettings, String> {
    let named = spec
        .prop("embedding")
        .and_then(|v| v.as_ref_name().or_else(|| v.as_str()));
    let Some(name) = named else {
        let key = props
            .api_key(None)?
            .map(|k| k.expose().to_string())
            .or_else(|| env_nonempty("OPENAI_API_KEY"));
        let base = env_nonempty("OPENAI_BASE_URL").unwrap_or_else(|| OPENAI_BASE_URL.into());
        if key.is_none() && base.contains("api.openai.com") {
            return Err(format!(
                "{}: embeddings need a provider: name `embedding: <an llm openai or llm ollama>`, or set OPENAI_API_KEY (and OPENAI_BASE_URL for another OpenAI-compatible server)",
                props.context()
            ));
        }
        return Ok(EmbedderSettings::openai(base, key));
    };
    let model = config
        .component(name)
        .ok_or_else(|| format!("{}: `embedding: {name}` is not declared", props.context()))?;
    let mp = Props::new(model);
    let api = match model.type_name.as_str() {
        "openai" => {
            let base = mp
                .string("base_url")?
                .or_else(|| env_nonempty("OPENAI_BASE_URL"))
                .unwrap_or_else(|| OPENAI_BASE_URL.into());
            let key = mp
                .api_key(None)?
                .map(|k| k.expose().to_string())
                .or_else(|| env_nonempty("OPENAI_API_KEY"));
            EmbeddingApi::OpenAi {
                base_url: base,
                api_key: key,
            }
        }
        "ollama" => EmbeddingApi::Ollama {
            base_url: mp
                .string("base_url")?
                .unwrap_or_else(|| OLLAMA_BASE_URL.into()),
        },
        other => {
            return Err(format!(
                "{}: `embedding: {name}` is an `llm {other}`; embeddings come from an `llm openai` (its /embeddings) or an `llm ollama` (its /api/embed)",
                props.context()
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
