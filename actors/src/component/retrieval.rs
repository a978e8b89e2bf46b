//! Retrieval for an `llm` or `agent` with `knowledge_base:` (DESIGN.md §3): the best passages for
//! each input go into the prompt as a system message. A knowledge base that cannot answer (its
//! embedding server is down) does not fail the turn: the model answers without the context and
//! the failure is logged.

use super::backends::Knowledge;
use crate::llm::{ChatMessage, Role};
use crate::router::Router;
use woodwork_parser::Component;

/// Passages put in the prompt per input.
pub const PASSAGES: usize = 3;

/// The knowledge base `spec` names with `knowledge_base:`, if any; an unknown name or a
/// component that is not a knowledge base is a start error.
pub fn knowledge_of(spec: &Component, router: &Router) -> Result<Option<Knowledge>, String> {
    let Some(v) = spec.prop("knowledge_base") else {
        return Ok(None);
    };
    let Some(name) = v.as_ref_name().or_else(|| v.as_str()) else {
        return Ok(None);
    };
    let cell = router
        .lookup(name)
        .ok_or_else(|| format!("`{}`: knowledge_base `{name}` is not declared", spec.name))?;
    cell.backends.knowledge.clone().map(Some).ok_or_else(|| {
        format!(
            "`{}`: `knowledge_base: {name}` names a {} {}, not a knowledge base",
            spec.name, cell.spec.kind, cell.spec.type_name
        )
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
