//! Retrieval for an `llm` or `agent` with `knowledge_base:` (DESIGN.md §3): the best passages for
//! each input go into the prompt as a system message. A knowledge base that cannot answer (its
//! embedding server is down) does not fail the turn: the model answers without the context and
//! the failure is logged.

use super::backends::Knowledge;
use crate::llm::{ChatMessage, Role};
use crate::router::Router;
use woodwork_parser::{Component, Kind};

/// Passages put in the prompt per input.
pub const PASSAGES: usize = 3;

/// A `knowledge_base:` setting that does not resolve: the component cannot start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KnowledgeRefError {
    #[error("`{component}`: knowledge_base `{name}` is not declared")]
    Undeclared { component: String, name: String },
    /// It names a component of another kind (an `llm`, a `memory`...).
    #[error(
        "`{component}`: `knowledge_base: {name}` names a {kind} {type_name}, not a knowledge base"
    )]
    NotAKnowledgeBase {
        component: String,
        name: String,
        kind: Kind,
        type_name: String,
    },
}

/// The knowledge base `spec` names with `knowledge_base:`, if any; an unknown name or a
/// component that is not a knowledge base is a start error.
pub fn knowledge_of(
    spec: &Component,
    router: &Router,
) -> Result<Option<Knowledge>, KnowledgeRefError> {
    let Some(v) = spec.prop("knowledge_base") else {
        return Ok(None);
    };
    let Some(name) = v.as_ref_name().or_else(|| v.as_str()) else {
        return Ok(None);
    };
    let cell = router
        .lookup(name)
        .ok_or_else(|| KnowledgeRefError::Undeclared {
            component: spec.name.to_string(),
            name: name.to_string(),
        })?;
    cell.backends
        .knowledge
        .clone()
        .map(Some)
        .ok_or_else(|| KnowledgeRefError::NotAKnowledgeBase {
            component: spec.name.to_string(),
            name: name.to_string(),
            kind: cell.spec.kind,
            type_name: cell.spec.type_name.to_string(),
        })
}

/// The system message carrying the best passages for `query`, or `None` when there are none
/// (or the knowledge base failed, which is logged).
pub async fn context_message(kb: &Knowledge, component: &str, query: &str) -> Option<ChatMessage> {
    match kb.retrieve(query, PASSAGES).await {
        Ok(hits) if !hits.is_empty() => Some(ChatMessage::new(
            Role::System,
            format!(
                "Context from the knowledge base (use it when it helps answer):\n\n{}",
                woodwork_knowledge::render_hits(&hits)
            ),
        )),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(component, error = %e, "knowledge base retrieval failed; answering without context");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_errors_name_the_component_and_the_setting() {
        let undeclared = KnowledgeRefError::Undeclared {
            component: "bot".into(),
            name: "docs".into(),
        };
        assert_eq!(
            undeclared.to_string(),
            "`bot`: knowledge_base `docs` is not declared"
        );
        let wrong = KnowledgeRefError::NotAKnowledgeBase {
            component: "bot".into(),
            name: "mem".into(),
            kind: Kind::Memory,
            type_name: "short_term".into(),
        };
        assert_eq!(
            wrong.to_string(),
            "`bot`: `knowledge_base: mem` names a memory short_term, not a knowledge base"
        );
        // An agent's start error carries it unchanged.
        let agent = crate::component::agent::AgentError::from(wrong.clone());
        assert_eq!(agent.to_string(), wrong.to_string());
    }
}
