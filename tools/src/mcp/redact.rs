//! Scrubbing secrets out of text we did not write (error chains, server stderr) before it is
//! logged or shown: a token echoed by a server or a URL inside a reqwest error must not leak.

/// Secret values shorter than this are not scrubbed: replacing `1` or `on` everywhere would
/// garble messages and such values protect nothing.
const MIN_SECRET_LEN: usize = 4;

/// Replaces every known secret value in a text with `***`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub(crate) fn new(secrets: Vec<String>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_and_short_values_left_alone() {
        let r = Redactor::new(vec!["abc".into(), "tok123".into(), "tok123456".into()]);
        assert_eq!(r.apply("x tok123456 y tok123 abc"), "x *** y *** abc");
    }
}
