//! What a file mentions anywhere, read from its tokens (so top-level settings, hooks and nested
//! maps are all covered): every environment variable, and every plain string literal (candidate
//! file names).

use std::collections::BTreeMap;
use woodwork_parser::lexer::{Lexer, Tok};
use woodwork_parser::strings::{decode, is_var_name, split_var, StrPart};

/// An environment variable the file reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvUse {
    pub name: String,
    /// True when every use has a `:-default`, so the system starts without it.
    pub optional: bool,
}

/// Most tokens scanned: `check` already bounds the file size; this only guards the loop.
const MAX_TOKENS: usize = 4_000_000;

/// Every variable and every plain string literal of `source`.
pub fn scan(source: &str) -> (Vec<EnvUse>, Vec<String>) {
    let mut vars: BTreeMap<String, bool> = BTreeMap::new();
    let mut note = |name: &str, has_default: bool| {
        if is_var_name(name) {
            let optional = vars.entry(name.to_string()).or_insert(true);
            *optional &= has_default;
        }
    };
    let mut strings = Vec::new();
    let mut lexer = Lexer::new(source);
    for _ in 0..MAX_TOKENS {
        let t = lexer.next_token();
        let text = source
            .get(t.range.start as usize..t.range.end as usize)
            .unwrap_or("");
        match t.tok {
            Tok::Eof => break,
            Tok::Env => {
                let body = text
                    .strip_prefix("${")
                    .and_then(|s| s.strip_suffix('}'))
                    .or_else(|| text.strip_prefix('$'))
                    .unwrap_or("");
                let (name, default) = split_var(body);
                note(name, default.is_some());
            }
            Tok::Str => {
                let Ok(parts) = decode(text) else { continue };
                match parts.as_slice() {
                    [StrPart::Lit(s)] => strings.push(s.clone()),
                    _ => {
                        for p in &parts {
                            if let StrPart::Var { name, default } = p {
                                note(name, default.is_some());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let env = vars
        .into_iter()
        .map(|(name, optional)| EnvUse { name, optional })
        .collect();
    (env, strings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_form_of_variable_and_string() {
        let src = "a = llm openai {\n api_key: $KEY\n base_url: \"${BASE:-http://x}/v1\"\n h = { x: \"${KEY}\" }\n}\nhooks = [\"hook.py::f\"]\nb = x y { u: ${OPT:-1} }\n";
        let (env, strings) = scan(src);
        let names: Vec<(&str, bool)> = env.iter().map(|e| (e.name.as_str(), e.optional)).collect();
        assert_eq!(names, [("BASE", true), ("KEY", false), ("OPT", true)]);
        assert_eq!(strings, ["hook.py::f"]);
    }
}
