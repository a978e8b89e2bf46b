//! The typed config: what a checked `.ww` file means, with syntax gone.
//!
//! This is the contract between the front end (this crate) and the runtime (`actors/`): the runtime
//! never sees tokens or source text, only these types, with schema defaults applied and references
//! resolved. Secrets are wrapped so that printing a config can never reveal them.

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A byte range in one source file, with the 1-based line and column of its start, so diagnostics
/// and the runtime can point back at the declaration a component came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: u32,
    pub col: u32,
}

/// The component kinds this runtime runs (DESIGN.md §3); rejected Python-engine kinds never get here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Llm,
    Agent,
    Input,
    Output,
    Memory,
    KnowledgeBase,
    Api,
    Mcp,
    Vm,
}

impl Kind {
    /// Every kind, in the order summaries list them.
    pub const ALL: [Kind; 9] = [
        Kind::Input,
        Kind::Agent,
        Kind::Llm,
        Kind::Memory,
        Kind::KnowledgeBase,
        Kind::Api,
        Kind::Mcp,
        Kind::Output,
        Kind::Vm,
    ];

    /// The name written in `.ww` files.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Llm => "llm",
            Kind::Agent => "agent",
            Kind::Input => "input",
            Kind::Output => "output",
            Kind::Memory => "memory",
            Kind::KnowledgeBase => "knowledge_base",
            Kind::Api => "api",
            Kind::Mcp => "mcp",
            Kind::Vm => "vm",
        }
    }

    /// Parses the name written in `.ww` files (canonical names only; aliases are the checker's job).
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret value (API key, token, password, or any `$VAR` behind such a key). Debug, Display and
/// Serialize all print `***`; only `expose` gives the text, so a secret reaches logs only on purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value, for the one place that must send it (an HTTP header to the provider).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// A resolved value of a component property.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A value behind a secret key (`api_key`, `token`, `password`, …).
    Secret(Secret),
    /// A reference to another declaration, by name; validated to exist.
    Ref(RefName),
    List(Vec<Value>),
    /// A map; a nested typed block `x = redis { … }` is a map with `type` (and `kind`) entries.
    Map(BTreeMap<String, Value>),
    /// An environment value left unresolved because the file was checked with `--no-env`.
    Unresolved(UnresolvedEnv),
}

/// A reference to another declaration (a distinct type so it never passes for a string).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefName {
    #[serde(rename = "ref")]
    pub name: String,
}

/// An environment variable that was not read (`check --no-env`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnresolvedEnv {
    pub var: String,
    pub default: Option<String>,
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Integers count as floats too, so `temperature: 1` works.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_secret(&self) -> Option<&Secret> {
        match self {
            Value::Secret(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_ref_name(&self) -> Option<&str> {
        match self {
            Value::Ref(r) => Some(&r.name),
            _ => None,
        }
    }

    /// Converts to JSON for components that pass values on (tool inputs, mock scripts); secrets stay `***`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// OTP restart strategies (DESIGN.md §4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    #[default]
    OneForOne,
    OneForAll,
    RestForOne,
}

/// OTP restart types (DESIGN.md §4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartType {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted only after an abnormal exit (a failure or panic).
    Transient,
    /// Never restarted.
    Temporary,
}

/// `supervision: { strategy, restart, max_restarts, within_s, backoff_min_ms, backoff_max_ms }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SupervisionSpec {
    pub strategy: Strategy,
    pub restart: RestartType,
    /// Intensity: at most this many restarts …
    pub max_restarts: u32,
    /// … within this window, else the component is failed and escalated.
    pub within: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl Default for SupervisionSpec {
    fn default() -> Self {
        SupervisionSpec {
            strategy: Strategy::OneForOne,
            restart: RestartType::Permanent,
            max_restarts: 5,
            within: Duration::from_secs(10),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// `circuit_breaker: { failure_threshold, reset_timeout_s, success_threshold, call_timeout_s }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakerSpec {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before letting a trial call through (half-open).
    pub reset_timeout: Duration,
    /// Successes in half-open that close it again.
    pub success_threshold: u32,
    /// A call taking longer counts as a failure.
    pub call_timeout: Duration,
}

impl Default for BreakerSpec {
    fn default() -> Self {
        BreakerSpec {
            failure_threshold: 5,
            reset_timeout: Duration::from_secs(60),
            success_threshold: 3,
            call_timeout: Duration::from_secs(30),
        }
    }
}

/// What happens to an input for a session that is already busy with a turn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionPolicy {
    /// Wait for the turn in progress (bounded).
    #[default]
    Enqueue,
    /// Refuse at once (HTTP 409).
    Reject,
}

/// Log level for `{ event, log: "info" }` hooks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

/// What a hook or pipe runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookAction {
    /// `{ script_path, function_name }`: a Python function, called in a persistent worker.
    Python {
        script_path: PathBuf,
        function_name: String,
    },
    /// `{ command: [...] }`: the payload as JSON on stdin, a JSON payload (or nothing) on stdout.
    Command { argv: Vec<String> },
    /// `{ webhook: "url" }`: the payload POSTed as JSON.
    Webhook { url: String },
    /// `{ log: "info" }`: the event written to the log.
    Log { level: LogLevel },
}

/// One entry of `hooks: [...]` or `pipes: [...]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HookSpec {
    /// The event name it applies to (`input.received`, `agent.thought`, …) or `*` for all.
    pub event: String,
    pub action: HookAction,
    pub span: Span,
}

