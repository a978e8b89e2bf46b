//! String literals: decoding escapes and `${VAR}` interpolation, and writing them back canonically.

/// A piece of a decoded string: literal text or an interpolated environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrPart {
    Lit(String),
    Var {
        name: String,
        default: Option<String>,
    },
}

/// A decoding problem at a byte offset relative to the start of the literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrError {
    pub offset: usize,
    pub len: usize,
    pub message: String,
    pub help: String,
}

/// Decodes a quoted literal (quotes included) into parts. Adjacent literal text is merged.
pub fn decode(raw: &str) -> Result<Vec<StrPart>, StrError> {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    let bytes = inner.as_bytes();
    let mut parts = Vec::new();
    let mut lit = String::with_capacity(inner.len());
    let mut i = 0;
    while i < bytes.len() {
        // Copy the run up to the next `\` or `$` in one go.
        match memchr::memchr2(b'\\', b'$', &bytes[i..]) {
            None => {
                lit.push_str(&inner[i..]);
                break;
            }
            Some(n) => {
                lit.push_str(&inner[i..i + n]);
                i += n;
            }
        }
        if bytes[i] == b'$' {
            if bytes.get(i + 1) != Some(&b'{') {
                lit.push('$');
                i += 1;
                continue;
            }
            let rest = &inner[i..];
            let Some(close) = rest.find('}') else {
                return Err(err(
                    i,
                    2,
                    "`${` is never closed",
                    "write `${NAME}`, or `\\${` for the literal text",
                ));
            };
            let (name, default) = split_var(&rest[2..close]);
            if !is_var_name(name) {
                return Err(err(
                    i,
                    close + 1,
                    format!("`{name}` is not a variable name"),
                    "variable names are letters, digits and `_`; write `\\${` for the literal text",
                ));
            }
            if !lit.is_empty() {
                parts.push(StrPart::Lit(std::mem::take(&mut lit)));
            }
            parts.push(StrPart::Var {
                name: name.to_string(),
                default: default.map(str::to_string),
            });
            i += close + 1;
            continue;
        }
        // A backslash escape.
        let Some(e) = inner[i + 1..].chars().next() else {
            return Err(err(
                i,
                1,
                "a `\\` at the end of a string",
                "write `\\\\` for a backslash",
            ));
        };
        let mut len = 1 + e.len_utf8();
        match e {
            'n' => lit.push('\n'),
            't' => lit.push('\t'),
            'r' => lit.push('\r'),
            '0' => lit.push('\0'),
            '"' | '\'' | '\\' | '$' => lit.push(e),
            'u' => {
                let rest = &inner[i + 2..];
                let close = rest.find('}');
                let hex = match (rest.strip_prefix('{'), close) {
                    (Some(_), Some(close)) if close > 1 => &rest[1..close],
                    _ => {
                        return Err(err(
                            i,
                            2,
                            "malformed unicode escape",
                            "write it as `\\u{1F600}` (1 to 6 hex digits in braces)",
                        ))
                    }
                };
                let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                match ch {
                    Some(ch) if hex.len() <= 6 => lit.push(ch),
                    _ => {
                        return Err(err(
                            i,
                            close.unwrap_or(0) + 3,
                            format!("`{hex}` is not a unicode scalar value"),
                            "write it as `\\u{1F600}` (1 to 6 hex digits in braces)",
                        ))
                    }
                }
                len = 2 + close.unwrap_or(0) + 1;
            }
            other => {
                return Err(err(
                    i,
                    1 + other.len_utf8(),
                    format!("unknown escape `\\{other}`"),
                    "valid escapes: \\\" \\' \\\\ \\n \\t \\r \\0 \\$ \\u{…}",
                ))
            }
        }
        i += len;
    }
    if !lit.is_empty() || parts.is_empty() {
        parts.push(StrPart::Lit(lit));
    }
    Ok(parts)
}

fn err(offset: usize, len: usize, message: impl Into<String>, help: impl Into<String>) -> StrError {
    // +1: offsets are relative to the literal, whose first byte is the quote.
    StrError {
        offset: offset + 1,
        len,
        message: message.into(),
        help: help.into(),
    }
}

/// Splits `NAME:-default` into its name and default.
pub fn split_var(body: &str) -> (&str, Option<&str>) {
    match body.find(":-") {
        Some(i) => (&body[..i], Some(&body[i + 2..])),
        None => (body, None),
    }
}

/// Environment variable names: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Writes parts as a canonical double-quoted literal that decodes back to the same parts.
pub fn encode(parts: &[StrPart]) -> String {
    let mut out = String::from("\"");
    for part in parts {
        match part {
            StrPart::Lit(text) => escape_into(text, &mut out),
            StrPart::Var { name, default } => {
                out.push_str("${");
                out.push_str(name);
                if let Some(d) = default {
                    out.push_str(":-");
                    out.push_str(d);
                }
                out.push('}');
            }
        }
    }
    out.push('"');
    out
}

/// A plain text as a canonical double-quoted literal.
pub fn encode_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    escape_into(text, &mut out);
    out.push('"');
    out
}

fn escape_into(text: &str, out: &mut String) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
}

/// The plain text of parts whose variables are all resolved by `lookup` (used for env resolution).
pub fn is_plain(parts: &[StrPart]) -> Option<&str> {
    match parts {
        [StrPart::Lit(s)] => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_variables() {
        let parts = decode(r#""a\n\"b\u{41} ${HOME} ${X:-d}""#).unwrap();
        assert_eq!(
            parts,
            vec![
                StrPart::Lit("a\n\"bA ".into()),
                StrPart::Var {
                    name: "HOME".into(),
                    default: None
                },
                StrPart::Lit(" ".into()),
                StrPart::Var {
                    name: "X".into(),
                    default: Some("d".into())
                },
            ]
        );
        assert_eq!(decode(&encode(&parts)).unwrap(), parts);
    }

    #[test]
    fn single_quotes_and_dollar() {
        assert_eq!(
            decode("'it\\'s $5'").unwrap(),
            vec![StrPart::Lit("it's $5".into())]
        );
        assert_eq!(
            decode(r#""\${x}""#).unwrap(),
            vec![StrPart::Lit("${x}".into())]
        );
        assert_eq!(encode(&[StrPart::Lit("${x}".into())]), r#""\${x}""#);
    }

    #[test]
    fn bad_escapes_are_errors() {
        assert!(decode(r#""\q""#).is_err());
        assert!(decode(r#""\u{zz}""#).is_err());
        assert!(decode(r#""${""#).is_err());
        assert!(decode(r#""\u{110000}""#).is_err());
    }
}
