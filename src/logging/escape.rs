//! Text logs escape control characters: a newline in user text would otherwise start a forged
//! log line, and a NUL, an escape sequence or a C1 control would reach whoever reads the log (a
//! terminal, a collector). Each formatted line is escaped as it reaches the writer: the formatter
//! itself writes no control character but the line's final newline (and, on a terminal, its own
//! colour sequences, which are kept).

use std::borrow::Cow;
use std::io::{self, Write};

/// Escapes control characters in one formatted log line (its final `\n` kept): `\n`, `\r`, `\t`,
/// `\0`, any other C0 or C1 control, DEL and the Unicode line/paragraph separators as `\u{..}`.
/// With `keep_sgr`, colour sequences (`ESC [ digits ; m`) pass unchanged.
pub fn escape_line(line: &[u8], keep_sgr: bool) -> Cow<'_, [u8]> {
    let (body, newline) = match line.strip_suffix(b"\n") {
        Some(b) => (b, true),
        None => (line, false),
    };
    if !body
        .iter()
        .any(|&b| b < 0x20 || b == 0x7f || b == 0xc2 || b == 0xe2)
    {
        return Cow::Borrowed(line);
    }
    let mut out = Vec::with_capacity(line.len() + 16);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        match b {
            0x1b if keep_sgr && sgr_len(&body[i..]) > 0 => {
                let n = sgr_len(&body[i..]);
                out.extend_from_slice(&body[i..i + n]);
                i += n;
                continue;
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0 => out.extend_from_slice(b"\\0"),
            0x00..=0x1f | 0x7f => push_code(&mut out, u32::from(b)),
            // C1 controls: U+0080..U+009F, UTF-8 `C2 80`..`C2 9F`.
            0xc2 if matches!(body.get(i + 1), Some(0x80..=0x9f)) => {
                push_code(&mut out, u32::from(body[i + 1]));
                i += 2;
                continue;
            }
            // U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR: `E2 80 A8` / `E2 80 A9`.
            0xe2 if body.get(i + 1) == Some(&0x80)
                && matches!(body.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                push_code(&mut out, 0x2000 + u32::from(body[i + 2]) - 0x80);
                i += 3;
                continue;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    if newline {
        out.push(b'\n');
    }
    Cow::Owned(out)
}

fn push_code(out: &mut Vec<u8>, code: u32) {
    let _ = write!(out, "\\u{{{code:x}}}");
}

/// Length of a colour sequence `ESC [ (digits | ;)* m` at the start of `s`, 0 if there is none.
fn sgr_len(s: &[u8]) -> usize {
    if s.len() < 3 || s[0] != 0x1b || s[1] != b'[' {
        return 0;
    }
    for (i, &b) in s.iter().enumerate().skip(2) {
        match b {
            b'0'..=b'9' | b';' => {}
            b'm' => return i + 1,
            _ => return 0,
        }
    }
    0
}

/// A writer that escapes each line on its way to `inner`.
#[derive(Clone)]
pub struct Escaping<W> {
    inner: W,
    keep_sgr: bool,
}

impl<W> Escaping<W> {
    pub fn new(inner: W, keep_sgr: bool) -> Self {
        Escaping { inner, keep_sgr }
    }
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_all(&escape_line(buf, self.keep_sgr))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<'a, W: Write + Clone + 'a> tracing_subscriber::fmt::MakeWriter<'a> for Escaping<W> {
    type Writer = Escaping<W>;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::escape_line;

    fn esc(s: &str, keep_sgr: bool) -> String {
        String::from_utf8(escape_line(s.as_bytes(), keep_sgr).into_owned()).unwrap()
    }

    #[test]
    fn control_characters_are_escaped_and_the_final_newline_kept() {
        assert_eq!(
            esc("a\nERROR forged\r\n\0b\tc\u{1b}[31md\u{7f}\n", false),
            "a\\nERROR forged\\r\\n\\0b\\tc\\u{1b}[31md\\u{7f}\n"
        );
        assert_eq!(
            esc("x\u{85}y\u{9f}z\u{2028}w\u{2029}\n", false),
            "x\\u{85}y\\u{9f}z\\u{2028}w\\u{2029}\n"
        );
    }

    #[test]
    fn ordinary_text_is_untouched_and_not_copied() {
        let line = "2026-12-01T00:00:00Z  INFO héllo £5 – “quoted” 日本\n";
        assert_eq!(esc(line, false), line);
        assert!(matches!(
            escape_line(b"plain ascii\n", false),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn colours_pass_only_when_asked() {
        let line = "\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m hi\u{1b}]0;title\u{7}\n";
        assert_eq!(
            esc(line, true),
            "\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m hi\\u{1b}]0;title\\u{7}\n"
        );
        assert!(!esc(line, false).contains('\u{1b}'));
    }
}
