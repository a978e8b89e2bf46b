//! Typed per-type specs: what each (kind, type) a runtime builds from means, read once from the
//! type-checked props with the schema's defaults applied, secrets kept as [`Secret`]s and
//! references as names. The runtime reads these fields instead of looking props up by string, so
//! a key's name, type and default live in the schema alone.
//!
//! A spec is derived from a [`Component`] on demand ([`Component::spec`]) rather than stored in
//! it: hand-built configs (tests, benches, synthesized components) set props directly, and the
//! spec of those must follow the same rules.
//!
//! [`Secret`]: crate::model::Secret

mod agent;
pub mod deployment;
mod knowledge;
mod llm;
mod memory;
mod output;
mod read;
mod tools;

pub use agent::AgentSpec;
pub use deployment::{
    BusKind, BusUrl, ComponentDeployment, DeployMode, Deployment, DeploymentTarget, MessageBusSpec,
    MetricsSpec, Resources, Scaling,
};
pub use knowledge::{ChromaSpec, TextFileSpec};
pub use llm::{MockSpec, ProviderSpec};
pub use memory::ShortTermSpec;
pub use output::WebhookSpec;
pub use read::{context, SecretPairs, SpecError};
pub use tools::{FunctionsSpec, McpSpec, WebSpec};

use crate::diagnostic::Diagnostic;
use crate::model::{Component, Kind};
use read::Reader;

/// The typed config of one component, by (kind, type).
#[derive(Clone, Debug, PartialEq)]
pub enum Spec {
    OpenAi(ProviderSpec),
    Claude(ProviderSpec),
    Ollama(ProviderSpec),
    HuggingFace(ProviderSpec),
    Mock(MockSpec),
    Agent(AgentSpec),
    ShortTermMemory(ShortTermSpec),
    TextFile(TextFileSpec),
    Chroma(ChromaSpec),
    ApiFunctions(FunctionsSpec),
    ApiWeb(WebSpec),
    Mcp(McpSpec),
    Webhook(WebhookSpec),
    /// Types whose whole config is in the common keys (inputs, `output console`, `vm server`) or that no
    /// runtime part reads yet.
    Other,
}

impl Spec {
    /// The spec of `c`; an error only when a prop has the wrong type or is an unread `$VAR`.
    pub fn of(c: &Component) -> Result<Spec, SpecError> {
        let r = Reader::new(c);
        Ok(match (c.kind, c.type_name.as_str()) {
            (Kind::Llm, "openai") => Spec::OpenAi(ProviderSpec::read(&r)?),
            (Kind::Llm, "claude") => Spec::Claude(ProviderSpec::read(&r)?),
            (Kind::Llm, "ollama") => Spec::Ollama(ProviderSpec::read(&r)?),
            (Kind::Llm, "hugging_face") => Spec::HuggingFace(ProviderSpec::read(&r)?),
            (Kind::Llm, "mock") => Spec::Mock(MockSpec::read(&r)),
            (Kind::Agent, "llm") => Spec::Agent(AgentSpec::read(&r)?),
            (Kind::Memory, "short_term") => Spec::ShortTermMemory(ShortTermSpec::read(&r)?),
            (Kind::KnowledgeBase, "text_file") => Spec::TextFile(TextFileSpec::read(&r)?),
            (Kind::KnowledgeBase, "chroma") => Spec::Chroma(ChromaSpec::read(&r)?),
            (Kind::Api, "functions") => Spec::ApiFunctions(FunctionsSpec::read(&r)?),
            (Kind::Api, "web") => Spec::ApiWeb(WebSpec::read(&r)?),
            (Kind::Mcp, "server") => Spec::Mcp(McpSpec::read(&r)?),
            (Kind::Output, "webhook") => Spec::Webhook(WebhookSpec::read(&r)?),
            _ => Spec::Other,
        })
    }

    /// The provider spec of an `llm openai | claude | ollama | hugging_face`.
    pub fn provider(&self) -> Option<&ProviderSpec> {
        match self {
            Spec::OpenAi(p) | Spec::Claude(p) | Spec::Ollama(p) | Spec::HuggingFace(p) => Some(p),
            _ => None,
        }
    }
}

impl Component {
    /// This component's typed spec (see [`Spec::of`]).
    pub fn spec(&self) -> Result<Spec, SpecError> {
        Spec::of(self)
    }
}

/// The last step of lowering: every component of an error-free file must read as its spec, so the
/// runtime never meets a config `check` accepted but cannot read. The type checker makes this
/// hold; a failure here is a bug between schema and spec, reported rather than hidden. Values
/// left unread by `--no-env` are not errors here (the runtime refuses them at start).
pub(crate) fn check_specs(components: &[Component], diags: &mut Vec<Diagnostic>) {
    for c in components {
        match Spec::of(c) {
            Ok(_) | Err(SpecError::Unresolved { .. }) => {}
            Err(e) => diags.push(
                Diagnostic::error("invalid-value", c.span, e.to_string())
                    .primary("this declaration cannot be run as written")
                    .help("report this: the schema accepted a value its typed spec cannot read"),
            ),
        }
    }
}
