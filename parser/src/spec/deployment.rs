//! Typed forms of the seed documents' deployment keys (DESIGN.md §2, §7, §8): the top-level
//! `deployment = local|server|docker { message_bus … }` block and a component's
//! `deployment = { mode, scaling, resources }` and `metrics = { … }` maps.
//!
//! `check` validates and types them; `serve` joins the broker a `message_bus` names (unless
//! `--bus` says otherwise), and `export` reads the per-component ones for replicas and resources.

use crate::model::{Secret, Span, UnresolvedEnv, Value};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Where the whole system is meant to run: the type of the top-level `deployment` block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentTarget {
    /// One process on this machine (`serve`).
    Local,
    /// Several processes on servers sharing a broker.
    Server,
    /// Containers (`export --format compose|kubernetes`).
    Docker,
}

impl DeploymentTarget {
    /// Every target, in the order help lines list them.
    pub const ALL: [DeploymentTarget; 3] = [
        DeploymentTarget::Local,
        DeploymentTarget::Server,
        DeploymentTarget::Docker,
    ];

    /// The type name written in `.ww` files.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentTarget::Local => "local",
            DeploymentTarget::Server => "server",
            DeploymentTarget::Docker => "docker",
        }
    }

    /// Parses the written type name.
    pub fn parse(s: &str) -> Option<DeploymentTarget> {
        DeploymentTarget::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The top-level `deployment = <target> { message_bus: … }` block, so `check`, `serve` and
/// `export` read one typed value instead of the syntax.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Deployment {
    pub target: DeploymentTarget,
    /// `None` when the block names no broker (the in-memory bus).
    pub message_bus: Option<MessageBusSpec>,
    pub span: Span,
}

impl Deployment {
    /// The broker named, when it is not the in-memory bus: the cluster `serve` joins when
    /// `--bus` names none (DESIGN.md §7).
    pub fn external_bus(&self) -> Option<&MessageBusSpec> {
        self.message_bus
            .as_ref()
            .filter(|b| b.kind != Some(BusKind::Memory))
    }
}

/// Which broker a `message_bus` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BusKind {
    /// In-process (the default).
    Memory,
    /// Redis Streams (`redis://`, `rediss://`).
    Redis,
    /// NATS JetStream (`nats://`).
    Nats,
}

impl BusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BusKind::Memory => "memory",
            BusKind::Redis => "redis",
            BusKind::Nats => "nats",
        }
    }

    /// The broker a URL scheme names: `redis`, `rediss`, `nats`, `memory`.
    pub fn from_scheme(scheme: &str) -> Option<BusKind> {
        match scheme {
            "redis" | "rediss" => Some(BusKind::Redis),
            "nats" => Some(BusKind::Nats),
            "memory" => Some(BusKind::Memory),
            _ => None,
        }
    }
}

/// A broker URL: kept as a secret (a Redis URL may carry a password), or the variable it comes
/// from when `check --no-env` did not read it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BusUrl {
    Given(Secret),
    Unresolved(UnresolvedEnv),
}

/// `message_bus = redis { redis_url, stream_prefix, consumer_group, max_retries, dead_letter_ttl }`,
/// `nats { nats_url, … }`, `memory {}`, or `message_bus = "redis://…"` / `"nats://…"`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageBusSpec {
    /// `None` only for a URL left unread by `check --no-env` (its scheme is not known yet).
    pub kind: Option<BusKind>,
    pub url: Option<BusUrl>,
    /// Prefix of the broker's stream names (woodwork's `stream_prefix`).
    pub stream_prefix: Option<String>,
    /// Consumer group name (woodwork's `consumer_group`).
    pub consumer_group: Option<String>,
    /// Deliveries before a message is dead-lettered.
    pub max_retries: Option<u32>,
    /// How long dead letters are kept (woodwork's `dead_letter_ttl`, seconds).
    pub dead_letter_ttl: Option<Duration>,
}

/// Keys of a typed `message_bus` block besides its URL key.
pub const BUS_KEYS: &[&str] = &[
    "stream_prefix",
    "consumer_group",
    "max_retries",
    "dead_letter_ttl",
];

/// How a component is meant to run, the `mode` of its `deployment` map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployMode {
    /// In the process that serves the file (the default).
    Local,
    /// In its own process on a server, sharing a broker.
    Server,
    /// In its own container (a Compose service / Kubernetes Deployment).
    Docker,
}

impl DeployMode {
    pub const ALL: [DeployMode; 3] = [DeployMode::Local, DeployMode::Server, DeployMode::Docker];

    pub fn as_str(self) -> &'static str {
        match self {
            DeployMode::Local => "local",
            DeployMode::Server => "server",
            DeployMode::Docker => "docker",
        }
    }

    pub fn parse(s: &str) -> Option<DeployMode> {
        DeployMode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// How many copies of a component run: fixed, or a range an autoscaler moves in (both ≥ 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// `scaling: { replicas: n }`.
    Replicas(u32),
    /// `scaling: { min, max }` with `min ≤ max`.
    Range { min: u32, max: u32 },
}

