//! The parser: tokens to a syntax tree, with error recovery.
//!
//! Recursive descent over the token list. Each entry and each declaration recovers on its own: an
//! error skips to the end of that entry (or declaration) with brackets balanced, so one bad line
//! does not hide the errors after it. Nesting is limited to [`MAX_DEPTH`] so hostile input cannot
//! overflow the stack.

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::lexer::{Lexer, Tok, Token};
use crate::source::{LineIndex, Range};
use crate::strings::{decode, split_var};

/// Deepest nesting of blocks, lists and maps accepted (a declaration body is depth 1).
pub const MAX_DEPTH: usize = 64;

/// Parses a whole file. Diagnostics are in source order; the tree holds everything that parsed.
pub fn parse(src: &str, idx: &LineIndex) -> (File, Vec<Diagnostic>) {
    let mut lexer = Lexer::new(src);
    let cur = lexer.next_token();
    let next = lexer.next_token();
    let mut p = Parser {
        src,
        lexer,
        cur,
        next,
        consumed: 0,
        idx,
        diags: Vec::new(),
        dropped: 0,
        depth: 0,
    };
    let file = p.file();
    let mut diags: Vec<Diagnostic> = std::mem::take(&mut p.lexer.errors)
        .into_iter()
        .map(|e| Diagnostic::error(e.code, idx.span(e.range), e.message).help(e.help))
        .collect();
    diags.append(&mut p.diags);
    diags.sort_by_key(|d| d.span.start);
    let dropped = p.dropped + p.lexer.dropped_errors;
    if dropped > 0 {
        diags.push(
            Diagnostic::error(
                "too-many-errors",
                idx.span(Range::new(src.len(), src.len())),
                format!("{dropped} more syntax errors are not shown"),
            )
            .help("fix the errors above and check again; is this really a .ww file?"),
        );
    }
    (file, diags)
}

/// Most syntax diagnostics kept per file, so garbage input cannot exhaust memory.
pub const MAX_SYNTAX_ERRORS: usize = 100;

struct Parser<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    cur: Token,
    next: Token,
    /// Tokens consumed so far (recovery uses it to guarantee progress).
    consumed: usize,
    idx: &'a LineIndex<'a>,
    diags: Vec<Diagnostic>,
    dropped: usize,
    depth: usize,
}

/// Marker that the current construct failed and was reported; the caller recovers.
struct Failed;

type PResult<T> = Result<T, Failed>;

impl<'a> Parser<'a> {
    fn peek(&self) -> Tok {
        self.cur.tok
    }

    /// The token after the current one (the grammar needs one token of lookahead beyond it).
    fn peek2(&self) -> Tok {
        self.next.tok
    }

    fn tok(&self) -> Token {
        self.cur
    }

    fn bump(&mut self) -> Token {
        let t = self.cur;
        if t.tok != Tok::Eof {
            self.cur = self.next;
            self.next = self.lexer.next_token();
            self.consumed += 1;
        }
        t
    }

    fn report(&mut self, d: Diagnostic) {
        if self.diags.len() < MAX_SYNTAX_ERRORS {
            self.diags.push(d);
        } else {
            self.dropped += 1;
        }
    }

