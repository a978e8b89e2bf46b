//! YAML output through serde_norway (the maintained serde_yaml fork), with YAML 1.1's extra
//! booleans quoted: serde_norway writes YAML 1.2, where `yes`/`on`/`n` are plain strings, but
//! Kubernetes tooling and older Compose readers parse YAML 1.1 and would read an argument such as
//! Redis's `--appendonly yes` as `true`.

use crate::error::ExportError;

/// Plain scalars YAML 1.1 reads as booleans.
const YAML11_BOOLS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

/// `obj` as a YAML document; `what` names it in the (unexpected) error.
pub fn to_yaml<T: serde::Serialize>(what: &str, obj: &T) -> Result<String, ExportError> {
    let text = serde_norway::to_string(obj).map_err(|e| ExportError::Serialize {
        what: what.to_string(),
        message: e.to_string(),
    })?;
    Ok(quote_yaml11_bools(&text))
}

/// Quotes every plain list item or map value that is a YAML 1.1 boolean word, leaving the
/// content of block scalars (`|`, `>`: file contents) untouched.
fn quote_yaml11_bools(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Indentation of the line that opened a block scalar, while inside it.
    let mut block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let indent = body.len() - body.trim_start().len();
        if let Some(open) = block {
            if body.trim().is_empty() || indent > open {
                out.push_str(line);
                continue;
            }
            block = None;
        }
        let value_at = if let Some(rest) = body.trim_start().strip_prefix("- ") {
            Some(body.len() - rest.len())
        } else {
            body.find(": ").map(|i| i + 2)
        };
        match value_at {
            Some(at) if YAML11_BOOLS.contains(&&body[at..]) => {
                out.push_str(&body[..at]);
                out.push('\'');
                out.push_str(&body[at..]);
                out.push('\'');
                out.push_str(&line[body.len()..]);
            }
            Some(at) => {
                let v = &body[at..];
                if v.starts_with(['|', '>'])
                    && v[1..]
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
                {
                    block = Some(indent);
                }
                out.push_str(line);
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_booleans_are_quoted_outside_block_scalars() {
        let text = "args:\n- --appendonly\n- yes\nmode: on\nnote: yes please\ndata:\n  f.md: |-\n    - yes\n    on: off\n  g: n\n";
        assert_eq!(
            quote_yaml11_bools(text),
            "args:\n- --appendonly\n- 'yes'\nmode: 'on'\nnote: yes please\ndata:\n  f.md: |-\n    - yes\n    on: off\n  g: 'n'\n"
        );
        let args: Vec<String> =
            serde_norway::from_str(&to_yaml("t", &vec!["yes", "ON"]).unwrap()).unwrap();
        assert_eq!(args, ["yes", "ON"]);
    }
}