impl Scaling {
    /// The replica count to start with (`min` for a range).
    pub fn initial(self) -> u32 {
        match self {
            Scaling::Replicas(n) => n,
            Scaling::Range { min, .. } => min,
        }
    }
}

/// `resources: { cpu, memory }` in Kubernetes quantity form (`"500m"`, `"1"`, `"512Mi"`, `"1Gi"`),
/// written into exported manifests as requests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    pub cpu: Option<String>,
    pub memory: Option<String>,
}

/// A component's `deployment = { mode, scaling, resources }` map, read by `export` for replicas and
/// resources; `serve` runs every component in its own process regardless.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ComponentDeployment {
    pub mode: Option<DeployMode>,
    pub scaling: Option<Scaling>,
    pub resources: Option<Resources>,
}

/// A component's `metrics = { enabled, labels, events }` map: whether its figures are exported,
/// extra labels on them, and which events are counted (`None`: all).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricsSpec {
    pub enabled: bool,
    pub labels: BTreeMap<String, String>,
    pub events: Option<Vec<String>>,
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec {
            enabled: true,
            labels: BTreeMap::new(),
            events: None,
        }
    }
}

/// A value that is not what a key wants: what is wrong and how to write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub help: String,
}

fn problem(message: impl Into<String>, help: impl Into<String>) -> Problem {
    Problem {
        message: message.into(),
        help: help.into(),
    }
}

