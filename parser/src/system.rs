//! Top-level entries that are not components: global `hooks = [...]` / `pipes = [...]` and the
//! seed documents' `deployment = local|server|docker { message_bus … }` block (DESIGN.md §2, §4,
//! §7), lowered into the whole-system fields of [`crate::model::Config`].

use crate::ast::{Decl, Entry, Val};
use crate::common::{has_unresolved, CommonLowerer};
use crate::diagnostic::Diagnostic;
use crate::env::EnvSource;
use crate::model::{HookSpec, Secret, Value};
use crate::schema::quote_list;
use crate::source::{LineIndex, Range};
use crate::spec::deployment::{bus_url_kind, BUS_KEYS};
use crate::spec::{BusKind, BusUrl, Deployment, DeploymentTarget, MessageBusSpec};
use crate::values::{duplicate_key, Converter};
use std::collections::BTreeMap;
use std::time::Duration;

/// The top-level settings a file may hold besides declarations.
pub const SETTINGS: &[&str] = &["hooks", "pipes"];

/// The whole-system settings of one file, filled while its top level is read.
#[derive(Default)]
pub struct System {
    pub hooks: Vec<HookSpec>,
    pub pipes: Vec<HookSpec>,
    pub deployment: Option<Deployment>,
    seen: BTreeMap<String, Range>,
}

/// Reads top-level entries, reporting into `diags`.
pub struct SystemLowerer<'a, 'b> {
    pub idx: &'a LineIndex<'a>,
    pub env: Option<&'a EnvSource>,
    pub diags: &'b mut Vec<Diagnostic>,
}

/// True for `deployment = <type> { … }`: the short form under the name `deployment` is the
/// deployment block, not a component (`deployment = llm openai { … }` still is one).
pub fn is_deployment(decl: &Decl) -> bool {
    decl.name.text == "deployment" && decl.kind.is_none()
}

impl SystemLowerer<'_, '_> {
    fn error(&mut self, code: &'static str, range: Range, msg: String, help: impl Into<String>) {
        self.diags.push(
            Diagnostic::error(code, self.idx.span(range), msg)
                .primary("here")
                .help(help.into()),
        );
    }

    fn first_time(&mut self, sys: &mut System, key: &str, range: Range) -> bool {
        if let Some(first) = sys.seen.get(key) {
            self.diags.push(duplicate_key(self.idx, key, range, *first));
            return false;
        }
        sys.seen.insert(key.to_string(), range);
        true
    }

    /// Converts a value with environment resolution; `None` after reporting unset variables
    /// (errors when `required`) or a value that did not parse.
    fn convert(&mut self, key: &str, owner: &str, v: &mut Val, required: bool) -> Option<Value> {
        let mut conv = Converter {
            idx: self.idx,
            env: self.env,
            diags: self.diags,
            refs: Vec::new(),
            unset: Vec::new(),
            invalid: false,
            key,
        };
        let value = conv.value(v, false, false);
        let (unset, invalid) = (std::mem::take(&mut conv.unset), conv.invalid);
        if invalid {
            return None;
        }
        if !unset.is_empty() {
            crate::lower::report_unset(self.idx, self.diags, key, owner, required, &unset);
            return None;
        }
        Some(value)
    }

    /// A top-level `key = value` that is not a declaration.
    pub fn setting(&mut self, sys: &mut System, entry: &mut Entry) {
        let key = entry.key.text.clone();
        if !SETTINGS.contains(&key.as_str()) {
            let mut help = format!(
                "top-level settings are {}; a declaration is `name = kind type {{ … }}`",
                quote_list(SETTINGS)
            );
            if key == "deployment" {
                help = "write `deployment = local { message_bus = \"redis://host:6379\" }`".into();
            } else if let Some(s) = crate::suggest::did_you_mean(&key, SETTINGS.iter().copied()) {
                help = format!("did you mean `{s}`? {help}");
            }
            self.error(
                "unknown-setting",
                entry.key.range,
                format!("`{key}` is not a top-level setting"),
                help,
            );
            return;
        }
        if !self.first_time(sys, &key, entry.key.range) {
            return;
        }
        let Some(value) = self.convert(&key, "the system", &mut entry.value, true) else {
            return;
        };
        let hooks = CommonLowerer {
            idx: self.idx,
            diags: self.diags,
        }
        .hooks(&key, &value, &entry.value);
        if key == "hooks" {
            sys.hooks = hooks;
        } else {
            sys.pipes = hooks;
        }
    }

