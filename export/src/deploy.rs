//! The seed documents' deployment settings, read into what the manifests need: a component's
//! `deployment = { mode, scaling, resources }` and the top-level block's `message_bus`.
//!
//! Accepted forms (anything else is refused with the forms listed):
//! - `scaling: 2`, `scaling: { replicas: 2 }`, or `scaling: { min: 1, max: 5, target_cpu: 80 }`
//!   (autoscaled on CPU; `target_cpu` is a percentage of the CPU request, default 80);
//! - `resources: { cpu: "500m", memory: "256Mi" }` (requests and limits alike), or
//!   `resources: { requests: { … }, limits: { … } }`;
//! - `mode`: any string; recorded by the seed documents, not used by export.

use crate::error::ExportError;
use crate::quantity::{Quantity, Resource};
use crate::raw::{Raw, RawKind};
use std::collections::BTreeMap;

/// Most replicas accepted: a typo guard, far above what one system needs.
pub const MAX_REPLICAS: u32 = 1000;

/// How many copies of a placement group run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replicas {
    Fixed(u32),
    /// A HorizontalPodAutoscaler between `min` and `max` on CPU utilisation.
    Auto {
        min: u32,
        max: u32,
        target_cpu: u32,
    },
}

/// Requests and limits, each for `cpu` and/or `memory`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    pub requests: BTreeMap<&'static str, Quantity>,
    pub limits: BTreeMap<&'static str, Quantity>,
}

impl Resources {
    /// The sum of two components' needs (one process hosts both).
    pub fn plus(&self, other: &Resources) -> Resources {
        let add = |a: &BTreeMap<&'static str, Quantity>, b: &BTreeMap<&'static str, Quantity>| {
            let mut out = a.clone();
            for (k, q) in b {
                let sum = match out.get(k) {
                    Some(have) => have.plus(*q),
                    None => *q,
                };
                out.insert(k, sum);
            }
            out
        };
        Resources {
            requests: add(&self.requests, &other.requests),
            limits: add(&self.limits, &other.limits),
        }
    }
}

/// One component's `deployment = { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploySpec {
    pub replicas: Option<Replicas>,
    pub resources: Resources,
}

/// The message broker the top-level block names.
#[derive(Clone, Debug, PartialEq)]
pub struct Broker {
    /// `redis` or `nats`.
    pub kind: String,
}

struct Ctx<'a> {
    file: &'a str,
    what: String,
}

impl Ctx<'_> {
    fn err(&self, at: &Raw, message: impl std::fmt::Display, help: &str) -> ExportError {
        ExportError::invalid(
            format!("{}:{}: {}: {message}", self.file, at.at(), self.what),
            help,
        )
    }
}

const DEPLOY_HELP: &str = "write `deployment = { scaling: { replicas: 2 }, resources: { cpu: \"500m\", memory: \"256Mi\" } }` (`mode` is accepted too)";
const SCALING_HELP: &str =
    "write `scaling: 2`, `scaling: { replicas: 2 }` or `scaling: { min: 1, max: 5, target_cpu: 80 }`";
const RESOURCES_HELP: &str = "write `resources: { cpu: \"500m\", memory: \"256Mi\" }` or `resources: { requests: { … }, limits: { … } }`";

/// Reads component `name`'s `deployment = { … }` from `file`.
pub fn component(file: &str, name: &str, v: &Raw) -> Result<DeploySpec, ExportError> {
    let ctx = Ctx {
        file,
        what: format!("`{name}` deployment"),
    };
    let entries = map(&ctx, v, DEPLOY_HELP)?;
    let mut spec = DeploySpec {
        replicas: None,
        resources: Resources::default(),
    };
    for (key, value) in entries {
        match key.as_str() {
            "mode" => {}
            "scaling" => spec.replicas = Some(scaling(&ctx, value)?),
            "resources" => spec.resources = resources(&ctx, value)?,
            other => {
                return Err(ctx.err(
                    value,
                    format!("unknown key `{other}`; accepted: `mode`, `scaling`, `resources`"),
                    DEPLOY_HELP,
                ))
            }
        }
    }
    Ok(spec)
}

/// The broker named by the top-level `deployment = TYPE { message_bus = … }` block, if any.
pub fn system(file: &str, block: &Raw) -> Result<Option<Broker>, ExportError> {
    let ctx = Ctx {
        file,
        what: "the top-level `deployment` block".into(),
    };
    let help = "write `message_bus = redis { redis_url = $REDIS_URL }` or `message_bus = \"redis://host:6379\"`";
    let entries = map(&ctx, block, help)?;
    let Some(bus) = entries.get("message_bus") else {
        return Ok(None);
    };
    let kind = match &bus.kind {
        RawKind::Map { typed: Some(t), .. } => t.clone(),
        RawKind::Str(url) => url.split("://").next().unwrap_or("").to_string(),
        RawKind::Env(_) => "redis".to_string(),
        _ => return Err(ctx.err(bus, "`message_bus` is not a broker", help)),
    };
    match kind.as_str() {
        "redis" | "rediss" => Ok(Some(Broker {
            kind: "redis".into(),
        })),
        "nats" => Ok(Some(Broker {
            kind: "nats".into(),
        })),
        "memory" | "in_memory" | "local" => Ok(None),
        other => Err(ctx.err(
            bus,
            format!("unknown message bus `{other}`; supported: `redis`, `nats`"),
            help,
        )),
    }
}

