//! The tokenizer: `.ww` source text to a flat list of tokens with byte ranges.
//!
//! Token recognisers are nom 8 parsers over `&str`; the driver loop dispatches on the first byte so
//! each position tries one recogniser, which keeps lexing linear and fast. Lexing never fails: a
//! malformed piece becomes an `Error` token plus a [`LexError`], and lexing goes on after it.

use crate::source::Range;
use nom::bytes::complete::{take_till, take_while, take_while1};
use nom::character::complete::{char, digit1, one_of};
use nom::combinator::{opt, recognize};
use nom::{IResult, Parser};

/// What a token is; its text is the source slice of its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_]*`: names, kinds, keys, booleans, `null`, references.
    Ident,
    /// A quoted string, quotes included (decoded by the parser).
    Str,
    Int,
    Float,
    /// `$VAR`, `${VAR}` or `${VAR:-default}`.
    Env,
    /// Unquoted text that is not an identifier (`./tools/x.py`, `gpt-4o`): always an error, with
    /// a help line saying to quote it.
    Word,
    Eq,
    Colon,
    Comma,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Newline,
    /// `# …` or `// …` to the end of the line.
    Comment,
    /// Bytes that could not be lexed; a [`LexError`] describes them.
    Error,
    Eof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub range: Range,
}

/// A lexing problem, turned into a diagnostic by the parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    pub code: &'static str,
    pub range: Range,
    pub message: String,
    pub help: String,
}

type Res<'a> = IResult<&'a str, &'a str>;

fn ident(i: &str) -> Res<'_> {
    recognize((
        take_while1(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))
    .parse(i)
}

fn number(i: &str) -> IResult<&str, (&str, bool)> {
    let (rest, (text, frac, exp)) = (
        recognize((opt(char('-')), digit1)),
        opt(recognize((char('.'), digit1))),
        opt(recognize((one_of("eE"), opt(one_of("+-")), digit1))),
    )
        .parse(i)?;
    let len = text.len() + frac.map_or(0, str::len) + exp.map_or(0, str::len);
    Ok((rest, (&i[..len], frac.is_some() || exp.is_some())))
}

fn comment(i: &str) -> Res<'_> {
    take_till(|c: char| c == '\n' || c == '\r').parse(i)
}

fn env_braced(i: &str) -> IResult<&str, &str> {
    recognize((
        char('$'),
        char('{'),
        take_while1(|c: char| c != '}' && c != '\n'),
        char('}'),
    ))
    .parse(i)
}

fn env_bare(i: &str) -> Res<'_> {
    recognize((char('$'), ident)).parse(i)
}

/// A bare word: runs to whitespace or a delimiter. `:` belongs to a word only inside `://`-like text.
fn word(i: &str) -> Res<'_> {
    let mut end = 0;
    let bytes = i.as_bytes();
    while end < bytes.len() {
        let b = bytes[end];
        let stop = matches!(
            b,
            b' ' | b'\t'
                | b'\r'
                | b'\n'
                | b','
                | b'{'
                | b'}'
                | b'['
                | b']'
                | b'#'
                | b'"'
                | b'\''
                | b'='
        ) || (b == b':' && bytes.get(end + 1) != Some(&b'/'));
        if stop {
            break;
        }
        end += 1;
    }
    let end = crate::source::clamp_to_char_boundary(i, end.max(1));
    let end = if end == 0 {
        i.chars().next().map_or(0, char::len_utf8)
    } else {
        end
    };
    Ok((&i[end..], &i[..end]))
}

/// True when a word continues after an identifier or number, making it unquoted text.
fn continues_word(rest: &str) -> bool {
    let mut chars = rest.chars();
    match chars.next() {
        Some('/' | '-' | '@' | '~' | '+' | '\\') => true,
        Some('.') => chars
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '/' || c == '_' || c == '.'),
        Some(c) => c.is_alphanumeric() || c == '_' || (c as u32) > 127,
        None => false,
    }
}

/// Most lexing problems recorded per file; past this, bad bytes still become `Error` tokens.
pub const MAX_LEX_ERRORS: usize = 100;

