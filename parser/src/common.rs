//! The keys every component accepts (`to`, `hooks`, `pipes`, `streaming`, `supervision`,
//! `circuit_breaker`, `timeout`, `session_policy`), lowered into the typed fields of
//! [`crate::model::Component`].

use crate::ast::{items, Val, ValKind};
use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::schema::{quote_list, EVENTS};
use crate::source::{LineIndex, Range};
use crate::values::describe;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Lowers the common keys of one component, reporting into `diags`.
pub struct CommonLowerer<'a, 'b> {
    pub idx: &'a LineIndex<'a>,
    pub diags: &'b mut Vec<Diagnostic>,
}

fn err(idx: &LineIndex, code: &'static str, range: Range, msg: String, help: String) -> Diagnostic {
    Diagnostic::error(code, idx.span(range), msg)
        .primary("here")
        .help(help)
}

impl CommonLowerer<'_, '_> {
    fn error(&mut self, code: &'static str, range: Range, msg: String, help: impl Into<String>) {
        let d = err(self.idx, code, range, msg, help.into());
        self.diags.push(d);
    }

    /// `to: target` or `to: [a, b]`: names of routing targets, read from the syntax (routes are not
    /// start dependencies, so they do not go through reference collection).
    pub fn to(&mut self, v: &Val) -> Vec<(String, Range)> {
        let one = |this: &mut Self, e: &Val| -> Option<(String, Range)> {
            match &e.kind {
                // The seed documents quote names (`to = ["output"]`): the same reference.
                ValKind::Ref(n) | ValKind::Text(n) => Some((n.clone(), e.range)),
                ValKind::Invalid => None,
                _ => {
                    this.error(
                        "wrong-type",
                        e.range,
                        "`to` expects the name of a declaration or a list of names".into(),
                        "write `to: agent` or `to: [agent, console]`",
                    );
                    None
                }
            }
        };
        match &v.kind {
            ValKind::List(members) => items(members).filter_map(|e| one(self, e)).collect(),
            _ => one(self, v).into_iter().collect(),
        }
    }

    /// `hooks: [...]` / `pipes: [...]`: `{ event, <one action> }` maps.
    pub fn hooks(&mut self, key: &str, value: &Value, v: &Val) -> Vec<HookSpec> {
        let Value::List(list) = value else {
            self.error(
                "wrong-type",
                v.range,
                format!("`{key}` expects a list of maps, found {}", describe(value)),
                format!("write `{key}: [ {{ event: \"input.received\", log: \"info\" }} ]`"),
            );
            return Vec::new();
        };
        let ranges = crate::typecheck::elem_ranges(v);
        let mut out = Vec::new();
        for (i, e) in list.iter().enumerate() {
            let range = ranges.get(i).copied().unwrap_or(v.range);
            if let Some(h) = self.hook(key, e, range) {
                out.push(h);
            }
        }
        out
    }