    /// `deployment = local|server|docker { message_bus … }`.
    pub fn deployment(&mut self, sys: &mut System, decl: &mut Decl) {
        if !self.first_time(sys, "deployment", decl.name.range) {
            return;
        }
        let ty = decl.type_name.text.as_str();
        let Some(target) = DeploymentTarget::parse(ty) else {
            let names: Vec<&str> = DeploymentTarget::ALL.iter().map(|t| t.as_str()).collect();
            let mut help = format!("deployment types: {}", quote_list(&names));
            if let Some(s) = crate::suggest::did_you_mean(ty, names.iter().copied()) {
                help = format!("did you mean `{s}`? {help}");
            }
            self.error(
                "unknown-type",
                decl.type_name.range,
                format!("`{ty}` is not a deployment type"),
                help,
            );
            return;
        };
        let mut message_bus = None;
        let mut seen: BTreeMap<String, Range> = BTreeMap::new();
        for entry in crate::ast::items_mut(&mut decl.body.members) {
            let key = entry.key.text.clone();
            if let Some(first) = seen.get(&key) {
                self.diags
                    .push(duplicate_key(self.idx, &key, entry.key.range, *first));
                continue;
            }
            seen.insert(key.clone(), entry.key.range);
            if key != "message_bus" {
                let mut help = "a deployment block takes `message_bus`".to_string();
                if let Some(s) = crate::suggest::did_you_mean(&key, ["message_bus"]) {
                    help = format!("did you mean `{s}`? {help}");
                }
                self.diags.push(
                    Diagnostic::warning(
                        "unknown-key",
                        self.idx.span(entry.key.range),
                        format!("`{key}` is not a key of `deployment {ty}`; it is ignored"),
                    )
                    .primary("unknown key")
                    .help(help),
                );
                continue;
            }
            let range = entry.value.range;
            if let Some(v) = self.convert(&key, "the deployment", &mut entry.value, false) {
                message_bus = self.bus(v, range);
            }
        }
        let span = self.idx.span(decl.range);
        sys.deployment = Some(Deployment {
            target,
            message_bus,
            span,
        });
    }

