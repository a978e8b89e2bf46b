//! Environment values: the `.env` file next to a `.ww` file, and variable lookup.
//!
//! `.env` is loaded first but never overrides the process environment (DESIGN.md §2).

use std::collections::HashMap;
use std::path::Path;

/// Where `$VAR` values come from during a check.
#[derive(Clone, Debug, Default)]
pub struct EnvSource {
    vars: HashMap<String, String>,
}

impl EnvSource {
    /// Exactly these variables (tests, embedding).
    pub fn from_map(vars: HashMap<String, String>) -> EnvSource {
        EnvSource { vars }
    }

    /// The process environment, plus `.env` beside `ww_path` for variables it does not set.
    pub fn process_with_dotenv(ww_path: &Path) -> EnvSource {
        let mut vars: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let dotenv = ww_path
            .parent()
            .map(|d| d.join(".env"))
            .unwrap_or_else(|| ".env".into());
        if let Ok(text) = read_bounded(&dotenv) {
            for (k, v) in parse_dotenv(&text) {
                vars.entry(k).or_insert(v);
            }
        }
        EnvSource { vars }
    }

    /// The value of a variable, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// `.env` files over 1 MiB are ignored rather than read whole.
fn read_bounded(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if meta.len() > 1 << 20 {
        return Err(std::io::Error::other(".env too large"));
    }
    std::fs::read_to_string(path)
}

/// Parses `KEY=value` lines: `export ` prefixes, `#` comments, single or double quotes.
pub fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if !crate::strings::is_var_name(key) {
            continue;
        }
        let value = value.trim();
        let value = if let Some(v) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            v.replace("\\n", "\n").replace("\\\"", "\"")
        } else if let Some(v) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            v.to_string()
        } else {
            // Unquoted: a ` #` starts a comment.
            match value.find(" #") {
                Some(i) => value[..i].trim_end().to_string(),
                None => value.to_string(),
            }
        };
        out.push((key.to_string(), value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dotenv_lines() {
        let vars = parse_dotenv("# c\nA=1\nexport B = \"x y\"\nC='q' \nD=v # note\nbad line\n");
        assert_eq!(
            vars,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "x y".into()),
                ("C".into(), "q".into()),
                ("D".into(), "v".into())
            ]
        );
    }
}
