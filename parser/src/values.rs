//! Syntax values to config values: environment resolution, secrets, references.

use crate::ast::{Block, Val, ValKind};
use crate::diagnostic::Diagnostic;
use crate::env::EnvSource;
use crate::model::{RefName, Secret, UnresolvedEnv, Value};
use crate::source::{LineIndex, Range};
use crate::strings::StrPart;
use std::collections::BTreeMap;

/// A use of a declaration name inside a component.
#[derive(Clone, Debug)]
pub struct RefUse {
    pub name: String,
    pub range: Range,
    /// The key it was written under (top-level key of the component).
    pub key: String,
    /// Kinds the schema allows there; `None` = any declaration.
    pub allowed: Option<&'static [crate::model::Kind]>,
    /// What the referring key expects, for "wrong kind" messages.
    pub expected: Option<String>,
}

/// An environment variable that was needed but is not set.
#[derive(Clone, Debug)]
pub struct UnsetVar {
    pub name: String,
    pub range: Range,
}

/// Converts syntax values for one component, collecting references and unset variables.
pub struct Converter<'a> {
    pub idx: &'a LineIndex<'a>,
    /// `None` under `--no-env`: variables stay [`Value::Unresolved`].
    pub env: Option<&'a EnvSource>,
    pub diags: &'a mut Vec<Diagnostic>,
    pub refs: Vec<RefUse>,
    pub unset: Vec<UnsetVar>,
    /// Set when part of the value failed to parse (already reported).
    pub invalid: bool,
    /// The component key being converted (named in reference messages).
    pub key: &'a str,
}

impl<'a> Converter<'a> {
    /// Converts a value written under a key; `secret` wraps strings as secrets, `env_secret` wraps
    /// only strings that came from the environment.
    pub fn value(&mut self, v: &mut Val, secret: bool, env_secret: bool) -> Value {
        let range = v.range;
        match &mut v.kind {
            ValKind::Text(text) => wrap(Value::Str(std::mem::take(text)), secret),
            ValKind::Str(parts) => {
                let (value, from_env) = self.string(parts, range);
                wrap(value, secret || (env_secret && from_env))
            }
            ValKind::Int(i) => Value::Int(*i),
            ValKind::Float(f, _) => Value::Float(*f),
            ValKind::Bool(b) => Value::Bool(*b),
            ValKind::Null => Value::Null,
            ValKind::Env { name, default, .. } => {
                let value = self.var(name, default.as_deref(), range);
                wrap(value, secret || env_secret)
            }
            ValKind::Ref(name) => {
                self.refs.push(RefUse {
                    name: name.clone(),
                    range,
                    key: self.key.to_string(),
                    allowed: None,
                    expected: None,
                });
                Value::Ref(RefName { name: name.clone() })
            }
            ValKind::List(members) => Value::List(
                crate::ast::items_mut(members)
                    .map(|e| self.value(e, secret, env_secret))
                    .collect(),
            ),
            ValKind::Map(block) => Value::Map(self.map(block, secret, env_secret)),
            ValKind::Typed(t) => {
                let crate::ast::TypedBlock {
                    kind,
                    type_name,
                    body,
                } = &mut **t;
                let mut map = self.map(body, secret, env_secret);
                map.insert("type".into(), Value::Str(type_name.text.clone()));
                if let Some(k) = kind {
                    map.insert("kind".into(), Value::Str(k.text.clone()));
                }
                Value::Map(map)
            }
            ValKind::Invalid => {
                self.invalid = true;
                Value::Null
            }
        }
    }

    /// A map's entries; nested secret-named keys are secrets too. Duplicate keys are errors.
    pub fn map(
        &mut self,
        block: &mut Block,
        secret: bool,
        env_secret: bool,
    ) -> BTreeMap<String, Value> {
        let mut map = BTreeMap::new();
        let mut dups: Vec<(String, Range)> = Vec::new();
        for e in crate::ast::items_mut(&mut block.members) {
            if map.contains_key(&e.key.text) {
                dups.push((e.key.text.clone(), e.key.range));
                continue;
            }
            let s = secret || crate::schema::is_secret_key(&e.key.text);
            let v = self.value(&mut e.value, s, env_secret);
            map.insert(e.key.text.clone(), v);
        }
        for (key, range) in dups {
            let first = block
                .entries()
                .find(|e| e.key.text == key)
                .map_or(range, |e| e.key.range);
            self.diags.push(duplicate_key(self.idx, &key, range, first));
        }
        map
    }

