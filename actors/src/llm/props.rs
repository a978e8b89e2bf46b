//! Typed reading of an llm component's props, with errors that name the component, the key and the
//! fix, and never show a secret's value.

use super::http::HttpSettings;
use std::time::Duration;
use woodwork_parser::{Component, Secret, Value};

/// Most retries a component may ask for: one request makes at most 4 provider calls whatever
/// layer retries (DESIGN.md §6), so more is refused rather than silently capped.
const MAX_RETRIES_LIMIT: u64 = crate::bus::retry::MAX_RETRIES_PER_REQUEST as u64;

/// The props of one component, for reading.
pub struct Props<'a> {
    component: &'a Component,
}

impl<'a> Props<'a> {
    /// Reads `component`'s props.
    pub fn new(component: &'a Component) -> Self {
        Props { component }
    }

    /// `llm "name" (type openai, line 3)`: where an error points.
    pub fn context(&self) -> String {
        let c = self.component;
        format!(
            "{} \"{}\" (type {}, line {})",
            c.kind, c.name, c.type_name, c.span.line
        )
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        match self.component.prop(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    fn wrong(&self, key: &str, expected: &str, got: &Value) -> String {
        format!(
            "{}: `{key}` must be {expected}, not {}",
            self.context(),
            describe(got)
        )
    }

    /// A string prop; None when absent or null.
    pub fn string(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(Value::Unresolved(u)) => Err(self.unresolved(key, &u.var)),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    /// A string or list of strings prop (`command: "x"` or `command: ["x", "-y"]`); empty when absent.
    pub fn string_list(&self, key: &str) -> Result<Vec<String>, String> {
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

    /// A map of strings whose values may be secrets (`env:`, `headers:`), as pairs in key order.
    /// The values are exposed for the tool that sends them; callers never log them.
    pub fn secret_map(&self, key: &str) -> Result<Vec<(String, String)>, String> {
        let Some(v) = self.get(key) else {
            return Ok(Vec::new());
        };
        let Some(map) = v.as_map() else {
            return Err(self.wrong(key, "a map of strings", v));
        };
        map.iter()
            .map(|(k, v)| match v {
                Value::Str(s) => Ok((k.clone(), s.clone())),
                Value::Secret(s) => Ok((k.clone(), s.expose().to_string())),
                Value::Int(i) => Ok((k.clone(), i.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                Value::Unresolved(u) => Err(self.unresolved(&format!("{key}.{k}"), &u.var)),
                other => Err(self.wrong(&format!("{key}.{k}"), "a string", other)),
            })
            .collect()
    }

    /// A number prop (integers accepted); None when absent or null.
    pub fn f64(&self, key: &str) -> Result<Option<f64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a number", v)),
        }
    }

    /// A non-negative whole-number prop; None when absent or null.
    pub fn u64(&self, key: &str) -> Result<Option<u64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|i| u64::try_from(i).ok())
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a whole number ≥ 0", v)),
        }
    }

    /// The `api_key`; when `required` names the usual variable, a missing key is an error saying so.
    pub fn api_key(&self, required: Option<&str>) -> Result<Option<Secret>, String> {
        let key = match self.get("api_key") {
            Some(Value::Secret(s)) => Some(s.clone()),
            Some(Value::Str(s)) => Some(Secret::new(s.clone())),
            Some(Value::Unresolved(u)) => return Err(self.unresolved("api_key", &u.var)),
            Some(other) => return Err(self.wrong("api_key", "a string", other)),
            None => None,
        };
        let key = key.filter(|k| !k.expose().trim().is_empty());
        match (key, required) {
            (None, Some(var)) => Err(format!(
                "{}: `api_key` is missing or empty; write `api_key: ${var}` and set the environment variable {var}",
                self.context()
            )),
            (key, _) => Ok(key),
        }
    }

    fn unresolved(&self, key: &str, var: &str) -> String {
        format!(
            "{}: `{key}` comes from the environment variable {var}, which was not read; set {var} and run without --no-env",
            self.context()
        )
    }

    /// `base_url`, `timeout`, `idle_timeout` (seconds) and `max_retries`.
    pub fn http(&self, default_base_url: &str) -> Result<HttpSettings, String> {
        let base = self
            .string("base_url")?
            .unwrap_or_else(|| default_base_url.to_owned());
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "{}: `base_url` must start with http:// or https://, not {base:?}",
                self.context()
            ));
        }
        let mut settings = HttpSettings::new(&base);
        if let Some(t) = self.component.timeout {
            if t.is_zero() {
                return Err(format!("{}: `timeout` must be above 0", self.context()));
            }
            settings.timeout = t;
        }
        settings.idle_timeout = match self.f64("idle_timeout")? {
            Some(s) if s.is_finite() && s > 0.0 && s < 86_400.0 => Duration::from_secs_f64(s),
            Some(_) => {
                return Err(format!(
                    "{}: `idle_timeout` must be a number of seconds above 0 (and below a day)",
                    self.context()
                ))
            }
            None => settings.idle_timeout.min(settings.timeout),
        };
        if let Some(n) = self.u64("max_retries")? {
            if n > MAX_RETRIES_LIMIT {
                return Err(format!(
                    "{}: `max_retries` is {n}; use at most {MAX_RETRIES_LIMIT}",
                    self.context()
                ));
            }
            settings.retry.max_retries = n as u32;
        }
        Ok(settings)
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