/// One declared component, with its schema's defaults applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Component {
    pub name: String,
    pub kind: Kind,
    /// The canonical type name (`openai`, `console`, …), aliases already mapped.
    #[serde(rename = "type")]
    pub type_name: String,
    pub span: Span,
    /// Every type-specific entry (common keys below are taken out), with defaults filled in.
    pub props: BTreeMap<String, Value>,
    /// Explicit `to:` targets, in the order written.
    pub to: Vec<String>,
    pub hooks: Vec<HookSpec>,
    pub pipes: Vec<HookSpec>,
    pub supervision: SupervisionSpec,
    pub circuit_breaker: BreakerSpec,
    /// `timeout: <seconds>` for one piece of work on this component.
    pub timeout: Option<Duration>,
    /// `streaming: true|false`; `None` means the component's own default.
    pub streaming: Option<bool>,
    /// `session_policy: "enqueue" | "reject"`.
    pub session_policy: SessionPolicy,
    /// The seed documents' `deployment = { mode, scaling, resources }` (read by `export`).
    pub deployment: Option<crate::spec::ComponentDeployment>,
    /// The seed documents' `metrics = { enabled, labels, events }`.
    pub metrics: Option<crate::spec::MetricsSpec>,
}

impl Component {
    /// A component with no props, routes, hooks or pipes and every common key at its default, so
    /// the lowering pass, synthesized components and hand-built test configs start from one place.
    pub fn new(name: String, kind: Kind, type_name: String, span: Span) -> Self {
        Component {
            name,
            kind,
            type_name,
            span,
            props: BTreeMap::new(),
            to: Vec::new(),
            hooks: Vec::new(),
            pipes: Vec::new(),
            supervision: SupervisionSpec::default(),
            circuit_breaker: BreakerSpec::default(),
            timeout: None,
            streaming: None,
            session_policy: SessionPolicy::Enqueue,
            deployment: None,
            metrics: None,
        }
    }

    pub fn prop(&self, key: &str) -> Option<&Value> {
        self.props.get(key)
    }

    pub fn prop_str(&self, key: &str) -> Option<&str> {
        self.props.get(key).and_then(Value::as_str)
    }
}

/// One edge of the routing table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    pub from: String,
    pub to: String,
    /// True when DESIGN.md §4's inference rules made it, false when written as `to:`.
    pub inferred: bool,
}

/// A checked `.ww` file: what `serve` and `run` start. `Default` is an empty system, so
/// hand-built configs (tests, benches) can leave the whole-system settings out.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Config {
    /// The file it came from (diagnostics and relative paths like `script_path` resolve against it).
    pub path: PathBuf,
    /// Components in declaration order.
    pub components: Vec<Component>,
    /// Explicit and inferred routes.
    pub routes: Vec<Route>,
    /// Component names in dependency order: everything a component references starts before it.
    pub start_order: Vec<String>,
    /// Top-level `hooks = [...]`: they see every component's events, runtime events included.
    pub hooks: Vec<HookSpec>,
    /// Top-level `pipes = [...]`: they run before every component's own pipes.
    pub pipes: Vec<HookSpec>,
    /// The top-level `deployment = local|server|docker { … }` block.
    pub deployment: Option<crate::spec::Deployment>,
}

impl Config {
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// Targets of `from`, explicit or inferred, in routing-table order.
    pub fn routes_from<'a>(&'a self, from: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.routes
            .iter()
            .filter(move |r| r.from == from)
            .map(|r| r.to.as_str())
    }

    /// The directory relative paths in the file are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| PathBuf::from("."))
    }
}
