//! Property tests: generated configs survive format → parse unchanged, formatting is a fixed point,
//! and arbitrary input never panics.

use proptest::prelude::*;
use std::path::Path;
use woodwork_parser::strings::{encode, StrPart};
use woodwork_parser::{check_source, format_source, CheckOptions, CheckReport, Config, Span};

const OPTS: CheckOptions = CheckOptions {
    resolve_env: false,
    env: None,
};

#[derive(Clone, Debug)]
enum GVal {
    Str(String, bool),
    Int(i64),
    Float(f64),
    Bool(bool, u8),
    Null,
    Env(String, Option<String>),
    Ref(usize),
    List(Vec<GVal>, bool),
    Map(Vec<(String, GVal)>, bool),
}

#[derive(Clone, Debug)]
struct GDecl {
    entries: Vec<(String, GVal)>,
    eq_sep: bool,
    comment: Option<String>,
}

fn gval() -> impl Strategy<Value = GVal> {
    let leaf = prop_oneof![
        ("\\PC{0,16}", any::<bool>()).prop_map(|(s, q)| GVal::Str(s, q)),
        any::<i64>().prop_map(GVal::Int),
        (-1.0e6f64..1.0e6).prop_map(GVal::Float),
        (any::<bool>(), 0u8..3).prop_map(|(b, c)| GVal::Bool(b, c)),
        Just(GVal::Null),
        (
            "[A-Z][A-Z0-9_]{0,6}",
            proptest::option::of("[a-z0-9 ./-]{0,8}")
        )
            .prop_map(|(n, d)| GVal::Env(n, d)),
        (0usize..8).prop_map(GVal::Ref),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..5), any::<bool>())
                .prop_map(|(v, m)| GVal::List(v, m)),
            (
                prop::collection::btree_map("x_[a-z0-9_]{0,6}", inner, 0..5),
                any::<bool>()
            )
                .prop_map(|(m, ml)| GVal::Map(m.into_iter().collect(), ml)),
        ]
    })
}

fn gdecls() -> impl Strategy<Value = Vec<GDecl>> {
    prop::collection::vec(
        (
            prop::collection::btree_map("x_[a-z0-9_]{0,6}", gval(), 0..6),
            any::<bool>(),
            proptest::option::of("[ -~]{0,20}"),
        )
            .prop_map(|(e, eq_sep, comment)| GDecl {
                entries: e.into_iter().collect(),
                eq_sep,
                comment,
            }),
        1..8,
    )
}

fn single_quoted(s: &str) -> String {
    let mut out = String::from("'");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn render(v: &GVal, n: usize, out: &mut String) {
    match v {
        GVal::Str(s, true) => out.push_str(&encode(&[StrPart::Lit(s.clone())])),
        GVal::Str(s, false) => out.push_str(&single_quoted(s)),
        GVal::Int(i) => out.push_str(&i.to_string()),
        GVal::Float(f) => out.push_str(&format!("{f:?}")),
        GVal::Bool(b, case) => {
            let t = b.to_string();
            out.push_str(&match case {
                0 => t,
                1 => t.to_uppercase(),
                _ => t[..1].to_uppercase() + &t[1..],
            })
        }
        GVal::Null => out.push_str("null"),
        GVal::Env(name, None) => out.push_str(&format!("${name}")),
        GVal::Env(name, Some(d)) => out.push_str(&format!("${{{name}:-{d}}}")),
        // Only earlier declarations: no reference cycles, so most generated files are accepted.
        GVal::Ref(_) if n == 0 => out.push_str("null"),
        GVal::Ref(i) => out.push_str(&format!("d{}", i % n)),
        GVal::List(items, multiline) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if *multiline {
                    out.push_str("\n  ");
                }
                render(x, n, out);
                if i + 1 < items.len() || *multiline {
                    out.push(',');
                }
            }
            if *multiline {
                out.push('\n');
            }
            out.push(']');
        }
        GVal::Map(entries, multiline) => {
            out.push('{');
            for (i, (k, x)) in entries.iter().enumerate() {
                out.push_str(if *multiline { "\n  " } else { " " });
                out.push_str(k);
                out.push_str(": ");
                render(x, n, out);
                if !*multiline && i + 1 < entries.len() {
                    out.push(',');
                }
            }
            out.push_str(if *multiline { "\n}" } else { " }" });
        }
    }
}

fn source(decls: &[GDecl]) -> String {
    let mut out = String::new();
    for (i, d) in decls.iter().enumerate() {
        if let Some(c) = &d.comment {
            out.push_str(&format!("# {c}\n"));
        }
        out.push_str(&format!("d{i} = llm mock {{\n"));
        for (k, v) in &d.entries {
            out.push_str(&format!("    {k}{} ", if d.eq_sep { " =" } else { ":" }));
            render(v, i, &mut out);
            out.push('\n');
        }
        out.push_str("}\n");
    }
    out
}

fn strip(c: &Config) -> Config {
    let mut c = c.clone();
    for comp in &mut c.components {
        comp.span = Span::default();
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn format_then_parse_gives_the_same_config(decls in gdecls()) {
        let src = source(&decls);
        let before = check_source(Path::new("p.ww"), &src, &OPTS);
        let formatted = format_source(&src).map_err(|e| TestCaseError::fail(format!("{e:?}\n{src}")))?;
        let after = check_source(Path::new("p.ww"), &formatted, &OPTS);
        let codes = |r: &CheckReport| r.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>();
        prop_assert_eq!(codes(&before), codes(&after), "{}\n---\n{}", src, formatted);
        match (&before.config, &after.config) {
            (Some(a), Some(b)) => prop_assert_eq!(strip(a), strip(b)),
            (None, None) => {}
            _ => prop_assert!(false, "outcome changed"),
        }
        prop_assert_eq!(format_source(&formatted).unwrap(), formatted.clone());
        // Generated files are valid: the comparison above is between real configs.
        prop_assert!(before.config.is_some(), "{}", before.render_text());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let r = check_source(Path::new("p.ww"), &text, &OPTS);
        let _ = r.render_text();
        let _ = format_source(&text);
    }

    #[test]
    fn token_soup_never_panics(text in "[a-z_ =:{}\\[\\],\"'$#/\n0-9.\\\\-]{0,300}") {
        let r = check_source(Path::new("p.ww"), &text, &OPTS);
        prop_assert!(r.diagnostics.iter().all(|d| d.help.is_some()), "a diagnostic without help");
        let _ = r.render_text();
        let _ = r.to_json();
        if let Ok(f) = format_source(&text) {
            prop_assert_eq!(format_source(&f).unwrap(), f.clone());
        }
    }
}
