//! Text rendering of diagnostics, modelled on rustc:
//!
//! ```text
//! error[unknown-reference]: unknown reference `modle`
//!   --> main.ww:12:9
//!    |
//! 12 |     to: modle
//!    |         ^^^^^ did you mean `model`?
//!    |
//!    = help: …
//! ```

use crate::diagnostic::Diagnostic;
use crate::source::LineIndex;

/// Longest source line shown; longer lines are cut around the marked span.
const MAX_LINE: usize = 160;

/// Renders one diagnostic against its source.
pub fn render(d: &Diagnostic, file: &str, idx: &LineIndex) -> String {
    let mut out = format!("{}[{}]: {}\n", d.severity.as_str(), d.code, d.message);
    // Every label line, primary first if it has no label of its own.
    let mut marks: Vec<(crate::model::Span, String, bool)> = Vec::new();
    if !d.labels.iter().any(|(s, _)| *s == d.span) {
        marks.push((d.span, String::new(), true));
    }
    for (s, text) in &d.labels {
        marks.push((*s, text.clone(), *s == d.span));
    }
    marks.sort_by_key(|(s, _, primary)| (s.line, !*primary, s.col));
    let width = marks
        .iter()
        .map(|(s, _, _)| s.line.to_string().len())
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(width);
    out.push_str(&format!("{pad}--> {file}:{}:{}\n", d.span.line, d.span.col));
    out.push_str(&format!("{pad} |\n"));
    let mut last_line = 0u32;
    for (span, text, primary) in &marks {
        let line_no = span.line.max(1);
        let line = idx.line_text((line_no - 1) as usize);
        let (shown, col0, len) = window(line, span.col.max(1) as usize - 1, span_len(span, line));
        if line_no != last_line {
            if last_line != 0 && line_no > last_line + 1 {
                out.push_str(&format!("{pad}...\n"));
            }
            out.push_str(&format!("{:>width$} | {}\n", line_no, shown));
        }
        last_line = line_no;
        let marker = if *primary { "^" } else { "-" };
        let note = if text.is_empty() {
            String::new()
        } else {
            format!(" {text}")
        };
        out.push_str(&format!(
            "{pad} | {}{}{}\n",
            " ".repeat(col0),
            marker.repeat(len.max(1)),
            note
        ));
    }
    if let Some(help) = &d.help {
        out.push_str(&format!("{pad} |\n{pad} = help: {help}\n"));
    }
    out
}

/// The span's length in characters on its first line (at least 1).
fn span_len(span: &crate::model::Span, line: &str) -> usize {
    let col0 = span.col.max(1) as usize - 1;
    let rest = line.chars().count().saturating_sub(col0);
    let bytes = span.end.saturating_sub(span.start);
    bytes.min(rest).max(1)
}

/// Cuts long lines to a window around the span; tabs shown as one space so carets line up.
fn window(line: &str, col0: usize, len: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line
        .chars()
        .map(|c| if c == '\t' || c.is_control() { ' ' } else { c })
        .collect();
    if chars.len() <= MAX_LINE {
        return (chars.iter().collect(), col0, len.min(MAX_LINE));
    }
    let start = col0.saturating_sub(40);
    let end = (start + MAX_LINE).min(chars.len());
    let mut s: String = chars[start..end].iter().collect();
    let mut col = col0 - start;
    if start > 0 {
        s = format!("…{s}");
        col += 1;
    }
    if end < chars.len() {
        s.push('…');
    }
    (s, col, len.min(end.saturating_sub(col0)).max(1))
}