/// True for a Kubernetes quantity: a decimal number (`1`, `0.5`, `.5`) followed by nothing, a
/// binary suffix (`Ki Mi Gi Ti Pi Ei`), a decimal suffix (`m k M G T P E`) or an exponent (`e3`).
pub fn is_quantity(s: &str) -> bool {
    let digits_end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(s.len(), |(i, _)| i);
    let (number, suffix) = s.split_at(digits_end);
    let mut parts = number.split('.');
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    if parts.next().is_some() || (whole.is_empty() && frac.is_none_or(str::is_empty)) {
        return false;
    }
    if frac.is_some_and(str::is_empty) {
        return false;
    }
    const SUFFIXES: &[&str] = &[
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ];
    if SUFFIXES.contains(&suffix) {
        return true;
    }
    match suffix.strip_prefix(['e', 'E']) {
        Some(exp) => {
            let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            !exp.is_empty() && exp.len() <= 3 && exp.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn count(v: &Value, what: &str) -> Result<u32, Problem> {
    match v.as_i64().and_then(|i| u32::try_from(i).ok()) {
        Some(n) if n >= 1 => Ok(n),
        _ => Err(problem(
            format!("`{what}` must be an integer ≥ 1"),
            format!("write `{what}: 2`"),
        )),
    }
}

fn only(m: &BTreeMap<String, Value>, what: &str, allowed: &[&str]) -> Result<(), Problem> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => {
            let mut help = format!("`{what}` takes {}", crate::schema::quote_list(allowed));
            if let Some(s) = crate::suggest::did_you_mean(k, allowed.iter().copied()) {
                help = format!("did you mean `{s}`? {help}");
            }
            Err(problem(format!("unknown key `{k}` in `{what}`"), help))
        }
        None => Ok(()),
    }
}

/// `scaling: { replicas }` or `{ min, max }`.
pub fn scaling(v: &Value) -> Result<Scaling, Problem> {
    const HELP: &str = "write `scaling: { replicas: 2 }` or `scaling: { min: 1, max: 5 }`";
    let Value::Map(m) = v else {
        return Err(problem("`deployment.scaling` must be a map", HELP));
    };
    only(m, "deployment.scaling", &["replicas", "min", "max"])?;
    match (m.get("replicas"), m.get("min"), m.get("max")) {
        (Some(r), None, None) => Ok(Scaling::Replicas(count(r, "replicas")?)),
        (None, Some(lo), Some(hi)) => {
            let (min, max) = (count(lo, "min")?, count(hi, "max")?);
            if min > max {
                return Err(problem(
                    format!("`deployment.scaling` has `min` {min} above `max` {max}"),
                    "make `min` no larger than `max`",
                ));
            }
            Ok(Scaling::Range { min, max })
        }
        _ => Err(problem(
            "`deployment.scaling` needs either `replicas` or both `min` and `max`",
            HELP,
        )),
    }
}

/// `resources: { cpu, memory }`, each a Kubernetes quantity string.
pub fn resources(v: &Value) -> Result<Resources, Problem> {
    let Value::Map(m) = v else {
        return Err(problem(
            "`deployment.resources` must be a map",
            "write `resources: { cpu: \"500m\", memory: \"512Mi\" }`",
        ));
    };
    only(m, "deployment.resources", &["cpu", "memory"])?;
    let quantity = |key: &str, example: &str| -> Result<Option<String>, Problem> {
        match m.get(key) {
            None => Ok(None),
            Some(Value::Str(s)) if is_quantity(s) => Ok(Some(s.clone())),
            Some(_) => Err(problem(
                format!("`deployment.resources.{key}` must be a quantity string"),
                format!("write it in Kubernetes quantity form, quoted: `{key}: \"{example}\"`"),
            )),
        }
    };
    Ok(Resources {
        cpu: quantity("cpu", "500m")?,
        memory: quantity("memory", "512Mi")?,
    })
}

/// A component's `deployment = { mode, scaling, resources }`.
pub fn component_deployment(v: &Value) -> Result<ComponentDeployment, Problem> {
    let Value::Map(m) = v else {
        return Err(problem(
            "`deployment` of a component must be a map",
            "write `deployment: { mode: \"docker\", scaling: { replicas: 2 }, resources: { cpu: \"500m\", memory: \"512Mi\" } }`",
        ));
    };
    only(m, "deployment", &["mode", "scaling", "resources"])?;
    let mode = match m.get("mode") {
        None => None,
        Some(x) => {
            let text = match x {
                Value::Str(s) => Some(s.as_str()),
                Value::Ref(r) => Some(r.name.as_str()),
                _ => None,
            };
            let names: Vec<&str> = DeployMode::ALL.iter().map(|m| m.as_str()).collect();
            match text.and_then(DeployMode::parse) {
                Some(mode) => Some(mode),
                None => {
                    return Err(problem(
                        "`deployment.mode` is not a known mode",
                        format!("use one of {}", crate::schema::quote_list(&names)),
                    ))
                }
            }
        }
    };
    Ok(ComponentDeployment {
        mode,
        scaling: m.get("scaling").map(scaling).transpose()?,
        resources: m.get("resources").map(resources).transpose()?,
    })
}

/// A component's `metrics = { enabled, labels, events }`.
pub fn metrics(v: &Value) -> Result<MetricsSpec, Problem> {
    const HELP: &str =
        "write `metrics: { enabled: true, labels: { team: \"search\" }, events: [\"agent.response\"] }`";
    let Value::Map(m) = v else {
        return Err(problem("`metrics` must be a map", HELP));
    };
    only(m, "metrics", &["enabled", "labels", "events"])?;
    let mut spec = MetricsSpec::default();
    if let Some(e) = m.get("enabled") {
        spec.enabled = e
            .as_bool()
            .ok_or_else(|| problem("`metrics.enabled` must be true or false", HELP))?;
    }
    if let Some(l) = m.get("labels") {
        let Value::Map(labels) = l else {
            return Err(problem("`metrics.labels` must be a map of strings", HELP));
        };
        for (k, x) in labels {
            let Value::Str(s) = x else {
                return Err(problem(
                    format!("`metrics.labels.{k}` must be a string"),
                    HELP,
                ));
            };
            spec.labels.insert(k.clone(), s.clone());
        }
    }
    if let Some(e) = m.get("events") {
        let names: Option<Vec<String>> = e
            .as_list()
            .and_then(|l| l.iter().map(|x| x.as_str().map(str::to_string)).collect());
        let Some(names) = names else {
            return Err(problem(
                "`metrics.events` must be a list of event names",
                HELP,
            ));
        };
        if let Some(bad) = names
            .iter()
            .find(|n| !crate::schema::EVENTS.contains(&n.as_str()))
        {
            let mut help = format!(
                "known events: {}",
                crate::schema::quote_list(crate::schema::EVENTS)
            );
            if let Some(s) =
                crate::suggest::did_you_mean(bad, crate::schema::EVENTS.iter().copied())
            {
                help = format!("did you mean `{s}`? {help}");
            }
            return Err(problem(
                format!("`{bad}` is not an event this runtime emits"),
                help,
            ));
        }
        spec.events = Some(names);
    }
    Ok(spec)
}

/// The scheme of a broker URL and the broker it names, or what is wrong with it.
pub fn bus_url_kind(url: &str) -> Result<BusKind, Problem> {
    const HELP: &str = "write `message_bus = \"redis://host:6379\"` (also `rediss://`, `nats://host:4222`, `memory://`)";
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(problem("the message bus URL has no scheme", HELP));
    };
    let kind = BusKind::from_scheme(&scheme.to_ascii_lowercase()).ok_or_else(|| {
        problem(
            format!("`{scheme}://` is not a message bus this runtime knows"),
            HELP,
        )
    })?;
    if kind != BusKind::Memory && rest.trim().is_empty() {
        return Err(problem("the message bus URL names no host", HELP));
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in [
            "1", "500m", "0.5", ".5", "512Mi", "1Gi", "2G", "129e6", "1E3", "100k",
        ] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in [
            "", "m", "1.", "1..2", "1 Gi", "1gb", "-1", "1Gi ", "abc", "1e", "1.2.3",
        ] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn bus_urls() {
        assert_eq!(bus_url_kind("redis://h:6379/0"), Ok(BusKind::Redis));
        assert_eq!(bus_url_kind("rediss://h"), Ok(BusKind::Redis));
        assert_eq!(bus_url_kind("nats://h:4222"), Ok(BusKind::Nats));
        assert_eq!(bus_url_kind("memory://"), Ok(BusKind::Memory));
        assert!(bus_url_kind("kafka://h").is_err());
        assert!(bus_url_kind("redis://").is_err());
        assert!(bus_url_kind("h:6379").is_err());
    }
}
