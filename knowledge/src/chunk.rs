//! Splitting a file's text into overlapping passages of about `size` characters, cut at a
//! paragraph, line or word break where one is near, so each passage reads as whole sentences.

/// A passage: its text and byte range in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// Splits `text` into chunks of at most `size` characters (at least the last half of each window
/// is searched for a break: blank line, then line end, then space), each starting `overlap`
/// characters before the previous one ended (moved forward to a word start). Whitespace-only
/// chunks are dropped; chunk text is trimmed.
pub fn split(text: &str, size: usize, overlap: usize) -> Vec<Chunk> {
    let size = size.max(1);
    let overlap = overlap.min(size / 2);
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let limit = advance(text, start, size);
        let end = if limit >= text.len() {
            text.len()
        } else {
            break_before(text, start, limit, size)
        };
        push_trimmed(&mut chunks, text, start, end);
        if end >= text.len() {
            break;
        }
        let back = retreat(text, end, overlap);
        let next = word_start(text, back, end);
        start = if next > start { next } else { end };
    }
    chunks
}

fn push_trimmed(chunks: &mut Vec<Chunk>, text: &str, start: usize, end: usize) {
    let raw = &text[start..end];
    let lead = raw.len() - raw.trim_start().len();
    let trimmed = raw.trim();
    if !trimmed.is_empty() {
        let s = start + lead;
        chunks.push(Chunk {
            text: trimmed.to_string(),
            start: s,
            end: s + trimmed.len(),
        });
    }
}

/// Byte offset `n` characters after `from` (or the end).
fn advance(text: &str, from: usize, n: usize) -> usize {
    match text[from..].char_indices().nth(n) {
        Some((i, _)) => from + i,
        None => text.len(),
    }
}

/// Byte offset `n` characters before `to` (or 0).
fn retreat(text: &str, to: usize, n: usize) -> usize {
    if n == 0 {
        return to;
    }
    match text[..to].char_indices().rev().nth(n - 1) {
        Some((i, _)) => i,
        None => 0,
    }
}

/// Where to end a chunk that starts at `start` and may not pass `limit`: after the last blank
/// line, line end or space in the window's second half, else at `limit`.
fn break_before(text: &str, start: usize, limit: usize, size: usize) -> usize {
    let floor = advance(text, start, size / 2);
    let window = &text[floor..limit];
    for sep in ["\n\n", "\n", ". ", " "] {
        if let Some(i) = window.rfind(sep) {
            return floor + i + sep.len();
        }
    }
    limit
}

/// The first word start at or after `from` (within the characters before `end`), so an
/// overlap does not begin mid-word; `from` itself when no break is near.
fn word_start(text: &str, from: usize, end: usize) -> usize {
    if from == 0 || text[..from].ends_with(char::is_whitespace) {
        return from;
    }
    match text[from..end].find(char::is_whitespace) {
        Some(i) => {
            let after = from + i;
            let skip = text[after..end].len() - text[after..end].trim_start().len();
            let s = after + skip;
            if s < end {
                s
            } else {
                from
            }
        }
        None => from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_chunk_and_blank_text_none() {
        assert_eq!(split("  hello world \n", 1000, 200).len(), 1);
        assert_eq!(split("hello", 1000, 200)[0].text, "hello");
        assert!(split(" \n\n \t", 1000, 200).is_empty());
        assert!(split("", 1000, 200).is_empty());
    }

    #[test]
    fn chunks_respect_the_size_overlap_and_prefer_paragraph_breaks() {
        let para = |w: &str| format!("{} ", w).repeat(60);
        let text = format!("{}\n\n{}\n\n{}", para("alpha"), para("beta"), para("gamma"));
        let chunks = split(&text, 500, 100);
        assert!(chunks.len() >= 3, "{chunks:?}");
        for c in &chunks {
            assert!(c.text.chars().count() <= 500, "{}", c.text.len());
            assert_eq!(&text[c.start..c.end], c.text);
        }
        // The first chunk ends at the first paragraph break, not mid-paragraph.
        assert!(chunks[0].text.ends_with("alpha"), "{}", chunks[0].text);
        // Consecutive chunks overlap.
        assert!(chunks[1].start < chunks[0].end);
        // Every word of the text is in some chunk.
        let covered = chunks.iter().map(|c| c.end).max().unwrap();
        assert_eq!(covered, text.trim_end().len());
    }

    #[test]
    fn multibyte_text_without_breaks_is_cut_on_char_boundaries() {
        let text = "é".repeat(2500);
        let chunks = split(&text, 1000, 200);
        assert!(chunks.len() >= 3);
        for c in &chunks {
            assert!(c.text.chars().count() <= 1000);
        }
        assert_eq!(chunks[1].start, chunks[0].end - 200 * 2);
    }
}
