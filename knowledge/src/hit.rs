//! One retrieved passage, and how passages are shown to a model: the same `[File: …]` blocks the
//! Python engine put in prompts, so prompts written for it keep working.

/// A passage a knowledge base found for a query; the runtime puts the best ones in an llm's
/// prompt, so it needs where the text came from as well as the text.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Where the passage came from: a path relative to the embedded folder, or the text file's name.
    pub source: String,
    /// The passage itself.
    pub text: String,
    /// Similarity to the query (cosine for embeddings, share of query words for text files);
    /// higher is better, comparable only within one knowledge base.
    pub score: f32,
}

/// Renders hits best first as `[File: <source>]\n<text>` blocks separated by a blank line, the
/// form woodwork's prompts expect. No hits render as the empty string (nothing to add to a prompt).
pub fn render_hits(hits: &[Hit]) -> String {
    let mut out = String::new();
    for (i, hit) in hits.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        out.push_str("[File: ");
        out.push_str(&hit.source);
        out.push_str("]\n");
        out.push_str(&hit.text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_render_as_file_blocks_separated_by_a_blank_line() {
        let hits = vec![
            Hit {
                source: "a.md".into(),
                text: "alpha".into(),
                score: 0.9,
            },
            Hit {
                source: "b/c.txt".into(),
                text: "beta\ngamma".into(),
                score: 0.5,
            },
        ];
        assert_eq!(
            render_hits(&hits),
            "[File: a.md]\nalpha\n\n[File: b/c.txt]\nbeta\ngamma"
        );
        assert_eq!(render_hits(&[]), "");
    }
}