    fn hook(&mut self, key: &str, e: &Value, range: Range) -> Option<HookSpec> {
        const HELP: &str = "an entry is { event, script_path, function_name }, { event, command: [..] }, { event, webhook: \"url\" }, { event, log: \"info\" } or \"file.py::function\"";
        if let Value::Str(text) = e {
            return self.shorthand(key, text, range);
        }
        let Value::Map(m) = e else {
            self.error(
                "invalid-hook",
                range,
                format!("a `{key}` entry must be a map, found {}", describe(e)),
                HELP,
            );
            return None;
        };
        let event = match m.get("event") {
            Some(Value::Str(s)) => s.clone(),
            Some(other) => {
                self.error(
                    "invalid-hook",
                    range,
                    format!("`event` must be a string, found {}", describe(other)),
                    HELP,
                );
                return None;
            }
            None => {
                self.error(
                    "invalid-hook",
                    range,
                    format!("this `{key}` entry has no `event`"),
                    HELP,
                );
                return None;
            }
        };
        if !EVENTS.contains(&event.as_str()) {
            let mut help = format!("known events: {}", quote_list(EVENTS));
            if let Some(s) = crate::suggest::did_you_mean(&event, EVENTS.iter().copied()) {
                help = format!("did you mean `{s}`? {help}");
            }
            self.diags.push(
                Diagnostic::warning(
                    "unknown-event",
                    self.idx.span(range),
                    format!("`{event}` is not an event this runtime emits"),
                )
                .help(help),
            );
        }
        let forms = ["script_path", "command", "webhook", "log"];
        let present: Vec<&str> = forms
            .iter()
            .copied()
            .filter(|f| m.contains_key(*f))
            .collect();
        if present.len() != 1 {
            let msg = if present.is_empty() {
                format!("this `{key}` entry says when (`event`) but not what to run")
            } else {
                format!(
                    "this `{key}` entry has several actions: {}",
                    quote_list(&present)
                )
            };
            self.error("invalid-hook", range, msg, HELP);
            return None;
        }
        let allowed: &[&str] = match present[0] {
            "script_path" => &["event", "script_path", "function_name"],
            f => match f {
                "command" => &["event", "command"],
                "webhook" => &["event", "webhook"],
                _ => &["event", "log"],
            },
        };
        if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
            self.error(
                "invalid-hook",
                range,
                format!("unexpected key `{k}` in a `{}` entry", present[0]),
                HELP,
            );
            return None;
        }
        let action = match present[0] {
            "script_path" => {
                let (Some(Value::Str(path)), Some(Value::Str(func))) =
                    (m.get("script_path"), m.get("function_name"))
                else {
                    self.error(
                        "invalid-hook",
                        range,
                        "`script_path` and `function_name` must both be strings".into(),
                        HELP,
                    );
                    return None;
                };
                HookAction::Python {
                    script_path: PathBuf::from(path),
                    function_name: func.clone(),
                }
            }
            "command" => {
                let argv: Option<Vec<String>> = match m.get("command") {
                    Some(Value::List(l)) if !l.is_empty() => {
                        l.iter().map(|x| x.as_str().map(str::to_string)).collect()
                    }
                    _ => None,
                };
                let Some(argv) = argv else {
                    self.error(
                        "invalid-hook",
                        range,
                        "`command` must be a non-empty list of strings".into(),
                        "write `command: [\"python3\", \"hook.py\"]`",
                    );
                    return None;
                };
                HookAction::Command { argv }
            }
            "webhook" => match m.get("webhook") {
                Some(Value::Str(u)) => HookAction::Webhook { url: u.clone() },
                _ => {
                    self.error(
                        "invalid-hook",
                        range,
                        "`webhook` must be a URL string".into(),
                        "write `webhook: \"http://127.0.0.1:9000/events\"`",
                    );
                    return None;
                }
            },
            _ => {
                let level = match m.get("log").and_then(|l| match l {
                    Value::Str(s) => Some(s.as_str()),
                    Value::Ref(r) => Some(r.name.as_str()),
                    _ => None,
                }) {
                    Some("trace") => LogLevel::Trace,
                    Some("debug") => LogLevel::Debug,
                    Some("info") => LogLevel::Info,
                    Some("warn" | "warning") => LogLevel::Warn,
                    Some("error") => LogLevel::Error,
                    _ => {
                        self.error(
                            "invalid-hook",
                            range,
                            "`log` must be a level".into(),
                            "use one of `trace`, `debug`, `info`, `warn`, `error`",
                        );
                        return None;
                    }
                };
                HookAction::Log { level }
            }
        };
        Some(HookSpec {
            event,
            action,
            span: self.idx.span(range),
        })
    }

    /// The seed documents' `"file.py::function"`: a Python function, every event.
    fn shorthand(&mut self, key: &str, text: &str, range: Range) -> Option<HookSpec> {
        let help = format!(
            "write `{key}: [\"hooks.py::on_event\"]` (a Python file, `::`, a function name), or a map like {{ event: \"input.received\", script_path: \"hooks.py\", function_name: \"on_event\" }}"
        );
        let Some((path, function)) = text.rsplit_once("::") else {
            self.error(
                "invalid-hook",
                range,
                format!("a `{key}` string must be \"file.py::function\""),
                help,
            );
            return None;
        };
        let path = path.trim();
        let function = function.trim();
        let is_name = !function.is_empty()
            && !function.starts_with(|c: char| c.is_ascii_digit())
            && function
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if path.is_empty() || !is_name {
            let what = if path.is_empty() {
                "names no file before `::`"
            } else {
                "needs a Python function name after `::`"
            };
            self.error(
                "invalid-hook",
                range,
                format!("this `{key}` entry {what}"),
                help,
            );
            return None;
        }
        Some(HookSpec {
            event: crate::events::WILDCARD.to_string(),
            action: HookAction::Python {
                script_path: PathBuf::from(path),
                function_name: function.to_string(),
            },
            span: self.idx.span(range),
        })
    }

    /// A seed-document map (`deployment`, `metrics`) read by `read`; values left unread by
    /// `--no-env` leave it out rather than fail.
    pub fn seed<T>(
        &mut self,
        value: &Value,
        v: &Val,
        read: fn(&Value) -> Result<T, crate::spec::deployment::Problem>,
    ) -> Option<T> {
        if has_unresolved(value) {
            return None;
        }
        match read(value) {
            Ok(t) => Some(t),
            Err(p) => {
                let code = if matches!(value, Value::Map(_)) {
                    "invalid-value"
                } else {
                    "wrong-type"
                };
                self.error(code, v.range, p.message, p.help);
                None
            }
        }
    }

    /// `streaming: true|false`.
    pub fn streaming(&mut self, value: &Value, v: &Val) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(*b),
            Value::Unresolved(_) => None,
            other => {
                self.error(
                    "wrong-type",
                    v.range,
                    format!(
                        "`streaming` expects true or false, found {}",
                        describe(other)
                    ),
                    "write `streaming: true`",
                );
                None
            }
        }
    }

    /// `timeout: <seconds>` (integer or float, > 0).
    pub fn timeout(&mut self, value: &Value, v: &Val) -> Option<Duration> {
        match secs(value) {
            Ok(Some(s)) if s > 0.0 && s < 1.0e9 => Some(Duration::from_secs_f64(s)),
            Ok(None) => None,
            _ => {
                self.error(
                    "wrong-type",
                    v.range,
                    format!(
                        "`timeout` expects a number of seconds greater than 0, found {}",
                        describe(value)
                    ),
                    "write `timeout: 30` (seconds)",
                );
                None
            }
        }
    }

    /// `session_policy: enqueue|reject`.
    pub fn session_policy(&mut self, value: &Value, v: &Val) -> SessionPolicy {
        match enum_text(value) {
            Some("enqueue") => SessionPolicy::Enqueue,
            Some("reject") => SessionPolicy::Reject,
            None if matches!(value, Value::Unresolved(_)) => SessionPolicy::Enqueue,
            _ => {
                self.error(
                    "invalid-value",
                    v.range,
                    "`session_policy` must be `enqueue` or `reject`".into(),
                    "write `session_policy: \"reject\"` to answer 409 when a session is busy",
                );
                SessionPolicy::Enqueue
            }
        }
    }

    /// `supervision: { strategy, restart, max_restarts, within_s, backoff_min_ms, backoff_max_ms }`.
    pub fn supervision(&mut self, value: Value, v: &Val) -> SupervisionSpec {
        let mut spec = SupervisionSpec::default();
        let Some(m) = self.map(
            "supervision",
            value,
            v,
            &[
                "strategy",
                "restart",
                "max_restarts",
                "within_s",
                "backoff_min_ms",
                "backoff_max_ms",
            ],
        ) else {
            return spec;
        };
        for (k, x) in &m {
            let ok = match k.as_str() {
                "strategy" => match enum_text(x) {
                    Some("one_for_one") => {
                        spec.strategy = Strategy::OneForOne;
                        true
                    }
                    Some("one_for_all") => {
                        spec.strategy = Strategy::OneForAll;
                        true
                    }
                    Some("rest_for_one") => {
                        spec.strategy = Strategy::RestForOne;
                        true
                    }
                    _ => false,
                },
                "restart" => match enum_text(x) {
                    Some("permanent") => {
                        spec.restart = RestartType::Permanent;
                        true
                    }
                    Some("transient") => {
                        spec.restart = RestartType::Transient;
                        true
                    }
                    Some("temporary") => {
                        spec.restart = RestartType::Temporary;
                        true
                    }
                    _ => false,
                },
                "max_restarts" => set_u32(x, &mut spec.max_restarts, 0),
                "within_s" => set_secs(x, &mut spec.within, 1.0),
                "backoff_min_ms" => set_ms(x, &mut spec.backoff_min),
                "backoff_max_ms" => set_ms(x, &mut spec.backoff_max),
                _ => true,
            };
            if !ok {
                let help = match k.as_str() {
                    "strategy" => "use one of `one_for_one`, `one_for_all`, `rest_for_one`",
                    "restart" => "use one of `permanent`, `transient`, `temporary`",
                    "max_restarts" => "a non-negative integer",
                    "within_s" => "a number of seconds greater than 0",
                    _ => "a non-negative integer number of milliseconds",
                };
                self.error(
                    "invalid-value",
                    v.range,
                    format!("invalid `supervision.{k}`: found {}", describe(x)),
                    help,
                );
            }
        }
        if spec.backoff_min > spec.backoff_max {
            self.error(
                "invalid-value",
                v.range,
                "`backoff_min_ms` is larger than `backoff_max_ms`".into(),
                "make the minimum backoff no larger than the maximum",
            );
        }
        spec
    }

    /// `circuit_breaker: { failure_threshold, reset_timeout_s, success_threshold, call_timeout_s }`.
    pub fn breaker(&mut self, value: Value, v: &Val) -> BreakerSpec {
        let mut spec = BreakerSpec::default();
        let Some(m) = self.map(
            "circuit_breaker",
            value,
            v,
            &[
                "failure_threshold",
                "reset_timeout_s",
                "success_threshold",
                "call_timeout_s",
            ],
        ) else {
            return spec;
        };
        for (k, x) in &m {
            let ok = match k.as_str() {
                "failure_threshold" => set_u32(x, &mut spec.failure_threshold, 1),
                "success_threshold" => set_u32(x, &mut spec.success_threshold, 1),
                "reset_timeout_s" => set_secs(x, &mut spec.reset_timeout, 0.0),
                "call_timeout_s" => set_secs(x, &mut spec.call_timeout, 0.0),
                _ => true,
            };
            if !ok {
                let help = if k.ends_with("_s") {
                    "a number of seconds greater than 0"
                } else {
                    "an integer ≥ 1"
                };
                self.error(
                    "invalid-value",
                    v.range,
                    format!("invalid `circuit_breaker.{k}`: found {}", describe(x)),
                    help,
                );
            }
        }
        spec
    }

    /// A map value whose keys are checked against `known` (unknown ones are warnings).
    fn map(
        &mut self,
        key: &str,
        value: Value,
        v: &Val,
        known: &[&str],
    ) -> Option<BTreeMap<String, Value>> {
        let Value::Map(mut m) = value else {
            self.error(
                "wrong-type",
                v.range,
                format!("`{key}` expects a map, found {}", describe(&value)),
                format!("write `{key}: {{ {}: … }}`", known[0]),
            );
            return None;
        };
        m.retain(|k, _| {
            if known.contains(&k.as_str()) {
                return true;
            }
            let mut help = format!("`{key}` takes {}", quote_list(known));
            if let Some(s) = crate::suggest::did_you_mean(k, known.iter().copied()) {
                help = format!("did you mean `{s}`? {help}");
            }
            self.diags.push(
                Diagnostic::warning(
                    "unknown-key",
                    self.idx.span(v.range),
                    format!("unknown key `{k}` in `{key}` (ignored)"),
                )
                .help(help),
            );
            false
        });
        // Values left unresolved under --no-env keep their defaults.
        m.retain(|_, x| !matches!(x, Value::Unresolved(_)));
        Some(m)
    }
}

