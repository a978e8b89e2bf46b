//! `fmt`: the canonical form of a `.ww` file, comments kept.
//!
//! Canonical form: `name = kind type {` with entries indented four spaces as `key: value`, one
//! blank line between declarations (other blank lines collapsed to one), double-quoted strings,
//! lowercase `true`/`false`/`null`, `$VAR` (or `${VAR:-default}`), lists and maps on one line when
//! they hold no comments, no typed blocks and fit in [`INLINE_WIDTH`] columns, otherwise one element
//! per line, each followed by a comma.

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::source::LineIndex;
use crate::strings::{encode, is_var_name, StrPart};

/// Widest value written on one line.
pub const INLINE_WIDTH: usize = 80;
const INDENT: &str = "    ";

/// See [`crate::format_source`].
pub fn format_source(source: &str) -> Result<String, Vec<Diagnostic>> {
    if source.len() > crate::MAX_FILE_BYTES {
        return Err(vec![Diagnostic::error(
            "file-too-large",
            crate::model::Span {
                start: 0,
                end: 0,
                line: 1,
                col: 1,
            },
            "the file is too large to format",
        )
        .help(format!(
            "files are limited to {} bytes",
            crate::MAX_FILE_BYTES
        ))]);
    }
    let idx = LineIndex::new(source);
    let (file, diags) = crate::parse::parse(source, &idx);
    let errors: Vec<Diagnostic> = diags.into_iter().filter(Diagnostic::is_error).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(format_file(&file))
}

/// Prints a syntax tree in canonical form.
pub fn format_file(file: &File) -> String {
    let mut out = String::new();
    let mut prev_decl = false;
    for (i, m) in file.members.iter().enumerate() {
        let (blank, is_decl) = match m {
            Member::Item { blank_before, .. } => (*blank_before, true),
            Member::Comment { blank_before, .. } => (*blank_before, false),
        };
        if i > 0 && (prev_decl || blank) {
            out.push('\n');
        }
        match m {
            Member::Item {
                value: Top::Setting(e),
                trailing,
                ..
            } => {
                key(&e.key.text, &mut out);
                out.push_str(" = ");
                value(&e.value, 0, &mut out);
                push_trailing(trailing, &mut out);
            }
            Member::Item {
                value: Top::Decl(value),
                trailing,
                ..
            } => {
                out.push_str(&value.name.text);
                out.push_str(" = ");
                if let Some(k) = &value.kind {
                    out.push_str(&k.text);
                    out.push(' ');
                }
                out.push_str(&value.type_name.text);
                out.push(' ');
                block(&value.body, 0, &mut out);
                push_trailing(trailing, &mut out);
            }
            Member::Comment { comment, .. } => out.push_str(&comment.text),
        }
        out.push('\n');
        prev_decl = is_decl;
    }
    out
}

fn push_trailing(trailing: &Option<Comment>, out: &mut String) {
    if let Some(c) = trailing {
        out.push(' ');
        out.push_str(&c.text);
    }
}

fn indent(level: usize, out: &mut String) {
    for _ in 0..level {
        out.push_str(INDENT);
    }
}

/// A block always on several lines (declaration bodies, typed blocks); `{}` when empty.
fn block(b: &Block, level: usize, out: &mut String) {
    if b.members.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    seq(&b.members, level, out, entry, false);
    indent(level, out);
    out.push('}');
}

fn entry(e: &Entry, level: usize, out: &mut String) {
    key(&e.key.text, out);
    out.push_str(": ");
    value(&e.value, level, out);
}

fn key(k: &str, out: &mut String) {
    let bare = is_var_name(k)
        && !["true", "false", "null"]
            .iter()
            .any(|r| k.eq_ignore_ascii_case(r));
    if bare {
        out.push_str(k);
    } else {
        out.push_str(&encode(&[StrPart::Lit(k.to_string())]));
    }
}

fn value(v: &Val, level: usize, out: &mut String) {
    match &v.kind {
        ValKind::List(members) => {
            if let Some(line) = inline_list(members) {
                out.push_str(&line);
                return;
            }
            out.push_str("[\n");
            // Maps in one list are all inline or all blocks, so similar entries look alike.
            let all_inline = items(members).all(|m| match &m.kind {
                ValKind::Map(b) => inline_map(b).is_some(),
                _ => true,
            });
            if all_inline {
                seq(members, level, out, value, true);
            } else {
                seq(members, level, out, value_block_maps, true);
            }
            indent(level, out);
            out.push(']');
        }
        ValKind::Map(b) => {
            if let Some(line) = inline_map(b) {
                out.push_str(&line);
                return;
            }
            block(b, level, out);
        }
        ValKind::Typed(t) => {
            let TypedBlock {
                kind,
                type_name,
                body,
            } = &**t;
            if let Some(k) = kind {
                out.push_str(&k.text);
                out.push(' ');
            }
            out.push_str(&type_name.text);
            out.push(' ');
            block(body, level, out);
        }
        _ => out.push_str(&scalar(v).unwrap_or_default()),
    }
}

