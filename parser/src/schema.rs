//! The schema of every supported (kind, type): its keys, their value types, which are required,
//! and their defaults. One table, so `check`, the docs and the runtime agree on what a key means.

use crate::model::Kind;

/// The defaults the schema applies, named so the runtime (and the typed specs) read the very same
/// values instead of keeping copies that drift apart (the Claude model once did).
pub mod defaults {
    /// `llm openai` `model`.
    pub const OPENAI_MODEL: &str = "gpt-4o-mini";
    /// `llm openai` `base_url`: OpenAI's own API (also the embeddings fallback).
    pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
    /// `llm claude` `model`.
    pub const CLAUDE_MODEL: &str = "claude-sonnet-4-5";
    /// `llm claude` `max_tokens`: the Messages API requires one.
    pub const CLAUDE_MAX_TOKENS: i64 = 1024;
    /// `llm claude` `base_url`.
    pub const CLAUDE_BASE_URL: &str = "https://api.anthropic.com";
    /// `llm ollama` `base_url`: where a local Ollama listens.
    pub const OLLAMA_BASE_URL: &str = "http://127.0.0.1:11434";
    /// `llm hugging_face` `model`: a small chat model the router widely serves (the runtime's
    /// former default, which its tests pin; the schema said Mistral-7B-Instruct-v0.3).
    pub const HUGGING_FACE_MODEL: &str = "meta-llama/Llama-3.1-8B-Instruct";
    /// `llm hugging_face` `base_url`: the router's OpenAI-compatible endpoint.
    pub const HUGGING_FACE_BASE_URL: &str = "https://router.huggingface.co/v1";
    /// `memory short_term` `max_turns`.
    pub const SHORT_TERM_MAX_TURNS: i64 = 20;
    /// `memory short_term` `max_bytes`.
    pub const SHORT_TERM_MAX_BYTES: i64 = 65_536;
    /// `knowledge_base chroma` `embedding_model`.
    pub const EMBEDDING_MODEL: &str = "text-embedding-3-small";
    /// `api functions` `python`.
    pub const PYTHON: &str = "python3";
    /// `agent llm` `max_steps`: the step limit of one turn.
    pub const AGENT_MAX_STEPS: i64 = 25;
    /// `output webhook` `retries`: POSTs after the first one fails (4 attempts at most).
    pub const WEBHOOK_RETRIES: i64 = 3;
    /// `output webhook` `retries` at most: with the backoff capped at 5 s and the timeout per
    /// attempt, one delivery holds its slot for a bounded time.
    pub const WEBHOOK_MAX_RETRIES: i64 = 10;
    /// `output webhook` per-attempt timeout in seconds when the common `timeout` key is absent.
    pub const WEBHOOK_TIMEOUT_S: f64 = 10.0;
}

