//! `serve --bus … --namespace … --node … --components …|--vm …` (DESIGN.md §7): which broker this
//! process joins, under which name, hosting which components. The file's seed form
//! `deployment = local { message_bus = … }` names the broker when `--bus` does not.

use std::path::Path;
use woodwork_parser::spec::deployment::BusUrl;
use woodwork_parser::{Config, Kind};
use woodwork_runtime::cluster::{default_node_name, sanitize};
use woodwork_runtime::ClusterSpec;

/// What the command line says about the cluster.
#[derive(Clone, Debug, Default)]
pub struct PlacementArgs {
    pub bus: Option<String>,
    pub namespace: Option<String>,
    pub node: Option<String>,
    pub components: Option<Vec<String>>,
    pub vm: Option<String>,
    pub watch: bool,
}

/// The cluster to join, or None for one process on the in-memory bus; an error says what to fix.
pub fn cluster_spec(
    args: &PlacementArgs,
    config: &Config,
    file: &Path,
) -> Result<Option<ClusterSpec>, String> {
    let url = match args.bus.as_deref().map(str::trim) {
        Some("" | "memory" | "memory://") => None,
        Some(url) => Some(url.to_string()),
        None => file_bus(config)?,
    };
    let Some(url) = url else {
        if args.components.is_some() || args.vm.is_some() {
            return Err(
                "--components and --vm place components on the nodes of a cluster: give the broker with --bus redis://… or nats://…"
                    .into(),
            );
        }
        return Ok(None);
    };
    if args.watch {
        return Err("--watch cannot be used with a broker yet: the nodes of a cluster must run the same config; restart the nodes with the edited file instead".into());
    }
    let namespace = match &args.namespace {
        Some(ns) => checked("--namespace", ns)?,
        None => sanitize(
            &file
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "woodwork".into()),
        ),
    };
    let node = match &args.node {
        Some(n) => checked("--node", n)?,
        None => default_node_name(),
    };
    let components = match (&args.components, &args.vm) {
        (Some(_), Some(_)) => {
            return Err("give either --components or --vm, not both".into());
        }
        (Some(list), None) => Some(list.clone()),
        (None, Some(vm)) => Some(vm_components(config, vm)?),
        (None, None) => None,
    };
    Ok(Some(ClusterSpec {
        url,
        namespace,
        node,
        components,
    }))
}

/// A name usable on every broker, or why not.
fn checked(flag: &str, name: &str) -> Result<String, String> {
    if !name.is_empty() && name.len() <= 48 && sanitize(name) == name {
        Ok(name.to_string())
    } else {
        Err(format!(
            "{flag} `{}` cannot name things on a broker: use 1 to 48 letters, digits, `-` or `_`",
            name.escape_debug()
        ))
    }
}

/// The broker URL the file's `deployment` block names, if any.
fn file_bus(config: &Config) -> Result<Option<String>, String> {
    let Some(bus) = config.deployment.as_ref().and_then(|d| d.external_bus()) else {
        return Ok(None);
    };
    match &bus.url {
        Some(BusUrl::Given(secret)) => Ok(Some(secret.expose().to_string())),
        Some(BusUrl::Unresolved(var)) => Err(format!(
            "the file's `deployment` names its message bus through an environment variable that is not set ({var:?}); set it or give --bus"
        )),
        None => Err("the file's `deployment` names a message bus without a URL; give it (`redis_url` / `nats_url`) or pass --bus".into()),
    }
}

/// The components of `vm server NAME { components: [...] }`.
fn vm_components(config: &Config, vm: &str) -> Result<Vec<String>, String> {
    let vms: Vec<&str> = config
        .components
        .iter()
        .filter(|c| c.kind == Kind::Vm)
        .map(|c| c.name.as_str())
        .collect();
    let Some(c) = config.component(vm).filter(|c| c.kind == Kind::Vm) else {
        return Err(if vms.is_empty() {
            format!("--vm `{vm}`: the file declares no `vm server`; declare `{vm} = vm server {{ components: [...] }}` or use --components")
        } else {
            format!(
                "--vm `{vm}` is not a `vm server` of the file; declared: {}",
                vms.join(", ")
            )
        });
    };
    let list = c
        .prop("components")
        .and_then(|v| v.as_list())
        .ok_or_else(|| format!("`{vm}` has no `components: [...]` list"))?;
    let mut out = Vec::new();
    for v in list {
        let name = v
            .as_ref_name()
            .or_else(|| v.as_str())
            .ok_or_else(|| format!("`{vm}`'s components must be component names"))?;
        out.push(name.to_string());
    }
    // The vm itself is hosted too (it takes no messages; its status shows where it runs).
    out.push(vm.to_string());
    Ok(out)
}