    fn var(&mut self, name: &str, default: Option<&str>, range: Range) -> Value {
        let Some(env) = self.env else {
            return Value::Unresolved(UnresolvedEnv {
                var: name.to_string(),
                default: default.map(str::to_string),
            });
        };
        match env.get(name).or(default) {
            Some(v) => Value::Str(v.to_string()),
            None => {
                self.unset.push(UnsetVar {
                    name: name.to_string(),
                    range,
                });
                Value::Null
            }
        }
    }

    /// A string with `${VAR}` parts resolved; the flag says whether any part came from the env.
    fn string(&mut self, parts: &mut [StrPart], range: Range) -> (Value, bool) {
        if let [StrPart::Lit(s)] = parts {
            // Moved, not copied: the tree is not used for values after lowering.
            return (Value::Str(std::mem::take(s)), false);
        }
        if self.env.is_none() {
            if let [StrPart::Var { name, default }] = parts {
                return (self.var(name, default.as_deref(), range), true);
            }
            // Under --no-env a mixed string keeps its placeholders.
            let mut text = String::new();
            for p in parts {
                match p {
                    StrPart::Lit(s) => text.push_str(s),
                    StrPart::Var {
                        name,
                        default: None,
                    } => text.push_str(&format!("${{{name}}}")),
                    StrPart::Var {
                        name,
                        default: Some(d),
                    } => text.push_str(&format!("${{{name}:-{d}}}")),
                }
            }
            return (Value::Str(text), true);
        }
        let mut out = String::new();
        for p in parts {
            match p {
                StrPart::Lit(s) => out.push_str(s),
                StrPart::Var { name, default } => match self.var(name, default.as_deref(), range) {
                    Value::Str(s) => out.push_str(&s),
                    _ => return (Value::Null, true),
                },
            }
        }
        (Value::Str(out), true)
    }
}

fn wrap(v: Value, secret: bool) -> Value {
    match v {
        Value::Str(s) if secret => Value::Secret(Secret::new(s)),
        other => other,
    }
}

/// The diagnostic for a key given twice in one block.
/// Keys seen in one block: a short vector (blocks are small), a hash map past [`SeenKeys::SMALL`].
#[derive(Default)]
pub struct SeenKeys<'k> {
    small: Vec<(&'k str, Range)>,
    large: std::collections::HashMap<&'k str, Range>,
}

impl<'k> SeenKeys<'k> {
    const SMALL: usize = 16;

    /// Where `key` was first seen, if it was.
    pub fn first(&self, key: &str) -> Option<Range> {
        if self.large.is_empty() {
            self.small.iter().find(|(k, _)| *k == key).map(|(_, r)| *r)
        } else {
            self.large.get(key).copied()
        }
    }

    pub fn insert(&mut self, key: &'k str, range: Range) {
        if self.large.is_empty() && self.small.len() < Self::SMALL {
            self.small.push((key, range));
            return;
        }
        if self.large.is_empty() {
            self.large.extend(self.small.drain(..));
        }
        self.large.insert(key, range);
    }

    pub fn contains(&self, key: &str) -> bool {
        self.first(key).is_some()
    }
}

/// The diagnostic for a key given twice in one block.
pub fn duplicate_key(idx: &LineIndex, key: &str, range: Range, first: Range) -> Diagnostic {
    Diagnostic::error(
        "duplicate-key",
        idx.span(range),
        format!("the key `{key}` is given twice"),
    )
    .primary("given again here")
    .label(idx.span(first), "first given here")
    .help(format!("remove one of the two `{key}` entries"))
}

/// How a value is named in "found …" messages (never its content: it may be a secret).
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Int(_) => "an integer".into(),
        Value::Float(_) => "a float".into(),
        Value::Str(_) | Value::Secret(_) => "a string".into(),
        Value::Ref(r) => format!("the name `{}`", r.name),
        Value::List(_) => "a list".into(),
        Value::Map(_) => "a map".into(),
        Value::Unresolved(u) => format!("the variable `${}`", u.var),
    }
}
