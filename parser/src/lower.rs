//! One supported declaration to a [`Component`]: schema keys checked and defaulted, common keys
//! lowered into typed fields, references collected for resolution.

use crate::ast::{Decl, Entry, Ident, Val};
use crate::common::CommonLowerer;
use crate::diagnostic::Diagnostic;
use crate::env::EnvSource;
use crate::model::*;
use crate::schema::{self, Default as Def, TypeSchema, COMMON_KEYS};
use crate::source::{LineIndex, Range};
use crate::typecheck::TypeChecker;
use crate::values::{duplicate_key, Converter, RefUse, SeenKeys};

/// A lowered component with what resolution still needs.
pub struct Draft {
    pub comp: Component,
    pub refs: Vec<RefUse>,
    pub to: Vec<(String, Range)>,
    /// `agent llm` without `model:` but with `api_key:` (old files): the implicit OpenAI model.
    pub implicit_model: Option<Value>,
    pub name_range: Range,
}

/// Lowers one supported declaration; problems go to `diags`, the draft is returned regardless.
pub fn lower(
    decl: &mut Decl,
    schema: &'static TypeSchema,
    idx: &LineIndex,
    env: Option<&EnvSource>,
    diags: &mut Vec<Diagnostic>,
) -> Draft {
    let name = decl.name.text.clone();
    let name_range = decl.name.range;
    let mut comp = Component::new(
        name.clone(),
        schema.kind,
        schema.type_name.to_string(),
        idx.span(decl.range),
    );
    let mut refs: Vec<RefUse> = Vec::new();
    let mut to = Vec::new();
    let mut seen = SeenKeys::default();
    // Keys whose requirement is waived because their `unless` key is written (openai's `api_key`
    // next to a `base_url`), in the file or in its environment variable, or because their own
    // environment variable gives them (always, under `--no-env`: the deployment may set it);
    // empty, and free, for every other schema.
    let waived: Vec<&'static str> = schema
        .keys
        .iter()
        .filter(|k| {
            let other_given = k.unless.is_some_and(|other| {
                crate::ast::items(&decl.body.members)
                    .any(|e| canonical_key(schema, &e.key.text) == other)
                    || schema.key(other).is_some_and(|o| from_environment(o, env))
            });
            other_given || from_environment(k, env)
        })
        .map(|k| k.name)
        .collect();
    let required = |spec: &schema::KeySpec| spec.required && !waived.contains(&spec.name);

    for entry in crate::ast::items_mut(&mut decl.body.members) {
        if diags.len() > crate::check::MAX_DIAGNOSTICS {
            break;
        }
        let Entry {
            key: key_ident,
            value: val,
            ..
        } = entry;
        let key_ident: &Ident = key_ident;
        let key = canonical_key(schema, &key_ident.text);
        if let Some(first) = seen.first(key) {
            diags.push(duplicate_key(idx, &key_ident.text, key_ident.range, first));
            continue;
        }
        seen.insert(key, key_ident.range);
        if key == "to" {
            to = CommonLowerer { idx, diags }.to(val);
            continue;
        }
        let spec = schema.key(key);
        let secret = schema::is_secret_key(key) || spec.is_some_and(|s| s.ty == schema::Ty::Secret);
        let env_secret = spec.is_some_and(|s| s.ty == schema::Ty::SecretStrMap);
        let mut conv = Converter {
            idx,
            env,
            diags,
            refs: std::mem::take(&mut refs),
            unset: Vec::new(),
            invalid: false,
            key,
        };
        let refs_from = conv.refs.len();
        let value = conv.value(val, secret, env_secret);
        let val: &Val = val;
        let (unset, invalid) = (std::mem::take(&mut conv.unset), conv.invalid);
        refs = conv.refs;
        if invalid {
            refs.truncate(refs_from);
            continue;
        }
        if !unset.is_empty() {
            refs.truncate(refs_from);
            let required = spec.is_some_and(required);
            report_unset(idx, diags, key, &name, required, &unset);
            continue;
        }
        if COMMON_KEYS.contains(&key) {
            refs.truncate(refs_from);
            common(&mut comp, key, value, val, idx, diags);
            continue;
        }
        match spec {
            Some(spec) => {
                let checked =
                    TypeChecker { idx, diags }.check(spec, value, val, &mut refs, refs_from);
                if let Some(v) = checked {
                    comp.props.insert(key.to_string(), v);
                }
            }
            None => {
                unknown_key(schema, key_ident, idx, diags);
                comp.props.insert(key.to_string(), value);
            }
        }
    }

    key_extra_rules(schema, &seen, name_range, &comp, idx, diags);
    let mut implicit_model = None;
    for spec in schema.keys {
        if comp.props.contains_key(spec.name) {
            continue;
        }
        let given = seen.contains(spec.name);
        if !given {
            if let Some(value) = env_value(spec, env) {
                comp.props.insert(spec.name.to_string(), value);
                continue;
            }
        }
        if required(spec) {
            if given {
                continue; // given but invalid or unset: reported above
            }
            if schema.kind == Kind::Agent && spec.name == "model" {
                if let Some(key) = comp.props.remove("api_key") {
                    implicit_model = Some(key);
                    continue;
                }
            }
            diags.push(
                Diagnostic::error(
                    "missing-key",
                    idx.span(name_range),
                    format!(
                        "`{}` ({} {}) has no `{}`",
                        name, schema.kind, schema.type_name, spec.name
                    ),
                )
                .primary(format!("`{}` is required here", spec.name))
                .help(match spec.env {
                    Some(var) => format!(
                        "add {}, or set the environment variable `{var}` (in the environment or in `.env` next to this file)",
                        spec.doc
                    ),
                    None => format!("add {}", spec.doc),
                }),
            );
            continue;
        }
        let default = match spec.default {
            Def::None => continue,
            Def::Str(s) => Value::Str(s.to_string()),
            Def::Int(i) => Value::Int(i),
            Def::Bool(b) => Value::Bool(b),
        };
        comp.props.insert(spec.name.to_string(), default);
    }
    if schema.kind == Kind::Agent && !comp.props.contains_key("tools") && !seen.contains("tools") {
        comp.props.insert("tools".into(), Value::List(Vec::new()));
    }
    Draft {
        comp,
        refs,
        to,
        implicit_model,
        name_range,
    }
}