/// The type a key's value must have.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ty {
    Str,
    /// An integer no smaller than `min`.
    Int {
        min: i64,
    },
    /// An integer or a float, greater than zero when `positive`.
    Number {
        positive: bool,
    },
    Bool,
    /// A string kept as a [`crate::model::Secret`].
    Secret,
    /// One of these strings (a bare name is accepted too).
    Enum(&'static [&'static str]),
    /// A reference to a declaration of one of these kinds.
    Ref(&'static [Kind]),
    /// A list of references to declarations of these kinds.
    RefList(&'static [Kind]),
    StrList,
    StrOrStrList,
    /// A map of strings; values from `$VAR` become secrets (`env:` of an MCP server, headers).
    SecretStrMap,
    /// A string, or `{ file: "path" }`.
    Prompt,
    /// `llm mock` `replies:` script (DESIGN.md §3).
    MockReplies,
}

impl Ty {
    /// How the type is named in "expected …" messages.
    pub fn describe(&self) -> String {
        match self {
            Ty::Str => "a string".into(),
            Ty::Int { min } if *min > 0 => format!("an integer ≥ {min}"),
            Ty::Int { min: 0 } => "a non-negative integer".into(),
            Ty::Int { .. } => "an integer".into(),
            Ty::Number { positive: true } => "a number greater than 0".into(),
            Ty::Number { .. } => "a number".into(),
            Ty::Bool => "true or false".into(),
            Ty::Secret => "a string (usually `$VAR`)".into(),
            Ty::Enum(values) => format!("one of {}", quote_list(values)),
            Ty::Ref(kinds) => format!("the name of a {} declaration", kind_list(kinds)),
            Ty::RefList(kinds) => format!("a list of names of {} declarations", kind_list(kinds)),
            Ty::StrList => "a list of strings".into(),
            Ty::StrOrStrList => "a string or a list of strings".into(),
            Ty::SecretStrMap => "a map of strings".into(),
            Ty::Prompt => "a string or { file: \"path\" }".into(),
            Ty::MockReplies => "a list of replies (strings or maps)".into(),
        }
    }
}

/// `a`, `b`, `c` for help lines.
pub fn quote_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_list(kinds: &[Kind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A schema default, applied when the key is absent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Default {
    None,
    Str(&'static str),
    Int(i64),
    Bool(bool),
}

/// One key of a schema.
#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    /// Required only while this other key is not written (`api_key` unless `base_url` points
    /// elsewhere than the provider's own service).
    pub unless: Option<&'static str>,
    pub default: Default,
    /// What the key is for, shown in "missing key" help lines.
    pub doc: &'static str,
    /// The environment variable the value comes from when the file sets none (`api_key` of
    /// `llm claude` from `ANTHROPIC_API_KEY`), as the providers' own SDKs do (DESIGN.md §5).
    pub env: Option<&'static str>,
}

const fn opt(name: &'static str, ty: Ty, doc: &'static str) -> KeySpec {
    KeySpec {
        name,
        ty,
        required: false,
        unless: None,
        default: Default::None,
        doc,
        env: None,
    }
}

const fn req(name: &'static str, ty: Ty, doc: &'static str) -> KeySpec {
    KeySpec {
        required: true,
        ..opt(name, ty, doc)
    }
}

/// Required unless `other` is written in the same declaration.
const fn req_unless(name: &'static str, other: &'static str, ty: Ty, doc: &'static str) -> KeySpec {
    KeySpec {
        unless: Some(other),
        ..req(name, ty, doc)
    }
}

/// `spec`, taking its value from the environment variable `var` when the file sets none.
const fn from_env(spec: KeySpec, var: &'static str) -> KeySpec {
    KeySpec {
        env: Some(var),
        ..spec
    }
}

const fn def(name: &'static str, ty: Ty, default: Default, doc: &'static str) -> KeySpec {
    KeySpec {
        default,
        ..opt(name, ty, doc)
    }
}

/// The schema of one (kind, type).
#[derive(Debug)]
pub struct TypeSchema {
    pub kind: Kind,
    pub type_name: &'static str,
    /// Other names of the type (`cli` for `command_line`).
    pub aliases: &'static [&'static str],
    pub keys: &'static [KeySpec],
    /// Old key names mapped to current ones without a warning (`api_token` → `api_key`).
    pub key_aliases: &'static [(&'static str, &'static str)],
}

impl TypeSchema {
    /// The spec of a key, if the schema has it.
    pub fn key(&self, name: &str) -> Option<&KeySpec> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// True when `type_name` is this type or one of its aliases.
    pub fn names(&self, type_name: &str) -> bool {
        self.type_name == type_name || self.aliases.contains(&type_name)
    }
}

/// Kinds an agent may use as tools.
pub const TOOL_KINDS: &[Kind] = &[
    Kind::Api,
    Kind::Mcp,
    Kind::KnowledgeBase,
    Kind::Memory,
    Kind::Llm,
    Kind::Agent,
];
/// Kinds a `to:` route may point at: components that take a message in the pipeline.
pub const ROUTE_TARGET_KINDS: &[Kind] = &[Kind::Agent, Kind::Llm, Kind::Output];
/// Everything (for `vm server components:`).
pub const ANY_KIND: &[Kind] = &Kind::ALL;

const MEMORY: KeySpec = opt(
    "memory",
    Ty::Ref(&[Kind::Memory]),
    "conversation memory (a `memory` declaration)",
);
const KNOWLEDGE: KeySpec = opt(
    "knowledge_base",
    Ty::Ref(&[Kind::KnowledgeBase]),
    "retrieval source (a `knowledge_base` declaration)",
);
const TEMPERATURE: KeySpec = opt(
    "temperature",
    Ty::Number { positive: false },
    "sampling temperature",
);
const MAX_TOKENS: KeySpec = opt(
    "max_tokens",
    Ty::Int { min: 1 },
    "reply length limit in tokens",
);
/// How a tool is described to the agents that use it (the prompt's tool list, native tool specs).
const DESCRIPTION: KeySpec = opt(
    "description",
    Ty::Str,
    "what this component does, shown to agents that use it as a tool",
);
/// Retries of a provider call on 429 / overload / 5xx / timeout (never after the first streamed token).
const MAX_RETRIES: KeySpec = opt(
    "max_retries",
    Ty::Int { min: 0 },
    "retries of a failed provider call (default 2, at most 3: one request makes at most 4 calls)",
);
/// Longest silence between two streamed chunks before the call counts as timed out.
const IDLE_TIMEOUT: KeySpec = opt(
    "idle_timeout",
    Ty::Number { positive: true },
    "seconds allowed between two streamed chunks",
);

/// Every supported (kind, type), in the order `check` lists them.
pub static SCHEMAS: &[TypeSchema] = &[
    TypeSchema {
        kind: Kind::Llm,
        type_name: "openai",
        aliases: &[],
        keys: &[
            DESCRIPTION,
            from_env(
                req_unless(
                    "api_key",
                    "base_url",
                    Ty::Secret,
                    "the provider's API key, e.g. `api_key: $OPENAI_API_KEY` (optional for a local `base_url`)",
                ),
                "OPENAI_API_KEY",
            ),
            def("model", Ty::Str, Default::Str(defaults::OPENAI_MODEL), "model name"),
            from_env(
                def(
                    "base_url",
                    Ty::Str,
                    Default::Str(defaults::OPENAI_BASE_URL),
                    "any OpenAI-compatible server",
                ),
                "OPENAI_BASE_URL",
            ),
            TEMPERATURE,
            MAX_TOKENS,
            MEMORY,
            KNOWLEDGE,
            MAX_RETRIES,
            IDLE_TIMEOUT,
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Llm,
        type_name: "claude",
        aliases: &["anthropic"],
        keys: &[
            DESCRIPTION,
            from_env(
                req(
                    "api_key",
                    Ty::Secret,
                    "the Anthropic API key, e.g. `api_key: $ANTHROPIC_API_KEY`",
                ),
                "ANTHROPIC_API_KEY",
            ),
            def(
                "model",
                Ty::Str,
                Default::Str(defaults::CLAUDE_MODEL),
                "model name",
            ),
            def(
                "max_tokens",
                Ty::Int { min: 1 },
                Default::Int(defaults::CLAUDE_MAX_TOKENS),
                "reply length limit in tokens",
            ),
            from_env(
                def(
                    "base_url",
                    Ty::Str,
                    Default::Str(defaults::CLAUDE_BASE_URL),
                    "API base URL",
                ),
                "ANTHROPIC_BASE_URL",
            ),
            TEMPERATURE,
            MEMORY,
            KNOWLEDGE,
            MAX_RETRIES,
            IDLE_TIMEOUT,
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Llm,
        type_name: "ollama",
        aliases: &[],
        keys: &[
            DESCRIPTION,
            req(
                "model",
                Ty::Str,
                "the Ollama model, e.g. `model: \"llama3.2\"`",
            ),
            def(
                "base_url",
                Ty::Str,
                Default::Str(defaults::OLLAMA_BASE_URL),
                "Ollama server URL",
            ),
            TEMPERATURE,
            MAX_TOKENS,
            MEMORY,
            KNOWLEDGE,
            MAX_RETRIES,
            IDLE_TIMEOUT,
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Llm,
        type_name: "hugging_face",
        aliases: &[],
        keys: &[
            DESCRIPTION,
            req(
                "api_key",
                Ty::Secret,
                "the Hugging Face token, e.g. `api_key: $HF_TOKEN`",
            ),
            def(
                "model",
                Ty::Str,
                Default::Str(defaults::HUGGING_FACE_MODEL),
                "model id on the Hub",
            ),
            def(
                "base_url",
                Ty::Str,
                Default::Str(defaults::HUGGING_FACE_BASE_URL),
                "inference endpoint (OpenAI-compatible)",
            ),
            TEMPERATURE,
            MAX_TOKENS,
            MEMORY,
            KNOWLEDGE,
            MAX_RETRIES,
            IDLE_TIMEOUT,
        ],
        key_aliases: &[("api_token", "api_key"), ("token", "api_key")],
    },
    TypeSchema {
        kind: Kind::Llm,
        type_name: "mock",
        aliases: &[],
        keys: &[
            DESCRIPTION,
            opt("reply", Ty::Str, "a fixed answer"),
            opt(
                "replies",
                Ty::MockReplies,
                "a script of replies, played in order",
            ),
            MEMORY,
            KNOWLEDGE,
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Agent,
        type_name: "llm",
        aliases: &[],
        keys: &[
            DESCRIPTION,
            req(
                "model",
                Ty::Ref(&[Kind::Llm]),
                "the language model, e.g. `model: my_llm` (an `llm` declaration)",
            ),
            def(
                "tools",
                Ty::RefList(TOOL_KINDS),
                Default::None,
                "tools the agent may call",
            ),
            def(
                "planning",
                Ty::Bool,
                Default::Bool(false),
                "plan before acting",
            ),
            def(
                "max_steps",
                Ty::Int { min: 1 },
                Default::Int(defaults::AGENT_MAX_STEPS),
                "step limit of one turn",
            ),
            opt(
                "prompt",
                Ty::Prompt,
                "system prompt, text or { file: \"prompt.md\" }",
            ),
            MEMORY,
            KNOWLEDGE,
            // Legacy: `decomposer llm` / `agent llm` files carried the OpenAI key on the agent.
            opt(
                "api_key",
                Ty::Secret,
                "legacy: key of the implicit OpenAI model",
            ),
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Input,
        type_name: "command_line",
        aliases: &["cli"],
        keys: &[def(
            "prompt",
            Ty::Str,
            Default::Str("> "),
            "prompt printed before each input",
        )],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Input,
        type_name: "api",
        aliases: &[],
        keys: &[
            def(
                "port",
                Ty::Int { min: 0 },
                Default::Int(8000),
                "port of the input API",
            ),
            def(
                "host",
                Ty::Str,
                Default::Str("127.0.0.1"),
                "address to bind",
            ),
            opt(
                "cors",
                Ty::StrList,
                "origins browsers may call it from, e.g. [\"http://localhost:3000\"] (any when absent)",
            ),
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Output,
        type_name: "console",
        aliases: &["cli"],
        keys: &[],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Output,
        type_name: "webhook",
        aliases: &[],
        keys: &[
            req(
                "url",
                Ty::Str,
                "where results are POSTed, e.g. `url: \"https://example.com/hook\"`",
            ),
            opt("headers", Ty::SecretStrMap, "extra HTTP headers"),
            def(
                "retries",
                Ty::Int { min: 0 },
                Default::Int(defaults::WEBHOOK_RETRIES),
                "retries of a failed POST (5xx, timeout, connection error; at most 10) before the answer goes to the dead-letter queue",
            ),
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Memory,
        type_name: "short_term",
        aliases: &[],
        keys: &[
            def(
                "max_turns",
                Ty::Int { min: 1 },
                Default::Int(defaults::SHORT_TERM_MAX_TURNS),
                "turns kept per session",
            ),
            def(
                "max_bytes",
                Ty::Int { min: 1 },
                Default::Int(defaults::SHORT_TERM_MAX_BYTES),
                "bytes kept per session",
            ),
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::KnowledgeBase,
        type_name: "text_file",
        aliases: &[],
        keys: &[
            DESCRIPTION,
            req(
                "path",
                Ty::Str,
                "the text file, e.g. `path: \"./notes.txt\"`",
            ),
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::KnowledgeBase,
        type_name: "chroma",
        aliases: &[],
        keys: &[
            DESCRIPTION,
            opt(
                "client",
                Ty::Enum(&["local", "http"]),
                "`local` (embedded store, the default without `url`) or `http` (a Chroma server at `url`)",
            ),
            opt(
                "path",
                Ty::Str,
                "directory of the embedded store (default `.woodwork/chroma` next to the .ww file)",
            ),
            opt("url", Ty::Str, "Chroma server URL, e.g. `url: \"http://127.0.0.1:8000\"`"),
            opt(
                "collection",
                Ty::Str,
                "collection name (default: the component's name)",
            ),
            opt(
                "file_to_embed",
                Ty::Str,
                "file or folder embedded at start (only changed files are embedded again)",
            ),
            opt(
                "embedding",
                Ty::Ref(&[Kind::Llm]),
                "the `llm openai` or `llm ollama` whose embeddings endpoint is used",
            ),
            def(
                "embedding_model",
                Ty::Str,
                Default::Str(defaults::EMBEDDING_MODEL),
                "embedding model name",
            ),
            opt(
                "api_key",
                Ty::Secret,
                "key of the embeddings API when no `embedding:` component is named (else $OPENAI_API_KEY)",
            ),
            opt("headers", Ty::SecretStrMap, "extra HTTP headers sent to the Chroma server"),
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Api,
        type_name: "web",
        aliases: &[],
        keys: &[
            DESCRIPTION,
            req(
                "url",
                Ty::Str,
                "the HTTP endpoint, e.g. `url: \"http://localhost:3000\"`",
            ),
            opt(
                "documentation",
                Ty::Str,
                "file describing the endpoint for the agent",
            ),
            def(
                "method",
                Ty::Enum(&["GET", "POST", "PUT", "PATCH", "DELETE"]),
                Default::Str("GET"),
                "HTTP method: inputs go in the query (GET, DELETE) or a JSON body",
            ),
            opt("headers", Ty::SecretStrMap, "extra HTTP headers"),
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Api,
        type_name: "functions",
        aliases: &[],
        keys: &[
            DESCRIPTION,
            req(
                "path",
                Ty::Str,
                "the Python file, e.g. `path: \"functions.py\"`",
            ),
            def(
                "python",
                Ty::Str,
                Default::Str(defaults::PYTHON),
                "the Python interpreter that runs the functions, e.g. `python: \".venv/bin/python\"`",
            ),
            opt(
                "documentation",
                Ty::Str,
                "file describing the functions for the agent",
            ),
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Mcp,
        type_name: "server",
        aliases: &[],
        keys: &[
            DESCRIPTION,
            opt(
                "command",
                Ty::StrOrStrList,
                "stdio server command, e.g. `command: [\"uvx\", \"mcp-server-time\"]`",
            ),
            opt("args", Ty::StrList, "extra arguments to `command`"),
            opt("url", Ty::Str, "streamable HTTP server URL, e.g. `url: \"http://127.0.0.1:8000/mcp\"`"),
            opt("env", Ty::SecretStrMap, "environment of the server process"),
            opt("headers", Ty::SecretStrMap, "HTTP headers sent to a `url` server"),
            opt("server", Ty::Str, "registry name of the server (not resolved by this runtime: give `command` or `url`)"),
            opt("version", Ty::Str, "server version (with `server`)"),
            opt("toolsets", Ty::StrOrStrList, "tool sets to enable (with `server`)"),
        ],
        key_aliases: &[],
    },
    TypeSchema {
        kind: Kind::Vm,
        type_name: "server",
        aliases: &[],
        keys: &[req(
            "components",
            Ty::RefList(ANY_KIND),
            "the components this process serves, e.g. `components: [agent, model]`",
        )],
        key_aliases: &[],
    },
];

/// The schema of a (kind, type), with type aliases applied.
pub fn lookup(kind: Kind, type_name: &str) -> Option<&'static TypeSchema> {
    SCHEMAS
        .iter()
        .find(|s| s.kind == kind && s.names(type_name))
}

/// All schemas whose type (or alias) is `type_name`, for the short form `name = type { … }`.
pub fn by_type(type_name: &str) -> Vec<&'static TypeSchema> {
    SCHEMAS.iter().filter(|s| s.names(type_name)).collect()
}

/// Type names of a kind, canonical names only.
pub fn types_of(kind: Kind) -> Vec<&'static str> {
    SCHEMAS
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| s.type_name)
        .collect()
}

/// Old (kind, type) names of the Python engine, with the schema they became.
pub const RENAMED_TYPES: &[(&str, &str, Kind, &str)] =
    &[("custom", "tool", Kind::Api, "functions")];

/// The schema an old (kind, type) name stands for, if it is one.
pub fn renamed_type(kind: &str, type_name: &str) -> Option<&'static TypeSchema> {
    RENAMED_TYPES
        .iter()
        .find(|(k, t, _, _)| *k == kind && *t == type_name)
        .and_then(|(_, _, kind, ty)| lookup(*kind, ty))
}

/// Old kind names, with the kind they became.
pub const KIND_ALIASES: &[(&str, Kind)] = &[("decomposer", Kind::Agent)];

/// A Python-engine component this runtime recognises but cannot run.
pub struct Unsupported {
    pub kind: &'static str,
    /// `None`: every type of the kind.
    pub type_name: Option<&'static str>,
    pub why: &'static str,
}

/// Python-engine components rejected with "not supported by this runtime".
pub static UNSUPPORTED: &[Unsupported] = &[
    Unsupported {
        kind: "environment",
        type_name: None,
        why: "it needs Docker",
    },
    Unsupported {
        kind: "core",
        type_name: None,
        why: "it needs Docker containers of the Python engine",
    },
    Unsupported {
        kind: "input",
        type_name: Some("keyword_voice"),
        why: "it needs a microphone",
    },
    Unsupported {
        kind: "input",
        type_name: Some("push_to_talk"),
        why: "it needs a microphone",
    },
    Unsupported {
        kind: "output",
        type_name: Some("voice"),
        why: "it needs a speaker",
    },
    Unsupported {
        kind: "knowledge_base",
        type_name: Some("neo4j"),
        why: "no Neo4j client is built in",
    },
    Unsupported {
        kind: "model",
        type_name: None,
        why: "local PyTorch models are not run by this runtime",
    },
];

/// The rejection entry for a (kind, type), if it is one.
pub fn unsupported(kind: &str, type_name: &str) -> Option<&'static Unsupported> {
    UNSUPPORTED
        .iter()
        .find(|u| u.kind == kind && u.type_name.is_none_or(|t| t == type_name))
}

/// Keys every component accepts (DESIGN.md §3), lowered into typed `Component` fields.
pub const COMMON_KEYS: &[&str] = &[
    "to",
    "hooks",
    "pipes",
    "streaming",
    "supervision",
    "circuit_breaker",
    "timeout",
    "session_policy",
    "deployment",
    "metrics",
];

/// Keys whose values are secrets: `api_key`, `token`, `password`, … and any `*_key`/`*_token`/`*_password`.
pub fn is_secret_key(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "api_key" | "token" | "password" | "api_token" | "secret"
    ) || ["_key", "_token", "_password", "_secret"]
        .iter()
        .any(|s| n.ends_with(s))
}

/// Event names of DESIGN.md §4 that hooks and pipes may name: `*` (all) and every name of
/// [`crate::events::EVENT_NAMES`], the table the runtime's event enum is built on.
pub const EVENTS: &[&str] = &crate::events::WITH_WILDCARD;
