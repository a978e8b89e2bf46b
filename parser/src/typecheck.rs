//! Checks a converted value against the type its schema key wants, coercing where the language
//! allows it (an env string to a number, a bare name to an enum value, one name to a list).

use crate::ast::{items, Val, ValKind};
use crate::diagnostic::Diagnostic;
use crate::model::{Kind, RefName, Value};
use crate::schema::{quote_list, KeySpec, Ty};
use crate::source::{LineIndex, Range};
use crate::values::{describe, RefUse};

/// The help line naming what a key accepts, shared by type and range errors.
fn takes(key: &str, ty: &Ty) -> String {
    format!("`{key}` takes {}", ty.describe())
}

/// Checks schema-typed values, reporting into `diags`.
pub struct TypeChecker<'a, 'b> {
    pub idx: &'a LineIndex<'a>,
    pub diags: &'b mut Vec<Diagnostic>,
}

impl TypeChecker<'_, '_> {
    fn wrong(&mut self, key: &str, ty: &Ty, found: &Value, range: Range, help: Option<String>) {
        let help = help.unwrap_or_else(|| match ty {
            Ty::Str | Ty::Secret if matches!(found, Value::Ref(_)) => {
                format!(
                    "quote it: `{key}: \"{}\"`",
                    found.as_ref_name().unwrap_or("")
                )
            }
            _ => takes(key, ty),
        });
        self.diags.push(
            Diagnostic::error(
                "wrong-type",
                self.idx.span(range),
                format!(
                    "`{key}` expects {}, found {}",
                    ty.describe(),
                    describe(found)
                ),
            )
            .primary(format!("expected {}", ty.describe()))
            .help(help),
        );
    }

    fn invalid(&mut self, range: Range, message: String, help: String) {
        self.diags.push(
            Diagnostic::error("invalid-value", self.idx.span(range), message)
                .primary("here")
                .help(help),
        );
    }

    /// A value of the right type outside the key's range; reports it and stores nothing.
    fn out_of_range(&mut self, key: &str, ty: &Ty, range: Range, message: String) -> Option<Value> {
        self.invalid(range, message, takes(key, ty));
        None
    }

