//! Typed reading of one component's props: a key's value of the expected type, the schema default
//! when it is absent, and errors that name the component and key but never show a value (it may be
//! a secret).

use crate::model::{Component, Secret, Value};
use crate::schema::{self, Default as Def, TypeSchema};
use thiserror::Error;

/// Why a component's props do not make a spec. Only hand-built configs and `check --no-env`
/// values (`$VAR` left unread) get here: a checked file's props already have the schema's types.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SpecError {
    /// A key holds a value of another type.
    #[error("{context}: `{key}` must be {expected}, not {got}")]
    WrongType {
        context: String,
        key: String,
        expected: &'static str,
        got: &'static str,
    },
    /// A key's value is an environment variable that was not read (`--no-env`).
    #[error("{context}: `{key}` comes from the environment variable {var}, which was not read; set {var} and run without --no-env")]
    Unresolved {
        context: String,
        key: String,
        var: String,
    },
    /// A key the type cannot do without is absent or blank.
    #[error("{context}: `{key}` is missing or empty")]
    Missing { context: String, key: &'static str },
}

/// `llm "name" (type openai, line 3)`: how errors name a component.
pub fn context(c: &Component) -> String {
    format!(
        "{} \"{}\" (type {}, line {})",
        c.kind, c.name, c.type_name, c.span.line
    )
}

/// A map of strings whose values are kept as secrets (`headers:`, `env:`), in key order.
pub type SecretPairs = Vec<(String, Secret)>;

/// Reads the props of one component against its schema.
pub(crate) struct Reader<'a> {
    c: &'a Component,
    schema: Option<&'static TypeSchema>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(c: &'a Component) -> Self {
        Reader {
            c,
            schema: schema::lookup(c.kind, &c.type_name),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        match self.c.prop(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    fn default(&self, key: &str) -> Def {
        self.schema
            .and_then(|s| s.key(key))
            .map_or(Def::None, |k| k.default)
    }

    fn wrong(&self, key: &str, expected: &'static str, got: &Value) -> SpecError {
        SpecError::WrongType {
            context: context(self.c),
            key: key.to_string(),
            expected,
            got: describe(got),
        }
    }

    fn unresolved(&self, key: &str, var: &str) -> SpecError {
        SpecError::Unresolved {
            context: context(self.c),
            key: key.to_string(),
            var: var.to_string(),
        }
    }

    /// A string; the schema default when absent.
    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, SpecError> {
        match self.get(key) {
            None => Ok(match self.default(key) {
                Def::Str(s) => Some(s.to_string()),
                _ => None,
            }),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(Value::Unresolved(u)) => Err(self.unresolved(key, &u.var)),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    /// A string that must be there and not blank.
    pub(crate) fn required(&self, key: &'static str) -> Result<String, SpecError> {
        self.string(key)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| SpecError::Missing {
                context: context(self.c),
                key,
            })
    }

    /// A string or list of strings (`command: "x"` or `command: ["x", "-y"]`); empty when absent.
    pub(crate) fn string_list(&self, key: &str) -> Result<Vec<String>, SpecError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Str(s)) => Ok(vec![s.clone()]),
            Some(Value::Unresolved(u)) => Err(self.unresolved(key, &u.var)),
            Some(Value::List(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Ok(s.clone()),
                    Value::Secret(s) => Ok(s.expose().to_string()),
                    Value::Unresolved(u) => Err(self.unresolved(key, &u.var)),
                    other => Err(self.wrong(key, "a list of strings", other)),
                })
                .collect(),
            Some(other) => Err(self.wrong(key, "a string or a list of strings", other)),
        }
    }

    /// A map of strings (`env:`, `headers:`), every value kept as a secret; empty when absent.
    pub(crate) fn secret_map(&self, key: &str) -> Result<SecretPairs, SpecError> {
        let Some(v) = self.get(key) else {
            return Ok(Vec::new());
        };
        let Some(map) = v.as_map() else {
            return Err(self.wrong(key, "a map of strings", v));
        };
        map.iter()
            .map(|(k, v)| match v {
                Value::Str(s) => Ok((k.clone(), Secret::new(s.clone()))),
                Value::Secret(s) => Ok((k.clone(), s.clone())),
                Value::Int(i) => Ok((k.clone(), Secret::new(i.to_string()))),
                Value::Bool(b) => Ok((k.clone(), Secret::new(b.to_string()))),
                Value::Unresolved(u) => Err(self.unresolved(&format!("{key}.{k}"), &u.var)),
                other => Err(self.wrong(&format!("{key}.{k}"), "a string", other)),
            })
            .collect()
    }

    /// A number (integers accepted); None when absent.
    pub(crate) fn f64(&self, key: &str) -> Result<Option<f64>, SpecError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Unresolved(u)) => Err(self.unresolved(key, &u.var)),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a number", v)),
        }
    }

    /// A non-negative whole number; the schema default when absent.
    pub(crate) fn u64(&self, key: &str) -> Result<Option<u64>, SpecError> {
        match self.get(key) {
            None => Ok(match self.default(key) {
                Def::Int(i) => u64::try_from(i).ok(),
                _ => None,
            }),
            Some(Value::Unresolved(u)) => Err(self.unresolved(key, &u.var)),
            Some(v) => v
                .as_i64()
                .and_then(|i| u64::try_from(i).ok())
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a whole number ≥ 0", v)),
        }
    }

    /// A boolean; the schema default (else false) when absent.
    pub(crate) fn bool(&self, key: &str) -> Result<bool, SpecError> {
        match self.get(key) {
            None => Ok(matches!(self.default(key), Def::Bool(true))),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Unresolved(u)) => Err(self.unresolved(key, &u.var)),
            Some(other) => Err(self.wrong(key, "true or false", other)),
        }
    }

    /// The `api_key` as a secret; None when absent or blank.
    pub(crate) fn api_key(&self) -> Result<Option<Secret>, SpecError> {
        let key = match self.get("api_key") {
            Some(Value::Secret(s)) => Some(s.clone()),
            Some(Value::Str(s)) => Some(Secret::new(s.clone())),
            Some(Value::Unresolved(u)) => return Err(self.unresolved("api_key", &u.var)),
            Some(other) => return Err(self.wrong("api_key", "a string", other)),
            None => None,
        };
        Ok(key.filter(|k| !k.expose().trim().is_empty()))
    }

    /// The name a reference key points at (a plain string is accepted, as hand-built configs write it).
    pub(crate) fn reference(&self, key: &str) -> Option<String> {
        self.get(key)
            .and_then(|v| v.as_ref_name().or_else(|| v.as_str()))
            .map(str::to_string)
    }

    /// The names of a reference-list key; empty when absent.
    pub(crate) fn references(&self, key: &str) -> Vec<String> {
        self.get(key)
            .and_then(Value::as_list)
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_ref_name().or_else(|| v.as_str()))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The raw value, for the few keys whose shape their consumer reads (mock scripts, prompts).
    pub(crate) fn raw(&self, key: &str) -> Option<Value> {
        self.get(key).cloned()
    }
}

/// A value's type, for error messages (never its content: it may be a secret).
fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "a whole number",
        Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Secret(_) => "a secret",
        Value::Ref(_) => "a reference",
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        Value::Unresolved(_) => "an unread environment variable",
    }
}