/// True when `spec`'s environment variable may give its value: set and not blank, or not looked
/// at (`--no-env`, where `env` is None: the deployment may set it).
fn from_environment(spec: &schema::KeySpec, env: Option<&EnvSource>) -> bool {
    spec.env.is_some_and(|var| match env {
        None => true,
        Some(env) => env.get(var).is_some_and(|v| !v.trim().is_empty()),
    })
}

/// The value of `spec` from its environment variable, if it has one and it is set: a secret for
/// secret keys (a provider key read from the environment is never shown).
fn env_value(spec: &schema::KeySpec, env: Option<&EnvSource>) -> Option<Value> {
    let value = env?.get(spec.env?)?.trim();
    if value.is_empty() {
        return None;
    }
    Some(if spec.ty == schema::Ty::Secret {
        Value::Secret(Secret::new(value))
    } else {
        Value::Str(value.to_string())
    })
}

/// Maps old key names of the schema (`api_token`) to current ones.
fn canonical_key<'k>(schema: &TypeSchema, key: &'k str) -> &'k str {
    match schema.key_aliases.iter().find(|(old, _)| *old == key) {
        Some((_, new)) => new,
        None => key,
    }
}

pub(crate) fn report_unset(
    idx: &LineIndex,
    diags: &mut Vec<Diagnostic>,
    key: &str,
    name: &str,
    required: bool,
    unset: &[crate::values::UnsetVar],
) {
    for u in unset {
        let span = idx.span(u.range);
        let d = if required {
            Diagnostic::error(
                "unset-variable",
                span,
                format!("environment variable `{}` is not set, and `{name}` requires `{key}`", u.name),
            )
            .primary(format!("`{}` is not set", u.name))
            .help(format!(
                "set `{}` in the environment or in `.env` next to this file, or give a default: `${{{}:-value}}`; `check --no-env` skips this check",
                u.name, u.name
            ))
        } else {
            Diagnostic::warning(
                "unset-variable",
                span,
                format!(
                    "environment variable `{}` is not set; `{key}` of `{name}` is left out",
                    u.name
                ),
            )
            .primary(format!("`{}` is not set", u.name))
            .help(format!(
                "set `{}` or give a default: `${{{}:-value}}`",
                u.name, u.name
            ))
        };
        diags.push(d);
    }
}

fn unknown_key(
    schema: &TypeSchema,
    key_ident: &Ident,
    idx: &LineIndex,
    diags: &mut Vec<Diagnostic>,
) {
    let key = key_ident.text.as_str();
    let known: Vec<&str> = schema
        .keys
        .iter()
        .map(|k| k.name)
        .chain(COMMON_KEYS.iter().copied())
        .collect();
    let mut help = if schema.keys.is_empty() {
        format!(
            "`{} {}` takes only the common keys {}",
            schema.kind,
            schema.type_name,
            schema::quote_list(COMMON_KEYS)
        )
    } else {
        format!(
            "`{} {}` takes {}",
            schema.kind,
            schema.type_name,
            schema::quote_list(&schema.keys.iter().map(|k| k.name).collect::<Vec<_>>())
        )
    };
    if let Some(s) = crate::suggest::did_you_mean(key, known.iter().copied()) {
        help = format!("did you mean `{s}`? {help}");
    }
    diags.push(
        Diagnostic::warning(
            "unknown-key",
            idx.span(key_ident.range),
            format!(
                "`{key}` is not a key of `{} {}`; it is passed on unchecked",
                schema.kind, schema.type_name
            ),
        )
        .primary("unknown key")
        .help(help),
    );
}