/// A streaming tokenizer: the parser pulls tokens one at a time, so memory stays small whatever
/// the input (no token vector proportional to the file).
pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    pub errors: Vec<LexError>,
    /// Errors beyond [`MAX_LEX_ERRORS`], counted but not kept.
    pub dropped_errors: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub fn new(src: &'a str) -> Lexer<'a> {
        Lexer {
            src,
            pos: 0,
            errors: Vec::new(),
            dropped_errors: 0,
        }
    }

    fn error(&mut self, e: LexError) {
        if self.errors.len() < MAX_LEX_ERRORS {
            self.errors.push(e);
        } else {
            self.dropped_errors += 1;
        }
    }

    /// The next token; `Eof` forever at the end.
    pub fn next_token(&mut self) -> Token {
        let src = self.src;
        let bytes = src.as_bytes();
        while self.pos < bytes.len() && matches!(bytes[self.pos], b' ' | b'\t' | b'\r') {
            self.pos += 1;
        }
        let pos = self.pos;
        if pos >= bytes.len() {
            return Token {
                tok: Tok::Eof,
                range: Range::new(src.len(), src.len()),
            };
        }
        let b = bytes[pos];
        let rest = &src[pos..];
        let (tok, len) = match b {
            b'\n' => (Tok::Newline, 1),
            b'=' => (Tok::Eq, 1),
            b':' => (Tok::Colon, 1),
            b',' => (Tok::Comma, 1),
            b'{' => (Tok::LBrace, 1),
            b'}' => (Tok::RBrace, 1),
            b'[' => (Tok::LBracket, 1),
            b']' => (Tok::RBracket, 1),
            b'#' => (Tok::Comment, comment_len(rest)),
            b'/' if bytes.get(pos + 1) == Some(&b'/') => (Tok::Comment, comment_len(rest)),
            b'"' | b'\'' => match string_len(rest, b) {
                Ok(len) => (Tok::Str, len),
                Err(len) => {
                    self.error(LexError {
                        code: "unterminated-string",
                        range: Range::new(pos, pos + len),
                        message: "this string is never closed".into(),
                        help: format!(
                            "close it with {} on the same line (write a line break as \\n)",
                            b as char
                        ),
                    });
                    (Tok::Error, len)
                }
            },
            b'$' => match env_braced(rest).or_else(|_| env_bare(rest)) {
                Ok((_, text)) => (Tok::Env, text.len()),
                Err(_) => {
                    let len = word(rest).map_or(1, |(_, w)| w.len());
                    self.error(LexError {
                        code: "invalid-variable",
                        range: Range::new(pos, pos + len),
                        message: "`$` must start an environment variable".into(),
                        help: "write `$NAME`, `${NAME}` or `${NAME:-default}`; quote text that contains `$`"
                            .into(),
                    });
                    (Tok::Error, len)
                }
            },
            b'0'..=b'9' | b'-' => match number(rest) {
                Ok((after, (text, is_float))) if !continues_word(after) => {
                    (if is_float { Tok::Float } else { Tok::Int }, text.len())
                }
                _ => (Tok::Word, word(rest).map_or(1, |(_, w)| w.len())),
            },
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => match ident(rest) {
                Ok((after, text)) if !continues_word(after) => (Tok::Ident, text.len()),
                _ => (Tok::Word, word(rest).map_or(1, |(_, w)| w.len())),
            },
            b'.' | b'/' | b'~' => (Tok::Word, word(rest).map_or(1, |(_, w)| w.len())),
            _ => {
                // A run of unexpected characters is one token and one diagnostic.
                let len = rest
                    .char_indices()
                    .find(|(_, c)| c.is_ascii() && !is_unexpected(*c))
                    .map_or(rest.len(), |(i, _)| i)
                    .max(rest.chars().next().map_or(1, char::len_utf8));
                let ch = rest.chars().next().unwrap_or('?');
                self.error(LexError {
                    code: "unexpected-character",
                    range: Range::new(pos, pos + len),
                    message: format!("unexpected character {ch:?}"),
                    help: "names are letters, digits and `_`; put any other text in quotes".into(),
                });
                (Tok::Error, len)
            }
        };
        let mut end = pos + len.max(1);
        // Never split a character, whatever the recogniser returned.
        while end < bytes.len() && !src.is_char_boundary(end) {
            end += 1;
        }
        self.pos = end.min(bytes.len());
        Token {
            tok,
            range: Range::new(pos, self.pos),
        }
    }
}

/// ASCII characters that start no token.
fn is_unexpected(c: char) -> bool {
    !(c.is_ascii_alphanumeric()
        || matches!(
            c,
            ' ' | '\t'
                | '\r'
                | '\n'
                | '='
                | ':'
                | ','
                | '{'
                | '}'
                | '['
                | ']'
                | '#'
                | '/'
                | '"'
                | '\''
                | '$'
                | '-'
                | '_'
                | '.'
                | '~'
        ))
}

/// Tokenizes all of `src` (tests and benchmarks; the parser streams). Ends with one `Eof`.
pub fn lex(src: &str) -> (Vec<Token>, Vec<LexError>) {
    let mut lexer = Lexer::new(src);
    let mut toks = Vec::new();
    loop {
        let t = lexer.next_token();
        toks.push(t);
        if t.tok == Tok::Eof {
            break;
        }
    }
    (toks, lexer.errors)
}

fn comment_len(rest: &str) -> usize {
    comment(rest).map_or(rest.len(), |(_, c)| c.len())
}

/// Length of the string starting at `rest[0]` (the quote), or `Err(len to end of line)` if unclosed.
fn string_len(rest: &str, quote: u8) -> Result<usize, usize> {
    let bytes = rest.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                if matches!(bytes.get(i + 1), None | Some(b'\n')) {
                    return Err(i + 1);
                }
                i += 2;
            }
            b'\n' => return Err(i),
            b if b == quote => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        lex(src).0.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_a_declaration() {
        use Tok::*;
        assert_eq!(
            kinds("a = llm openai { key: \"v\", n: -1.5e3 } # c"),
            vec![
                Ident, Eq, Ident, Ident, LBrace, Ident, Colon, Str, Comma, Ident, Colon, Float,
                RBrace, Comment, Eof
            ]
        );
    }

    #[test]
    fn env_values_and_words() {
        use Tok::*;
        assert_eq!(
            kinds("$A ${B} ${C:-x y} ./a/b.py gpt-4o 12 4o"),
            vec![Env, Env, Env, Word, Word, Int, Word, Eof]
        );
    }

    #[test]
    fn unterminated_string_is_an_error_token() {
        let (toks, errs) = lex("a: \"abc\nb: 1");
        assert_eq!(toks[2].tok, Tok::Error);
        assert_eq!(errs[0].code, "unterminated-string");
        assert_eq!(toks[3].tok, Tok::Newline);
    }

    #[test]
    fn slash_comments() {
        assert_eq!(
            kinds("// hi\nx"),
            vec![Tok::Comment, Tok::Newline, Tok::Ident, Tok::Eof]
        );
    }
}
