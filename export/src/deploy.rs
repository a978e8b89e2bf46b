//! The seed documents' deployment settings as the manifests need them, from the checked config
//! (the parser validates and types them, `spec::deployment`): replicas and resources of a
//! component's `deployment = { mode, scaling, resources }`.
//!
//! `scaling: { replicas: n }` is a fixed count; `scaling: { min, max }` becomes a
//! HorizontalPodAutoscaler at [`TARGET_CPU`] % CPU. `resources: { cpu, memory }` are both requests
//! and limits (a predictable, Guaranteed-class pod). `mode` is not used by export.

use crate::error::ExportError;
use crate::quantity::{Quantity, Resource};
use std::collections::BTreeMap;
use woodwork_parser::spec::{ComponentDeployment, Scaling};
use woodwork_parser::Component;

/// CPU utilisation (percent of the request) the autoscaler keeps.
pub const TARGET_CPU: u32 = 80;

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

/// One component's replicas and resources.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploySpec {
    pub replicas: Option<Replicas>,
    pub resources: Resources,
}

/// Reads component `c`'s `deployment`, refusing a quantity export cannot add up.
pub fn component(
    file: &str,
    c: &Component,
    d: &ComponentDeployment,
) -> Result<DeploySpec, ExportError> {
    let replicas = d.scaling.map(|s| match s {
        Scaling::Replicas(n) => Replicas::Fixed(n),
        Scaling::Range { min, max } => Replicas::Auto {
            min,
            max,
            target_cpu: TARGET_CPU,
        },
    });
    let mut both = BTreeMap::new();
    if let Some(r) = &d.resources {
        for (resource, value) in [(Resource::Cpu, &r.cpu), (Resource::Memory, &r.memory)] {
            let Some(text) = value else { continue };
            let q = Quantity::parse(resource, text).map_err(|m| {
                ExportError::invalid(
                    format!(
                        "{file}:{}:{}: `{}` deployment: {m}",
                        c.span.line, c.span.col, c.name
                    ),
                    "write `resources: { cpu: \"500m\", memory: \"256Mi\" }`",
                )
            })?;
            both.insert(resource.key(), q);
        }
    }
    Ok(DeploySpec {
        replicas,
        resources: Resources {
            requests: both.clone(),
            limits: both,
        },
    })
}