fn common(
    comp: &mut Component,
    key: &str,
    value: Value,
    v: &Val,
    idx: &LineIndex,
    diags: &mut Vec<Diagnostic>,
) {
    let mut c = CommonLowerer { idx, diags };
    match key {
        "hooks" => comp.hooks = c.hooks(key, &value, v),
        "pipes" => comp.pipes = c.hooks(key, &value, v),
        "streaming" => comp.streaming = c.streaming(&value, v),
        "supervision" => comp.supervision = c.supervision(value, v),
        "circuit_breaker" => comp.circuit_breaker = c.breaker(value, v),
        "timeout" => comp.timeout = c.timeout(&value, v),
        "session_policy" => comp.session_policy = c.session_policy(&value, v),
        "deployment" => {
            comp.deployment = c.seed(&value, v, crate::spec::deployment::component_deployment)
        }
        "metrics" => comp.metrics = c.seed(&value, v, crate::spec::deployment::metrics),
        _ => {}
    }
}

/// Rules across keys.
fn key_extra_rules(
    schema: &TypeSchema,
    seen: &SeenKeys,
    name_range: Range,
    comp: &Component,
    idx: &LineIndex,
    diags: &mut Vec<Diagnostic>,
) {
    if schema.kind == Kind::Output && schema.type_name == "webhook" {
        webhook_rules(name_range, comp, idx, diags);
    }
    if schema.kind == Kind::Mcp {
        let given = ["command", "url", "server"]
            .iter()
            .any(|k| seen.contains(k));
        if !given {
            diags.push(
                Diagnostic::error(
                    "missing-key",
                    idx.span(name_range),
                    format!("`{}` (mcp server) says neither how to start it nor where it is", comp.name),
                )
                .primary("needs `command`, `url` or `server`")
                .help("add `command: [\"npx\", \"-y\", \"@modelcontextprotocol/server-everything\"]` (stdio) or `url: \"http://127.0.0.1:3001/mcp\"` (HTTP)"),
            );
            return;
        }
        if !seen.contains("command") && !seen.contains("url") {
            diags.push(
                Diagnostic::error(
                    "unsupported-value",
                    idx.span(name_range),
                    format!(
                        "`{}` (mcp server) names a registry server, which this runtime does not resolve",
                        comp.name
                    ),
                )
                .primary("needs `command` or `url`")
                .help("say how to run it: `command: [\"docker\", \"run\", \"-i\", \"ghcr.io/github/github-mcp-server\"]` (stdio) or `url: \"http://127.0.0.1:3001/mcp\"` (streamable HTTP)"),
            );
            return;
        }
        if comp.props.contains_key("command") && comp.props.contains_key("url") {
            diags.push(
                Diagnostic::error(
                    "invalid-value",
                    idx.span(name_range),
                    format!("`{}` (mcp server) has both `command` and `url`", comp.name),
                )
                .primary("choose one transport")
                .help("keep `command` for a stdio server or `url` for an HTTP server, not both"),
            );
            return;
        }
    }
    if schema.kind == Kind::Llm
        && schema.type_name == "mock"
        && comp.props.contains_key("reply")
        && comp.props.contains_key("replies")
    {
        diags.push(
            Diagnostic::error(
                "invalid-value",
                idx.span(name_range),
                format!("`{}` (llm mock) has both `reply` and `replies`", comp.name),
            )
            .primary("choose one")
            .help("use `reply: \"text\"` for a fixed answer or `replies: [...]` for a script"),
        );
    }
}

/// `output webhook`: `serve` POSTs to `url` with `headers`, so `check` refuses what it could not
/// send (DESIGN.md §3: nothing passes `check` to fail at start): a URL that is not http(s) with a
/// host, a header name that is not an HTTP token. Values left unread by `--no-env` are skipped.
fn webhook_rules(
    name_range: Range,
    comp: &Component,
    idx: &LineIndex,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(Value::Str(url)) = comp.props.get("url") {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
            diags.push(
                Diagnostic::error(
                    "invalid-value",
                    idx.span(name_range),
                    format!(
                        "`{}` (output webhook): `url` must be http:// or https:// with a host",
                        comp.name
                    ),
                )
                .primary("answers could not be POSTed here")
                .help("write e.g. `url: \"https://example.com/hook\"`"),
            );
        }
    }
    if let Some(Value::Int(n)) = comp.props.get("retries") {
        let max = crate::schema::defaults::WEBHOOK_MAX_RETRIES;
        if *n > max {
            diags.push(
                Diagnostic::error(
                    "invalid-value",
                    idx.span(name_range),
                    format!("`{}` (output webhook): `retries` is {n}; use at most {max}", comp.name),
                )
                .primary("too many retries")
                .help("an answer that is still not delivered goes to the dead-letter queue, from where `POST /dlq/{id}/replay` sends it again"),
            );
        }
    }
    if let Some(Value::Map(headers)) = comp.props.get("headers") {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        for name in headers
            .keys()
            .filter(|n| n.is_empty() || !n.chars().all(token))
        {
            diags.push(
                Diagnostic::error(
                    "invalid-value",
                    idx.span(name_range),
                    format!("`{}` (output webhook): `{name}` is not a valid HTTP header name", comp.name),
                )
                .primary("this header could not be sent")
                .help("header names are letters, digits and `-` (e.g. `X-Api-Key`); quote a name with `-`"),
            );
        }
    }
}