fn map<'a>(ctx: &Ctx, v: &'a Raw, help: &str) -> Result<&'a BTreeMap<String, Raw>, ExportError> {
    match &v.kind {
        RawKind::Map { entries, .. } => Ok(entries),
        _ => Err(ctx.err(v, "expected a map `{ … }`", help)),
    }
}

fn count(ctx: &Ctx, key: &str, v: &Raw) -> Result<u32, ExportError> {
    match &v.kind {
        RawKind::Int(n) if (1..=i64::from(MAX_REPLICAS)).contains(n) => Ok(*n as u32),
        RawKind::Env(var) => Err(ctx.err(
            v,
            format!("`{key}` comes from ${var}, which export does not read"),
            "write the number itself: the manifests are fixed when exported",
        )),
        _ => Err(ctx.err(
            v,
            format!("`{key}` must be a whole number from 1 to {MAX_REPLICAS}"),
            SCALING_HELP,
        )),
    }
}

fn scaling(ctx: &Ctx, v: &Raw) -> Result<Replicas, ExportError> {
    if let RawKind::Int(_) = v.kind {
        return Ok(Replicas::Fixed(count(ctx, "scaling", v)?));
    }
    let entries = map(ctx, v, SCALING_HELP)?;
    if let Some(unknown) = entries
        .keys()
        .find(|k| !["replicas", "min", "max", "target_cpu"].contains(&k.as_str()))
    {
        return Err(ctx.err(
            v,
            format!("unknown `scaling` key `{unknown}`; accepted: `replicas`, or `min`, `max`, `target_cpu`"),
            SCALING_HELP,
        ));
    }
    match (
        entries.get("replicas"),
        entries.get("min"),
        entries.get("max"),
    ) {
        (Some(r), None, None) if !entries.contains_key("target_cpu") => {
            Ok(Replicas::Fixed(count(ctx, "replicas", r)?))
        }
        (None, Some(min), Some(max)) => {
            let (lo, hi) = (count(ctx, "min", min)?, count(ctx, "max", max)?);
            if lo > hi {
                return Err(ctx.err(
                    v,
                    format!("`min` ({lo}) is larger than `max` ({hi})"),
                    SCALING_HELP,
                ));
            }
            let target_cpu = match entries.get("target_cpu") {
                None => 80,
                Some(t) => match t.kind {
                    RawKind::Int(p) if (1..=100).contains(&p) => p as u32,
                    _ => {
                        return Err(ctx.err(
                            t,
                            "`target_cpu` must be a percentage from 1 to 100",
                            SCALING_HELP,
                        ))
                    }
                },
            };
            Ok(Replicas::Auto {
                min: lo,
                max: hi,
                target_cpu,
            })
        }
        _ => Err(ctx.err(
            v,
            "`scaling` takes either `replicas`, or both `min` and `max`",
            SCALING_HELP,
        )),
    }
}

fn resources(ctx: &Ctx, v: &Raw) -> Result<Resources, ExportError> {
    let entries = map(ctx, v, RESOURCES_HELP)?;
    if entries.contains_key("requests") || entries.contains_key("limits") {
        let mut out = Resources::default();
        for (key, value) in entries {
            let target = match key.as_str() {
                "requests" => &mut out.requests,
                "limits" => &mut out.limits,
                other => {
                    return Err(ctx.err(
                        value,
                        format!("unknown `resources` key `{other}` next to `requests`/`limits`"),
                        RESOURCES_HELP,
                    ))
                }
            };
            *target = quantities(ctx, value)?;
        }
        return Ok(out);
    }
    let both = quantities(ctx, v)?;
    Ok(Resources {
        requests: both.clone(),
        limits: both,
    })
}

fn quantities(ctx: &Ctx, v: &Raw) -> Result<BTreeMap<&'static str, Quantity>, ExportError> {
    let mut out = BTreeMap::new();
    for (key, value) in map(ctx, v, RESOURCES_HELP)? {
        let resource = match key.as_str() {
            "cpu" => Resource::Cpu,
            "memory" => Resource::Memory,
            other => {
                return Err(ctx.err(
                    value,
                    format!("unknown resource `{other}`; accepted: `cpu`, `memory`"),
                    RESOURCES_HELP,
                ))
            }
        };
        let q = match &value.kind {
            RawKind::Str(s) => Quantity::parse(resource, s),
            RawKind::Int(n) => Quantity::from_int(resource, *n),
            RawKind::Float(f) => Quantity::parse(resource, &f.to_string()),
            _ => Err(format!(
                "`{key}` must be a quantity such as \"500m\" or \"256Mi\""
            )),
        }
        .map_err(|m| ctx.err(value, m, RESOURCES_HELP))?;
        out.insert(resource.key(), q);
    }
    Ok(out)
}
