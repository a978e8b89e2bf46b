//! Placement groups of a cluster export (DESIGN.md §7, §8): one per `vm server` declaration
//! (started with `serve --vm NAME`) and one, `main`, for every component no vm lists (started with
//! `serve --components a,b,…`; left out when there is none). Each becomes a Compose service or a
//! Kubernetes Deployment + Service; its replicas are the largest any of its components asks for,
//! its resources their sum.

use crate::deploy::{DeploySpec, Replicas, Resources};
use crate::error::ExportError;
use crate::name;
use crate::system::{larger, ApiPort};
use woodwork_parser::{Config, Kind};

/// How a group's `serve` picks its components.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `--vm NAME`: the components of `NAME = vm server { components: [...] }`.
    Vm(String),
    /// `--components a,b,…`.
    Components(Vec<String>),
}

/// One placement group: the processes that host the same components.
#[derive(Clone, Debug)]
pub struct Group {
    /// A DNS-1123 label naming its Compose service / Kubernetes objects (after the vm, or `main`).
    pub label: String,
    pub selector: Selector,
    /// The components it hosts (for the README and the ports it opens).
    pub components: Vec<String>,
    pub replicas: Replicas,
    pub resources: Resources,
    /// The `input api` ports of its components.
    pub api_ports: Vec<ApiPort>,
}

impl Group {
    /// The `serve` options that select its components.
    pub fn selector_args(&self) -> Vec<String> {
        match &self.selector {
            Selector::Vm(vm) => vec!["--vm".into(), vm.clone()],
            Selector::Components(list) => vec!["--components".into(), list.join(",")],
        }
    }
}

/// The groups of `config`: `main` first (when any component is outside every vm), then the vms
/// in declaration order. `specs` are the components' `deployment` settings, `reserved` names the
/// groups may not take (the broker's service).
pub fn groups(
    file: &str,
    config: &Config,
    specs: &[(String, DeploySpec)],
    api_ports: &[ApiPort],
    reserved: &[&str],
) -> Result<Vec<Group>, ExportError> {
    let mut vms: Vec<(String, Vec<String>)> = Vec::new();
    for c in config.components.iter().filter(|c| c.kind == Kind::Vm) {
        let list = c
            .prop("components")
            .and_then(|v| v.as_list())
            .ok_or_else(|| {
                ExportError::invalid(
                    format!(
                        "{file}:{}:{}: `{}` has no `components: [...]` list",
                        c.span.line, c.span.col, c.name
                    ),
                    format!(
                        "list what it hosts: `{} = vm server {{ components: [a, b] }}`",
                        c.name
                    ),
                )
            })?;
        let mut hosted: Vec<String> = list
            .iter()
            .filter_map(|v| v.as_ref_name().or_else(|| v.as_str()))
            .map(str::to_string)
            .collect();
        // `serve --vm` hosts the vm itself too.
        hosted.push(c.name.clone());
        vms.push((c.name.clone(), hosted));
    }
    let rest: Vec<String> = config
        .components
        .iter()
        .filter(|c| c.kind != Kind::Vm && !vms.iter().any(|(_, l)| l.contains(&c.name)))
        .map(|c| c.name.clone())
        .collect();

    let mut taken: Vec<String> = reserved.iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    let mut wanted: Vec<(String, Selector, Vec<String>)> = Vec::new();
    if !rest.is_empty() {
        wanted.push(("main".into(), Selector::Components(rest.clone()), rest));
    }
    for (vm, hosted) in vms {
        wanted.push((vm.clone(), Selector::Vm(vm), hosted));
    }
    for (raw, selector, components) in wanted {
        let label = unique(&raw, &taken);
        taken.push(label.clone());
        let mut replicas = Replicas::Fixed(1);
        let mut resources = Resources::default();
        for (_, spec) in specs.iter().filter(|(n, _)| components.contains(n)) {
            resources = resources.plus(&spec.resources);
            if let Some(r) = spec.replicas {
                replicas = larger(replicas, r);
            }
        }
        if matches!(replicas, Replicas::Auto { .. }) && !resources.requests.contains_key("cpu") {
            return Err(ExportError::invalid(
                format!("{file}: placement group `{raw}` scales on CPU use (`scaling: {{ min, max }}`), which needs a CPU request"),
                "add `resources: { cpu: \"500m\" }` to the `deployment` of one of its components",
            ));
        }
        out.push(Group {
            api_ports: api_ports
                .iter()
                .filter(|p| components.contains(&p.component))
                .cloned()
                .collect(),
            label,
            selector,
            components,
            replicas,
            resources,
        });
    }
    Ok(out)
}

/// `raw` as a label no other group or the broker has.
fn unique(raw: &str, taken: &[String]) -> String {
    let base = name::dns_label(raw, 30).unwrap_or_else(|| "group".into());
    let base = if base.starts_with(|c: char| c.is_ascii_digit()) {
        format!("g-{base}")
    } else {
        base
    };
    let mut label = base.clone();
    let mut n = 2;
    while taken.contains(&label) {
        label = format!("{base}-{n}");
        n += 1;
    }
    label
}