/// True when an environment value was left unread (`--no-env`) anywhere inside `v`.
pub fn has_unresolved(v: &Value) -> bool {
    match v {
        Value::Unresolved(_) => true,
        Value::List(l) => l.iter().any(has_unresolved),
        Value::Map(m) => m.values().any(has_unresolved),
        _ => false,
    }
}

fn enum_text(v: &Value) -> Option<&str> {
    match v {
        Value::Str(s) => Some(s),
        Value::Ref(r) => Some(&r.name),
        _ => None,
    }
}

fn secs(v: &Value) -> Result<Option<f64>, ()> {
    match v {
        Value::Int(i) => Ok(Some(*i as f64)),
        Value::Float(f) => Ok(Some(*f)),
        Value::Str(s) => s.trim().parse::<f64>().map(Some).map_err(|_| ()),
        Value::Unresolved(_) => Ok(None),
        _ => Err(()),
    }
}

fn set_u32(v: &Value, out: &mut u32, min: u32) -> bool {
    match v.as_i64().and_then(|i| u32::try_from(i).ok()) {
        Some(n) if n >= min => {
            *out = n;
            true
        }
        _ => false,
    }
}

fn set_secs(v: &Value, out: &mut Duration, min_exclusive: f64) -> bool {
    match secs(v) {
        Ok(Some(s)) if s > min_exclusive.min(0.0) && s > 0.0 && s < 1.0e9 => {
            *out = Duration::from_secs_f64(s);
            true
        }
        _ => false,
    }
}

fn set_ms(v: &Value, out: &mut Duration) -> bool {
    match v.as_i64().and_then(|i| u64::try_from(i).ok()) {
        Some(ms) => {
            *out = Duration::from_millis(ms);
            true
        }
        None => false,
    }
}
