//! The agent's system prompt: `config/prompts/agent.md` compiled in, or the component's
//! `prompt: "text"` / `prompt: { file: "path" }` (relative to the .ww file's directory). `{tools}`
//! is replaced by the tool list; a custom prompt without it gets the list appended.

use super::AgentError;
use std::path::Path;
use woodwork_parser::Component;

/// The default prompt (woodwork's Thought / Action / Final Answer format).
pub const DEFAULT_PROMPT: &str = include_str!("../../../../config/prompts/agent.md");

/// Largest prompt file read (a prompt, not a corpus).
const MAX_PROMPT_FILE: usize = 1 << 20;

const PLANNING: &str =
    "\n\nBefore your first action, write a short numbered plan on lines that start with `Plan:`; \
then follow it step by step, revising it when an observation changes what you know.\n";

/// The prompt template of `spec`: its own text, a file's, or the default.
pub fn template(spec: &Component, base_dir: &Path) -> Result<String, AgentError> {
    let Some(v) = spec.prop("prompt") else {
        return Ok(DEFAULT_PROMPT.to_string());
    };
    if let Some(text) = v.as_str() {
        return Ok(text.to_string());
    }
    let file = v
        .as_map()
        .and_then(|m| m.get("file"))
        .and_then(|f| f.as_str())
        .ok_or_else(|| AgentError::PromptShape {
            agent: spec.name.to_string(),
        })?;
    let path = base_dir.join(file);
    // Regular files only, opened non-blocking and read with a cap: a FIFO or /dev/zero named here
    // must fail the start at once, not hang it or fill memory.
    woodwork_tools::files::read_text(&path, MAX_PROMPT_FILE).map_err(|reason| {
        AgentError::PromptFile {
            agent: spec.name.to_string(),
            reason,
        }
    })
}

/// The system prompt: `template` with `{tools}` filled in (or the list appended), plus the
/// planning instruction when `planning: true`.
pub fn render(template: &str, tools: &str, planning: bool) -> String {
    let mut out = if template.contains("{tools}") {
        template.replace("{tools}", tools)
    } else {
        format!("{}\n\nTools you can use:\n{tools}\n", template.trim_end())
    };
    if planning {
        out.push_str(PLANNING);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_prompt_lists_the_tools() {
        let p = render(DEFAULT_PROMPT, "- search: web search", false);
        assert!(p.contains("- search: web search"));
        assert!(!p.contains("{tools}"));
        assert!(p.contains("Final Answer:"));
    }

    #[test]
    fn a_custom_prompt_without_placeholder_gets_the_list() {
        let p = render("Be brief.", "- calc", true);
        assert!(p.starts_with("Be brief."));
        assert!(p.contains("- calc"));
        assert!(p.contains("Plan:"));
    }
}