/// Like [`value`], but a map is always written as a block.
fn value_block_maps(v: &Val, level: usize, out: &mut String) {
    match &v.kind {
        ValKind::Map(b) if !b.members.is_empty() => block(b, level, out),
        _ => value(v, level, out),
    }
}

/// Members (list elements, block entries) one per line, with a comma after each when `commas`.
fn seq<T>(
    members: &[Member<T>],
    level: usize,
    out: &mut String,
    f: impl Fn(&T, usize, &mut String),
    commas: bool,
) {
    for (i, m) in members.iter().enumerate() {
        match m {
            Member::Item {
                value,
                trailing,
                blank_before,
            } => {
                if *blank_before && i > 0 {
                    out.push('\n');
                }
                indent(level + 1, out);
                f(value, level + 1, out);
                if commas {
                    out.push(',');
                }
                push_trailing(trailing, out);
            }
            Member::Comment {
                comment,
                blank_before,
            } => {
                if *blank_before && i > 0 {
                    out.push('\n');
                }
                indent(level + 1, out);
                out.push_str(&comment.text);
            }
        }
        out.push('\n');
    }
}

/// The one-line text of a scalar value; `None` for lists, maps and typed blocks.
fn scalar(v: &Val) -> Option<String> {
    Some(match &v.kind {
        ValKind::Text(text) => crate::strings::encode_text(text),
        ValKind::Str(parts) => encode(parts),
        ValKind::Int(i) => i.to_string(),
        ValKind::Float(_, raw) => raw.clone(),
        ValKind::Bool(b) => b.to_string(),
        ValKind::Null => "null".into(),
        ValKind::Env { name, default, .. } => match default {
            Some(d) => format!("${{{name}:-{d}}}"),
            None => format!("${name}"),
        },
        ValKind::Ref(name) => name.clone(),
        ValKind::Invalid => String::new(),
        ValKind::List(_) | ValKind::Map(_) | ValKind::Typed(_) => return None,
    })
}

fn inline_list(members: &[Member<Val>]) -> Option<String> {
    let line = inline_value_list(members)?;
    (line.len() <= INLINE_WIDTH).then_some(line)
}

fn inline_map(b: &Block) -> Option<String> {
    let line = inline_value_map(b)?;
    (line.len() <= INLINE_WIDTH).then_some(line)
}

/// One-line text of a value (scalars, and lists/maps without comments); width not checked.
fn inline_value(v: &Val) -> Option<String> {
    match &v.kind {
        ValKind::List(members) => inline_value_list(members),
        ValKind::Map(b) => inline_value_map(b),
        _ => scalar(v),
    }
}

fn inline_value_list(members: &[Member<Val>]) -> Option<String> {
    let mut parts = Vec::new();
    for m in members {
        match m {
            // Lists of maps are always one map per line.
            Member::Item { value, .. } if matches!(&value.kind, ValKind::Map(b) if !b.members.is_empty()) => {
                return None
            }
            Member::Item {
                value,
                trailing: None,
                ..
            } => parts.push(inline_value(value)?),
            _ => return None,
        }
        if parts.iter().map(String::len).sum::<usize>() > INLINE_WIDTH {
            return None;
        }
    }
    Some(format!("[{}]", parts.join(", ")))
}

fn inline_value_map(b: &Block) -> Option<String> {
    if b.members.is_empty() {
        return Some("{}".into());
    }
    let mut parts = Vec::new();
    for m in &b.members {
        match m {
            Member::Item {
                value,
                trailing: None,
                ..
            } => {
                let mut k = String::new();
                key(&value.key.text, &mut k);
                parts.push(format!("{k}: {}", inline_value(&value.value)?));
            }
            _ => return None,
        }
        if parts.iter().map(String::len).sum::<usize>() > INLINE_WIDTH {
            return None;
        }
    }
    Some(format!("{{ {} }}", parts.join(", ")))
}