    /// `message_bus = "url"`, `= $VAR`, or `= redis|nats|memory { … }`.
    fn bus(&mut self, v: Value, range: Range) -> Option<MessageBusSpec> {
        const HELP: &str = "write `message_bus = redis { redis_url = $REDIS_URL }`, `message_bus = nats { nats_url = \"nats://host:4222\" }` or `message_bus = \"redis://host:6379\"`";
        let empty = |kind, url| MessageBusSpec {
            kind,
            url,
            stream_prefix: None,
            consumer_group: None,
            max_retries: None,
            dead_letter_ttl: None,
        };
        match v {
            Value::Str(url) => match bus_url_kind(&url) {
                Ok(kind) => Some(empty(Some(kind), Some(BusUrl::Given(Secret::new(url))))),
                Err(p) => {
                    self.error("invalid-value", range, p.message, p.help);
                    None
                }
            },
            Value::Unresolved(u) => Some(empty(None, Some(BusUrl::Unresolved(u)))),
            Value::Map(mut m) => {
                let ty = match (m.remove("type"), m.remove("kind")) {
                    (Some(Value::Str(t)), None) => t,
                    _ => {
                        self.error(
                            "invalid-value",
                            range,
                            "`message_bus` must name its broker".into(),
                            HELP,
                        );
                        return None;
                    }
                };
                let (kind, url_key) = match ty.as_str() {
                    "redis" => (BusKind::Redis, Some("redis_url")),
                    "nats" => (BusKind::Nats, Some("nats_url")),
                    "memory" => (BusKind::Memory, None),
                    other => {
                        let known = ["redis", "nats", "memory"];
                        let mut help = format!("message buses: {}", quote_list(&known));
                        if let Some(s) = crate::suggest::did_you_mean(other, known) {
                            help = format!("did you mean `{s}`? {help}");
                        }
                        self.error(
                            "unknown-type",
                            range,
                            format!("`{other}` is not a message bus this runtime knows"),
                            help,
                        );
                        return None;
                    }
                };
                let mut spec = empty(Some(kind), None);
                if let Some(url_key) = url_key {
                    let url = m.remove(url_key).or_else(|| m.remove("url"));
                    match url {
                        Some(Value::Str(u)) => {
                            match bus_url_kind(&u) {
                                Ok(k) if k == kind => {
                                    spec.url = Some(BusUrl::Given(Secret::new(u)));
                                }
                                Ok(k) => {
                                    self.error(
                                    "invalid-value",
                                    range,
                                    format!("`{url_key}` is a {} URL in a `{ty}` block", k.as_str()),
                                    format!("give a `{ty}://` URL, or write `message_bus = {} {{ … }}`", k.as_str()),
                                );
                                    return None;
                                }
                                Err(p) => {
                                    self.error("invalid-value", range, p.message, p.help);
                                    return None;
                                }
                            }
                        }
                        Some(Value::Unresolved(u)) => spec.url = Some(BusUrl::Unresolved(u)),
                        Some(_) => {
                            self.error(
                                "wrong-type",
                                range,
                                format!("`{url_key}` must be a URL string or $VAR"),
                                HELP,
                            );
                            return None;
                        }
                        None => {
                            self.error(
                                "missing-key",
                                range,
                                format!("`message_bus = {ty}` has no `{url_key}`"),
                                format!("add `{url_key} = ${}`", url_key.to_ascii_uppercase()),
                            );
                            return None;
                        }
                    }
                }
                for (k, x) in m {
                    if !BUS_KEYS.contains(&k.as_str()) {
                        let mut known: Vec<&str> = url_key.into_iter().collect();
                        known.extend_from_slice(BUS_KEYS);
                        let mut help = format!("`{ty}` takes {}", quote_list(&known));
                        if let Some(s) = crate::suggest::did_you_mean(&k, known.iter().copied()) {
                            help = format!("did you mean `{s}`? {help}");
                        }
                        self.diags.push(
                            Diagnostic::warning(
                                "unknown-key",
                                self.idx.span(range),
                                format!("unknown key `{k}` in `message_bus = {ty}` (ignored)"),
                            )
                            .help(help),
                        );
                        continue;
                    }
                    if has_unresolved(&x) {
                        continue;
                    }
                    let ok = match k.as_str() {
                        "stream_prefix" => x.as_str().map(|s| spec.stream_prefix = Some(s.into())),
                        "consumer_group" => {
                            x.as_str().map(|s| spec.consumer_group = Some(s.into()))
                        }
                        "max_retries" => x
                            .as_i64()
                            .and_then(|i| u32::try_from(i).ok())
                            .map(|n| spec.max_retries = Some(n)),
                        _ => x
                            .as_f64()
                            .filter(|s| *s > 0.0 && *s < 1.0e9)
                            .map(|s| spec.dead_letter_ttl = Some(Duration::from_secs_f64(s))),
                    };
                    if ok.is_none() {
                        let want = match k.as_str() {
                            "stream_prefix" | "consumer_group" => "a string",
                            "max_retries" => "a non-negative integer",
                            _ => "a number of seconds greater than 0",
                        };
                        self.error(
                            "wrong-type",
                            range,
                            format!("`message_bus.{k}` must be {want}"),
                            HELP,
                        );
                    }
                }
                Some(spec)
            }
            _ => {
                self.error(
                    "wrong-type",
                    range,
                    "`message_bus` expects a broker block or a URL".into(),
                    HELP,
                );
                None
            }
        }
    }
}