    /// Checks `value` (converted from `v`) against `spec`; `refs[refs_from..]` are the references
    /// found inside it. Returns the value to store, or `None` after reporting an error.
    pub fn check(
        &mut self,
        spec: &KeySpec,
        value: Value,
        v: &Val,
        refs: &mut Vec<RefUse>,
        refs_from: usize,
    ) -> Option<Value> {
        let key = spec.name;
        let ty = spec.ty;
        // Names used as plain words (enum values) or mistakenly as strings are not references.
        let drop_refs = |refs: &mut Vec<RefUse>| refs.truncate(refs_from);
        let set_allowed = |refs: &mut Vec<RefUse>, kinds: &'static [Kind]| {
            for r in &mut refs[refs_from..] {
                r.allowed = Some(kinds);
                r.expected = Some(ty.describe());
            }
        };
        if matches!(value, Value::Unresolved(_))
            && matches!(
                ty,
                Ty::Str
                    | Ty::Int { .. }
                    | Ty::Number { .. }
                    | Ty::Bool
                    | Ty::Secret
                    | Ty::Enum(_)
                    | Ty::StrOrStrList
                    | Ty::Prompt
            )
        {
            return Some(value);
        }
        match ty {
            Ty::Str | Ty::Secret => match value {
                Value::Str(_) | Value::Secret(_) => Some(value),
                other => {
                    drop_refs(refs);
                    self.wrong(key, &ty, &other, v.range, None);
                    None
                }
            },
            Ty::Int { min } => {
                let n = match &value {
                    Value::Int(i) => Some(*i),
                    Value::Str(s) if is_env(v) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                match n {
                    Some(n) if n >= min => Some(Value::Int(n)),
                    Some(n) => self.out_of_range(
                        key,
                        &ty,
                        v.range,
                        format!("`{key}` must be at least {min}, found {n}"),
                    ),
                    None => {
                        drop_refs(refs);
                        self.wrong(key, &ty, &value, v.range, None);
                        None
                    }
                }
            }
            Ty::Number { positive } => {
                let n = match &value {
                    Value::Int(i) => Some(Value::Int(*i)),
                    Value::Float(f) => Some(Value::Float(*f)),
                    Value::Str(s) if is_env(v) => s.trim().parse::<f64>().ok().map(Value::Float),
                    _ => None,
                };
                match n {
                    Some(n) if !positive || n.as_f64().is_some_and(|f| f > 0.0) => Some(n),
                    Some(_) => self.out_of_range(
                        key,
                        &ty,
                        v.range,
                        format!("`{key}` must be greater than 0"),
                    ),
                    None => {
                        drop_refs(refs);
                        self.wrong(key, &ty, &value, v.range, None);
                        None
                    }
                }
            }
            Ty::Bool => match &value {
                Value::Bool(_) => Some(value),
                Value::Str(s) if is_env(v) && s.eq_ignore_ascii_case("true") => {
                    Some(Value::Bool(true))
                }
                Value::Str(s) if is_env(v) && s.eq_ignore_ascii_case("false") => {
                    Some(Value::Bool(false))
                }
                Value::Str(s)
                    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
                {
                    self.wrong(
                        key,
                        &ty,
                        &value,
                        v.range,
                        Some(format!(
                            "remove the quotes: `{key}: {}`",
                            s.to_ascii_lowercase()
                        )),
                    );
                    None
                }
                _ => {
                    drop_refs(refs);
                    self.wrong(key, &ty, &value, v.range, None);
                    None
                }
            },
            Ty::Enum(values) => {
                let text = match &value {
                    Value::Str(s) => Some(s.clone()),
                    Value::Ref(r) => Some(r.name.clone()),
                    _ => None,
                };
                drop_refs(refs);
                match text {
                    Some(t) if values.contains(&t.as_str()) => Some(Value::Str(t)),
                    Some(t) => {
                        let mut help = format!("use one of {}", quote_list(values));
                        if let Some(s) = crate::suggest::did_you_mean(&t, values.iter().copied()) {
                            help = format!("did you mean `{s}`? {help}");
                        }
                        self.invalid(v.range, format!("`{t}` is not a valid `{key}`"), help);
                        None
                    }
                    None => {
                        self.wrong(key, &ty, &value, v.range, None);
                        None
                    }
                }
            }
            Ty::Ref(kinds) => match value {
                Value::Ref(_) => {
                    set_allowed(refs, kinds);
                    Some(value)
                }
                // The seed documents quote names (`model: "my_llm"`): the same reference.
                Value::Str(s) if matches!(v.kind, ValKind::Text(_)) => {
                    refs.push(quoted_ref(key, &ty, kinds, s.clone(), v.range));
                    Some(Value::Ref(RefName { name: s }))
                }
                Value::Str(ref s) => {
                    let help =
                        format!("remove the quotes to refer to the declaration: `{key}: {s}`");
                    self.wrong(key, &ty, &value, v.range, Some(help));
                    None
                }
                other => {
                    drop_refs(refs);
                    self.wrong(key, &ty, &other, v.range, None);
                    None
                }
            },
            Ty::RefList(kinds) => {
                let list = match value {
                    Value::Ref(_) => vec![value],
                    Value::List(l) => l,
                    other => {
                        drop_refs(refs);
                        self.wrong(key, &ty, &other, v.range, None);
                        return None;
                    }
                };
                let elems = elem_ranges(v);
                let quoted = elem_quoted(v);
                let list: Vec<Value> = list
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| match e {
                        Value::Str(s) if quoted.get(i).copied().unwrap_or(false) => {
                            let r = elems.get(i).copied().unwrap_or(v.range);
                            refs.push(quoted_ref(key, &ty, kinds, s.clone(), r));
                            Value::Ref(RefName { name: s })
                        }
                        other => other,
                    })
                    .collect();
                let mut ok = true;
                for (i, e) in list.iter().enumerate() {
                    if !matches!(e, Value::Ref(_)) {
                        ok = false;
                        let r = elems.get(i).copied().unwrap_or(v.range);
                        let help = match e {
                            Value::Str(s) => {
                                format!("remove the quotes to refer to the declaration `{s}`")
                            }
                            _ => takes(key, &ty),
                        };
                        self.wrong(key, &ty, e, r, Some(help));
                    }
                }
                set_allowed(refs, kinds);
                ok.then_some(Value::List(list))
            }
            Ty::StrList => self.str_list(key, &ty, value, v, refs, refs_from, false),
            Ty::StrOrStrList => self.str_list(key, &ty, value, v, refs, refs_from, true),
            Ty::SecretStrMap => match &value {
                Value::Map(m) => {
                    let bad = m.values().find(|x| {
                        !matches!(x, Value::Str(_) | Value::Secret(_) | Value::Unresolved(_))
                    });
                    match bad {
                        Some(b) => {
                            let b = b.clone();
                            drop_refs(refs);
                            self.wrong(
                                key,
                                &ty,
                                &b,
                                v.range,
                                Some(format!("every value of `{key}` must be a string or $VAR")),
                            );
                            None
                        }
                        None => Some(value),
                    }
                }
                _ => {
                    drop_refs(refs);
                    self.wrong(key, &ty, &value, v.range, None);
                    None
                }
            },
            Ty::Prompt => match &value {
                Value::Str(_) => Some(value),
                Value::Map(m)
                    if m.len() == 1
                        && matches!(m.get("file"), Some(Value::Str(_) | Value::Unresolved(_))) =>
                {
                    Some(value)
                }
                _ => {
                    drop_refs(refs);
                    self.wrong(key, &ty, &value, v.range, None);
                    None
                }
            },
            Ty::MockReplies => {
                drop_refs(refs);
                let Value::List(list) = &value else {
                    self.wrong(key, &ty, &value, v.range, None);
                    return None;
                };
                let elems = elem_ranges(v);
                let mut ok = true;
                for (i, e) in list.iter().enumerate() {
                    let r = elems.get(i).copied().unwrap_or(v.range);
                    if let Err(msg) = mock_reply(e) {
                        ok = false;
                        self.invalid(r, format!("invalid mock reply: {msg}"), MOCK_HELP.into());
                    }
                }
                ok.then_some(value)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn str_list(
        &mut self,
        key: &str,
        ty: &Ty,
        value: Value,
        v: &Val,
        refs: &mut Vec<RefUse>,
        refs_from: usize,
        single_ok: bool,
    ) -> Option<Value> {
        let is_str =
            |x: &Value| matches!(x, Value::Str(_) | Value::Secret(_) | Value::Unresolved(_));
        match &value {
            x if single_ok && is_str(x) => Some(value),
            Value::List(l) if l.iter().all(is_str) => Some(value),
            Value::List(l) => {
                let elems = elem_ranges(v);
                let (i, bad) = l
                    .iter()
                    .enumerate()
                    .find(|(_, x)| !is_str(x))
                    .map(|(i, x)| (i, x.clone()))
                    .unwrap_or((0, Value::Null));
                refs.truncate(refs_from);
                let r = elems.get(i).copied().unwrap_or(v.range);
                self.wrong(
                    key,
                    ty,
                    &bad,
                    r,
                    Some(format!(
                        "`{key}` takes {}; quote each element",
                        ty.describe()
                    )),
                );
                None
            }
            _ => {
                refs.truncate(refs_from);
                self.wrong(key, ty, &value, v.range, None);
                None
            }
        }
    }
}

const MOCK_HELP: &str = "a reply is \"text\", { text, delay_ms }, { error: \"rate_limited\"|\"server_error\"|\"auth\"|\"timeout\" }, { panic: \"message\" } or { tool, action, inputs }";

/// Checks one `replies:` entry of `llm mock` (DESIGN.md §3).
fn mock_reply(e: &Value) -> Result<(), String> {
    let m = match e {
        Value::Str(_) | Value::Unresolved(_) => return Ok(()),
        Value::Map(m) => m,
        other => return Err(format!("found {}", describe(other))),
    };
    let has = |k: &str| m.contains_key(k);
    let only = |allowed: &[&str]| -> Result<(), String> {
        match m.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(format!("unexpected key `{k}`")),
            None => Ok(()),
        }
    };
    if has("text") {
        only(&["text", "delay_ms"])?;
        if !matches!(m.get("text"), Some(Value::Str(_))) {
            return Err("`text` must be a string".into());
        }
        if let Some(d) = m.get("delay_ms") {
            if d.as_i64().is_none_or(|d| d < 0) {
                return Err("`delay_ms` must be a non-negative integer".into());
            }
        }
        Ok(())
    } else if has("error") {
        only(&["error", "delay_ms"])?;
        match m.get("error").and_then(Value::as_str) {
            Some("rate_limited" | "server_error" | "auth" | "timeout") => Ok(()),
            _ => Err(
                "`error` must be \"rate_limited\", \"server_error\", \"auth\" or \"timeout\""
                    .into(),
            ),
        }
    } else if has("panic") {
        only(&["panic"])?;
        match m.get("panic") {
            Some(Value::Str(_)) => Ok(()),
            _ => Err("`panic` must be a string".into()),
        }
    } else if has("tool") {
        only(&["tool", "action", "inputs", "text"])?;
        if !matches!(m.get("tool"), Some(Value::Str(_) | Value::Ref(_))) {
            return Err("`tool` must be a tool name".into());
        }
        if let Some(i) = m.get("inputs") {
            if !matches!(i, Value::Map(_)) {
                return Err("`inputs` must be a map".into());
            }
        }
        Ok(())
    } else {
        Err("a map reply needs `text`, `error`, `panic` or `tool`".into())
    }
}

/// A reference written as a quoted name, with the kinds its key allows.
fn quoted_ref(key: &str, ty: &Ty, kinds: &'static [Kind], name: String, range: Range) -> RefUse {
    RefUse {
        name,
        range,
        key: key.to_string(),
        allowed: Some(kinds),
        expected: Some(ty.describe()),
    }
}

/// For each element of a list value (or the value itself), whether it was written as a plain
/// quoted string: such strings stand for declaration names where a reference is expected.
fn elem_quoted(v: &Val) -> Vec<bool> {
    match &v.kind {
        ValKind::List(members) => items(members)
            .map(|e| matches!(e.kind, ValKind::Text(_)))
            .collect(),
        _ => vec![matches!(v.kind, ValKind::Text(_))],
    }
}

/// Source ranges of the elements of a list value (for per-element errors).
pub fn elem_ranges(v: &Val) -> Vec<Range> {
    match &v.kind {
        ValKind::List(members) => items(members).map(|e| e.range).collect(),
        _ => vec![v.range],
    }
}

fn is_env(v: &Val) -> bool {
    match &v.kind {
        ValKind::Env { .. } => true,
        ValKind::Str(parts) => parts
            .iter()
            .any(|p| matches!(p, crate::strings::StrPart::Var { .. })),
        _ => false,
    }
}
