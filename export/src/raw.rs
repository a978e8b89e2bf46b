//! The few parts of a `.ww` file export reads from the syntax tree rather than the checked
//! config: the top-level `deployment = local|server|docker { … }` block and each component's
//! `deployment = { … }` map, as written (environment values unresolved), with their positions.

use std::collections::BTreeMap;
use woodwork_parser::ast::{self, ValKind};
use woodwork_parser::source::LineIndex;
use woodwork_parser::strings::StrPart;

/// A value as written, with the 1-based line and column it starts at.
#[derive(Clone, Debug, PartialEq)]
pub struct Raw {
    pub kind: RawKind,
    pub line: u32,
    pub col: u32,
}

/// What a [`Raw`] value is.
#[derive(Clone, Debug, PartialEq)]
pub enum RawKind {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// `$VAR`, `${VAR:-default}`, or a string with `${VAR}` in it.
    Env(String),
    Ref(String),
    List(Vec<Raw>),
    /// A map; a typed block `redis { … }` is a map with its type name in `typed`.
    Map {
        typed: Option<String>,
        entries: BTreeMap<String, Raw>,
    },
    /// A value the parser already reported as broken.
    Invalid,
}

impl Raw {
    /// `line:col` for messages.
    pub fn at(&self) -> String {
        format!("{}:{}", self.line, self.col)
    }
}

/// The deployment settings written in one file.
#[derive(Clone, Debug, Default)]
pub struct Deployments {
    /// The top-level `deployment = TYPE { … }` block: its type and body.
    pub system: Option<(String, Raw)>,
    /// `deployment = { … }` of each component that has one, by component name.
    pub components: BTreeMap<String, Raw>,
}

/// Reads the deployment settings of `source` (which `check` already accepted).
pub fn deployments(source: &str) -> Deployments {
    let idx = LineIndex::new(source);
    let (file, _diags) = woodwork_parser::parse::parse(source, &idx);
    let mut out = Deployments::default();
    for decl in file.decls() {
        if decl.name.text == "deployment" {
            let body = block(&decl.body, None, &idx);
            out.system = Some((decl.type_name.text.clone(), body));
            continue;
        }
        if let Some(e) = decl.body.entries().find(|e| e.key.text == "deployment") {
            out.components
                .insert(decl.name.text.clone(), raw(&e.value, &idx));
        }
    }
    out
}

fn block(b: &ast::Block, typed: Option<String>, idx: &LineIndex) -> Raw {
    let span = idx.span(b.range);
    let entries = b
        .entries()
        .map(|e| (e.key.text.clone(), raw(&e.value, idx)))
        .collect();
    Raw {
        kind: RawKind::Map { typed, entries },
        line: span.line,
        col: span.col,
    }
}

fn raw(v: &ast::Val, idx: &LineIndex) -> Raw {
    let span = idx.span(v.range);
    #[allow(unreachable_patterns)] // the syntax tree may grow; anything new reads as invalid here
    let kind = match &v.kind {
        ValKind::Text(s) => RawKind::Str(s.clone()),
        ValKind::Str(parts) => match parts.as_slice() {
            [StrPart::Lit(s)] => RawKind::Str(s.clone()),
            _ => RawKind::Env(
                parts
                    .iter()
                    .find_map(|p| match p {
                        StrPart::Var { name, .. } => Some(name.clone()),
                        StrPart::Lit(_) => None,
                    })
                    .unwrap_or_default(),
            ),
        },
        ValKind::Int(i) => RawKind::Int(*i),
        ValKind::Float(f, _) => RawKind::Float(*f),
        ValKind::Bool(b) => RawKind::Bool(*b),
        ValKind::Null => RawKind::Null,
        ValKind::Env { name, .. } => RawKind::Env(name.clone()),
        ValKind::Ref(r) => RawKind::Ref(r.clone()),
        ValKind::List(items) => RawKind::List(ast::items(items).map(|i| raw(i, idx)).collect()),
        ValKind::Map(b) => return block(b, None, idx),
        ValKind::Typed(t) => return block(&t.body, Some(t.type_name.text.clone()), idx),
        _ => RawKind::Invalid,
    };
    Raw {
        kind,
        line: span.line,
        col: span.col,
    }
}