    fn text(&self, t: Token) -> &'a str {
        t.range.text(self.src)
    }

    fn ident(&self, t: Token) -> Ident {
        Ident {
            text: self.text(t).to_string(),
            range: t.range,
        }
    }

    fn comment(&self, t: Token) -> Comment {
        Comment {
            text: self.text(t).trim_end().to_string(),
            range: t.range,
        }
    }

    /// Reports an unexpected token (lexer errors were reported already).
    fn unexpected(&mut self, expected: &str, help: &str) -> Failed {
        let t = self.tok();
        if t.tok == Tok::Error {
            return Failed;
        }
        if t.tok == Tok::Word {
            self.unquoted_word(t);
            return Failed;
        }
        let found = describe(t.tok, self.text(t));
        self.report(
            Diagnostic::error(
                "unexpected-token",
                self.idx.span(t.range),
                format!("expected {expected}, found {found}"),
            )
            .primary(format!("expected {expected}"))
            .help(help),
        );
        Failed
    }

    fn unquoted_word(&mut self, t: Token) {
        let text = self.text(t);
        let is_path = text.contains('/') || text.starts_with('.') || text.starts_with('~');
        let (code, what) = if is_path {
            ("unquoted-path", "a path")
        } else {
            ("unquoted-text", "text")
        };
        self.report(
            Diagnostic::error(
                code,
                self.idx.span(t.range),
                format!("{what} must be quoted"),
            )
            .primary("unquoted")
            .help(format!("quote it: \"{}\"", text.replace('"', "\\\""))),
        );
    }

    /// Newlines skipped; returns how many.
    fn newlines(&mut self) -> usize {
        let mut n = 0;
        while self.peek() == Tok::Newline {
            self.bump();
            n += 1;
        }
        n
    }

    /// Skips to the end of the current entry: a newline, `,` or a closing bracket at this level
    /// (not consumed), with nested brackets balanced.
    fn recover_entry(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::LBrace | Tok::LBracket => depth += 1,
                Tok::RBrace | Tok::RBracket => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                }
                Tok::Newline | Tok::Comma if depth == 0 => return,
                _ => {}
            }
            self.bump();
        }
    }

    /// Skips to the next line that starts a declaration (`name =` at top level).
    fn recover_decl(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::LBrace | Tok::LBracket => depth += 1,
                Tok::RBrace | Tok::RBracket => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.bump();
                        return;
                    }
                }
                Tok::Newline if depth == 0 => {
                    self.bump();
                    self.newlines();
                    if self.peek() == Tok::Ident && self.peek2() == Tok::Eq {
                        return;
                    }
                    continue;
                }
                _ => {}
            }
            self.bump();
        }
    }

    fn file(&mut self) -> File {
        // Real declarations take a few hundred bytes: reserve for that many (pages never touched
        // cost nothing), so the vector is not copied over and over while it grows.
        let mut members = Vec::with_capacity((self.src.len() / 256).clamp(4, 1 << 20));
        let mut blank = false;
        loop {
            match self.peek() {
                Tok::Eof => break,
                Tok::Newline => {
                    let n = self.newlines();
                    blank = n >= 2 || (n >= 1 && members.is_empty());
                    continue;
                }
                Tok::Comment => {
                    let t = self.bump();
                    members.push(Member::Comment {
                        comment: self.comment(t),
                        blank_before: blank,
                    });
                }
                _ => match self.decl() {
                    Ok(decl) => {
                        let trailing = self.trailing_comment();
                        members.push(Member::Item {
                            value: decl,
                            trailing,
                            blank_before: blank,
                        });
                        if !matches!(self.peek(), Tok::Newline | Tok::Eof) {
                            let _ = self.unexpected(
                                "a line break after the declaration",
                                "start the next declaration on a new line",
                            );
                            self.recover_decl();
                        }
                    }
                    Err(Failed) => {
                        let before = self.consumed;
                        self.recover_decl();
                        if self.consumed == before {
                            self.bump();
                        }
                    }
                },
            }
            blank = false;
        }
        File { members }
    }

    fn trailing_comment(&mut self) -> Option<Comment> {
        if self.peek() == Tok::Comment {
            let t = self.bump();
            Some(self.comment(t))
        } else {
            None
        }
    }

    /// A declaration, or a top-level setting `key = value` whose value is not `kind type { … }`
    /// (`hooks = [...]`); which settings exist is the checker's business.
    fn decl(&mut self) -> PResult<Top> {
        if self.peek() != Tok::Ident {
            return Err(self.unexpected(
                "a declaration `name = kind type { … }`",
                "each declaration is `name = kind type { key: value }`",
            ));
        }
        let name_tok = self.bump();
        let name = self.ident(name_tok);
        if self.peek() != Tok::Eq {
            return Err(self.unexpected(
                "`=` after the declaration name",
                "write `name = kind type { … }`",
            ));
        }
        self.bump();
        if matches!(
            self.peek(),
            Tok::LBracket | Tok::LBrace | Tok::Str | Tok::Int | Tok::Float | Tok::Env
        ) {
            let value = self.value()?;
            return Ok(Top::Setting(Entry {
                range: name.range.join(value.range),
                key: name,
                value,
            }));
        }
        if self.peek() != Tok::Ident {
            return Err(self.unexpected(
                "a component kind and type",
                "write `name = kind type { … }`, for example `model = llm openai { … }`",
            ));
        }
        let first = self.bump();
        let (kind, type_name) = if self.peek() == Tok::Ident {
            let second = self.bump();
            (Some(self.ident(first)), self.ident(second))
        } else {
            (None, self.ident(first))
        };
        if self.peek() != Tok::LBrace {
            return Err(self.unexpected(
                "`{` to open the declaration body",
                "a declaration needs a body, even an empty one: `name = kind type {}`",
            ));
        }
        let body = self.block()?;
        Ok(Top::Decl(Decl {
            range: name_tok.range.join(body.range),
            name,
            kind,
            type_name,
            body,
        }))
    }

    /// `{ entries }`; the current token is `{`.
    fn block(&mut self) -> PResult<Block> {
        self.nested(Self::block_members)
    }

    /// The inside of a block, after `open`, up to and with its `}`.
    fn block_members(&mut self, open: Token) -> PResult<Block> {
        // Declaration bodies usually hold a handful of entries: one allocation for them.
        let mut members = Vec::with_capacity(if self.depth == 1 { 8 } else { 0 });
        let mut blank = false;
        let close = loop {
            if self.separator(&mut members, &mut blank) {
                continue;
            }
            match self.peek() {
                Tok::RBrace => break self.bump(),
                Tok::RBracket => {
                    let _ =
                        self.unexpected("a key or `}`", "this `]` has no matching `[`; remove it");
                    self.bump();
                }
                Tok::Eof => {
                    self.unclosed(open, "}");
                    return Err(Failed);
                }
                _ => match self.entry() {
                    Ok(entry) => {
                        let comma = self.push_item(&mut members, entry, blank);
                        if !comma && !matches!(self.peek(), Tok::Newline | Tok::RBrace | Tok::Eof) {
                            let _ = self.unexpected(
                                "a line break, `,` or `}` after the value",
                                "put each entry on its own line or separate entries with `,`",
                            );
                            self.recover_entry();
                        }
                    }
                    Err(Failed) => self.recover_entry(),
                },
            }
            blank = false;
        };
        Ok(Block {
            members,
            range: open.range.join(close.range),
        })
    }

    /// Opens the bracketed group at the current token and parses its inside with `inner` one level
    /// deeper, restoring the depth on every exit; beyond [`MAX_DEPTH`] the group is reported and
    /// skipped instead.
    #[inline(always)]
    fn nested<T>(&mut self, inner: impl FnOnce(&mut Self, Token) -> PResult<T>) -> PResult<T> {
        let open = self.bump();
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            self.too_deep(open)
        } else {
            inner(self, open)
        };
        self.depth -= 1;
        r
    }

    /// Consumes what may stand between the members of a block or list: line breaks (an empty line
    /// marks the next member `blank_before`), commas, and comments (kept as members). False when
    /// the current token is none of these.
    #[inline(always)]
    fn separator<T>(&mut self, members: &mut Vec<Member<T>>, blank: &mut bool) -> bool {
        match self.peek() {
            Tok::Newline => {
                let n = self.newlines();
                *blank = n >= 2 && !members.is_empty();
            }
            Tok::Comma => {
                self.bump();
            }
            Tok::Comment => {
                let t = self.bump();
                members.push(Member::Comment {
                    comment: self.comment(t),
                    blank_before: *blank,
                });
                *blank = false;
            }
            _ => return false,
        }
        true
    }

    /// Records a parsed member with the `,` and same-line comment after it; true when a `,` followed.
    #[inline(always)]
    fn push_item<T>(&mut self, members: &mut Vec<Member<T>>, value: T, blank: bool) -> bool {
        let comma = self.peek() == Tok::Comma;
        if comma {
            self.bump();
        }
        let trailing = self.trailing_comment();
        members.push(Member::Item {
            value,
            trailing,
            blank_before: blank,
        });
        comma
    }

    fn unclosed(&mut self, open: Token, close: &str) {
        let eof = self.tok();
        self.report(
            Diagnostic::error(
                "unclosed-delimiter",
                self.idx.span(open.range),
                format!("`{}` is never closed", self.text(open)),
            )
            .primary("opened here")
            .label(
                self.idx.span(eof.range),
                format!("expected `{close}` before the end of the file"),
            )
            .help(format!("add the missing `{close}`")),
        );
    }

    /// Reports nesting beyond the limit and skips the bracketed group (iteratively).
    fn too_deep<T>(&mut self, open: Token) -> PResult<T> {
        self.report(
            Diagnostic::error(
                "nesting-too-deep",
                self.idx.span(open.range),
                format!("values are nested more than {MAX_DEPTH} levels deep"),
            )
            .primary("too deep")
            .help("flatten the structure; no component needs this much nesting"),
        );
        let mut depth = 1usize;
        while depth > 0 {
            match self.bump().tok {
                Tok::LBrace | Tok::LBracket => depth += 1,
                Tok::RBrace | Tok::RBracket => depth -= 1,
                Tok::Eof => break,
                _ => {}
            }
        }
        Err(Failed)
    }

    fn entry(&mut self) -> PResult<Entry> {
        let key_tok = self.tok();
        let key = match key_tok.tok {
            Tok::Ident => {
                self.bump();
                self.ident(key_tok)
            }
            Tok::Str => {
                self.bump();
                let text = match decode(self.text(key_tok)) {
                    Ok(parts) => match crate::strings::is_plain(&parts) {
                        Some(s) => s.to_string(),
                        None => {
                            self.report(
                                Diagnostic::error(
                                    "invalid-key",
                                    self.idx.span(key_tok.range),
                                    "a key cannot contain `${…}`",
                                )
                                .help("write the key as plain text"),
                            );
                            return Err(Failed);
                        }
                    },
                    Err(e) => {
                        self.string_error(key_tok, e);
                        return Err(Failed);
                    }
                };
                Ident {
                    text,
                    range: key_tok.range,
                }
            }
            _ => {
                return Err(self.unexpected(
                    "a key",
                    "entries are `key: value`; keys are names like `api_key`",
                ))
            }
        };
        if !matches!(self.peek(), Tok::Colon | Tok::Eq) {
            return Err(
                self.unexpected("`:` or `=` after the key", "write entries as `key: value`")
            );
        }
        self.bump();
        let value = self.value()?;
        Ok(Entry {
            range: key.range.join(value.range),
            key,
            value,
        })
    }

    fn string_error(&mut self, t: Token, e: crate::strings::StrError) {
        let start = t.range.start as usize + e.offset;
        let r = Range::new(start, (start + e.len).min(t.range.end as usize));
        self.report(
            Diagnostic::error("invalid-string", self.idx.span(r), e.message)
                .primary("here")
                .help(e.help),
        );
    }

    fn value(&mut self) -> PResult<Val> {
        // Values may continue on the next line only inside brackets; a newline here is an error.
        let t = self.tok();
        let kind = match t.tok {
            Tok::Str => {
                self.bump();
                let raw = self.text(t);
                let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
                if memchr::memchr2(b'\\', b'$', inner.as_bytes()).is_none() {
                    return Ok(Val {
                        kind: ValKind::Text(inner.to_string()),
                        range: t.range,
                    });
                }
                match decode(raw) {
                    Ok(mut parts) => match parts.as_mut_slice() {
                        [crate::strings::StrPart::Lit(s)] => ValKind::Text(std::mem::take(s)),
                        _ => ValKind::Str(parts),
                    },
                    Err(e) => {
                        self.string_error(t, e);
                        ValKind::Invalid
                    }
                }
            }
            Tok::Int => {
                self.bump();
                match self.text(t).parse::<i64>() {
                    Ok(i) => ValKind::Int(i),
                    Err(_) => {
                        self.report(
                            Diagnostic::error(
                                "number-out-of-range",
                                self.idx.span(t.range),
                                "this integer does not fit in 64 bits",
                            )
                            .help("use a number between -9223372036854775808 and 9223372036854775807"),
                        );
                        ValKind::Invalid
                    }
                }
            }
            Tok::Float => {
                self.bump();
                let text = self.text(t);
                match text.parse::<f64>() {
                    Ok(f) if f.is_finite() => ValKind::Float(f, text.to_string()),
                    _ => {
                        self.report(
                            Diagnostic::error(
                                "number-out-of-range",
                                self.idx.span(t.range),
                                "this number is too large",
                            )
                            .help("use a finite number"),
                        );
                        ValKind::Invalid
                    }
                }
            }
            Tok::Env => {
                self.bump();
                let text = self.text(t);
                match text.strip_prefix("${").and_then(|s| s.strip_suffix('}')) {
                    Some(body) => {
                        let (name, default) = split_var(body);
                        if !crate::strings::is_var_name(name) {
                            self.report(
                                Diagnostic::error(
                                    "invalid-variable",
                                    self.idx.span(t.range),
                                    format!("`{name}` is not a variable name"),
                                )
                                .help("variable names are letters, digits and `_`: `${NAME:-default}`"),
                            );
                            ValKind::Invalid
                        } else {
                            ValKind::Env {
                                name: name.to_string(),
                                default: default.map(str::to_string),
                                braced: true,
                            }
                        }
                    }
                    None => ValKind::Env {
                        name: text[1..].to_string(),
                        default: None,
                        braced: false,
                    },
                }
            }
            Tok::Ident => {
                self.bump();
                let text = self.text(t);
                match self.peek() {
                    Tok::LBrace => {
                        let body = self.block()?;
                        return Ok(Val {
                            range: t.range.join(body.range),
                            kind: ValKind::Typed(Box::new(TypedBlock {
                                kind: None,
                                type_name: self.ident(t),
                                body,
                            })),
                        });
                    }
                    Tok::Ident if self.peek2() == Tok::LBrace => {
                        let second = self.bump();
                        let body = self.block()?;
                        return Ok(Val {
                            range: t.range.join(body.range),
                            kind: ValKind::Typed(Box::new(TypedBlock {
                                kind: Some(self.ident(t)),
                                type_name: self.ident(second),
                                body,
                            })),
                        });
                    }
                    _ => {}
                }
                if text.eq_ignore_ascii_case("true") {
                    ValKind::Bool(true)
                } else if text.eq_ignore_ascii_case("false") {
                    ValKind::Bool(false)
                } else if text.eq_ignore_ascii_case("null") {
                    ValKind::Null
                } else {
                    ValKind::Ref(text.to_string())
                }
            }
            Tok::LBracket => return self.list(),
            Tok::LBrace => {
                let block = self.block()?;
                return Ok(Val {
                    range: block.range,
                    kind: ValKind::Map(block),
                });
            }
            Tok::Word => {
                self.bump();
                self.unquoted_word(t);
                ValKind::Invalid
            }
            Tok::Error => {
                self.bump();
                ValKind::Invalid
            }
            _ => {
                return Err(self.unexpected(
                    "a value",
                    "values are \"text\", numbers, true/false, null, $VAR, names of declarations, [lists] or { maps }",
                ))
            }
        };
        Ok(Val {
            kind,
            range: t.range,
        })
    }

    /// `[ a, b, … ]`; the current token is `[`. Newlines and commas both separate elements.
    fn list(&mut self) -> PResult<Val> {
        self.nested(Self::list_members)
    }

    /// The inside of a list, after `open`, up to and with its `]`.
    fn list_members(&mut self, open: Token) -> PResult<Val> {
        let mut members = Vec::new();
        let mut blank = false;
        let close = loop {
            if self.separator(&mut members, &mut blank) {
                continue;
            }
            match self.peek() {
                Tok::RBracket => break self.bump(),
                Tok::Eof => {
                    self.unclosed(open, "]");
                    return Err(Failed);
                }
                Tok::RBrace => {
                    let _ = self.unexpected("`]` to close the list", "close the list with `]`");
                    return Err(Failed);
                }
                _ => match self.value() {
                    Ok(v) => {
                        let comma = self.push_item(&mut members, v, blank);
                        if !comma && !matches!(self.peek(), Tok::Newline | Tok::RBracket | Tok::Eof)
                        {
                            let _ = self.unexpected(
                                "`,` or `]` after the list element",
                                "separate list elements with `,`",
                            );
                            self.recover_entry();
                            if self.peek() == Tok::RBrace {
                                return Err(Failed);
                            }
                        }
                    }
                    Err(Failed) => {
                        self.recover_entry();
                        if self.peek() == Tok::RBrace {
                            return Err(Failed);
                        }
                    }
                },
            }
            blank = false;
        };
        Ok(Val {
            kind: ValKind::List(members),
            range: open.range.join(close.range),
        })
    }
}

fn describe(tok: Tok, text: &str) -> String {
    match tok {
        Tok::Newline => "the end of the line".into(),
        Tok::Eof => "the end of the file".into(),
        Tok::Comment => "a comment".into(),
        Tok::Str => "a string".into(),
        Tok::Int | Tok::Float => format!("the number `{text}`"),
        Tok::Env => format!("the variable `{text}`"),
        Tok::Ident => format!("`{text}`"),
        _ => format!("`{text}`"),
    }
}
