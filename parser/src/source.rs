//! Byte ranges and the line index that turns them into the line/column spans diagnostics print.
//!
//! The lexer and parser work with cheap `Range`s (two `u32`s); line and column are computed only
//! when a diagnostic or a component needs them, so parsing large files stays fast.

use crate::model::Span;

/// A byte range in the source; files are capped well below 4 GiB, so `u32` is enough.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Range {
    pub start: u32,
    pub end: u32,
}

impl Range {
    /// A range from byte offsets.
    pub fn new(start: usize, end: usize) -> Range {
        Range {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest range covering both.
    pub fn join(self, other: Range) -> Range {
        Range {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The source text it covers (empty if out of bounds).
    pub fn text(self, src: &str) -> &str {
        src.get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }
}

/// Line starts of one source text, so a byte offset maps to a 1-based line and column in O(log n).
pub struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// The source text of `r` (empty when out of bounds), so checks can see how a value was
    /// written (a quoted name or a bare one).
    pub fn text(&self, r: Range) -> &'a str {
        r.text(self.src)
    }

    /// Indexes the line starts of `src` (one pass).
    pub fn new(src: &'a str) -> LineIndex<'a> {
        let mut starts = Vec::with_capacity(src.len() / 32 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', src.as_bytes()).map(|i| i + 1));
        LineIndex { src, starts }
    }

    /// 0-based line number of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// The text of a 0-based line, without its line break.
    pub fn line_text(&self, line: usize) -> &'a str {
        let start = self.starts.get(line).copied().unwrap_or(self.src.len());
        let end = self
            .starts
            .get(line + 1)
            .map(|e| e.saturating_sub(1))
            .unwrap_or(self.src.len());
        let text = self.src.get(start..end.max(start)).unwrap_or("");
        text.strip_suffix('\r').unwrap_or(text)
    }

    /// The 1-based column (in characters) of a byte offset on its line.
    pub fn col_of(&self, offset: usize) -> usize {
        let line = self.line_of(offset);
        let start = self.starts[line];
        let offset = clamp_to_char_boundary(self.src, offset.min(self.src.len()));
        self.src.get(start..offset).map_or(0, |s| s.chars().count()) + 1
    }

    /// A model span with line and column filled in.
    pub fn span(&self, r: Range) -> Span {
        let start = (r.start as usize).min(self.src.len());
        Span {
            start,
            end: (r.end as usize).clamp(start, self.src.len()),
            line: (self.line_of(start) + 1) as u32,
            col: self.col_of(start) as u32,
        }
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

/// The nearest char boundary at or before `offset` (spans from bad bytes must never split a char).
pub fn clamp_to_char_boundary(s: &str, mut offset: usize) -> usize {
    offset = offset.min(s.len());
    while offset > 0 && !s.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_offsets_to_lines_and_columns() {
        let idx = LineIndex::new("ab\ncdé\n\nx");
        assert_eq!(idx.span(Range::new(0, 1)).line, 1);
        let s = idx.span(Range::new(4, 5));
        assert_eq!((s.line, s.col), (2, 2));
        let s = idx.span(Range::new(9, 10));
        assert_eq!((s.line, s.col), (4, 1));
        assert_eq!(idx.line_text(1), "cdé");
        assert_eq!(idx.line_text(2), "");
    }
}
