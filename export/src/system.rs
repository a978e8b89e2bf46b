//! What is deployed, read from a checked config and its source: the name, the files, the
//! environment variables, the ports, replicas and resources. The manifests are rendered from this.

use crate::bus::{self, Broker, Placement};
use crate::deploy::{self, Replicas, Resources};
use crate::error::ExportError;
use crate::files::{Collector, SysFile};
use crate::groups::{self, Group};
use crate::name;
use crate::scan::{self, EnvUse};
use crate::Options;
use woodwork_parser::{Config, HookAction, Kind, Value};

/// The main HTTP port in the container (`serve --port`), unless an `input api` has it.
pub const HTTP_PORT: u16 = 8080;

/// An `input api` component's own port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiPort {
    pub component: String,
    pub port: u16,
    /// Its port name in the manifests (an IANA service name).
    pub name: String,
}

/// A system ready to render: one placement group (one process serves every component), or,
/// with a broker, the [`Group`]s of a cluster.
#[derive(Clone, Debug)]
pub struct System {
    /// Object and service name (a DNS-1123 label).
    pub name: String,
    /// The `.ww` file's path in the working copy.
    pub main_file: String,
    /// The `.ww` and every file it refers to, by path relative to it.
    pub files: Vec<SysFile>,
    /// Every variable the file reads (and the providers' own, when the file sets no key).
    pub env: Vec<EnvUse>,
    pub api_ports: Vec<ApiPort>,
    /// The main server's port: 8080, or the next port no `input api` uses.
    pub http_port: u16,
    pub replicas: Replicas,
    pub resources: Resources,
    /// Python functions or Python hooks need `python3` in the image.
    pub needs_python: bool,
    pub image: String,
    pub drain_timeout_s: u64,
    /// Things that export could not do for the user, to print.
    pub warnings: Vec<String>,
    /// The broker of a cluster; `None`: one process serves everything.
    pub broker: Option<Broker>,
    /// The cluster's placement groups (empty without a broker).
    pub groups: Vec<Group>,
    /// `serve --namespace` of every node: the file's stem, as `serve` would default it.
    pub namespace: String,
}

impl System {
    /// Seconds Kubernetes/Compose wait after SIGTERM before killing: the drain, the 1 s listener
    /// grace (`serve --shutdown-grace`), and 10 s for actors to stop.
    pub fn termination_grace_s(&self) -> u64 {
        self.drain_timeout_s + 1 + 10
    }

    /// The `serve` command line in the container.
    pub fn serve_args(&self) -> Vec<String> {
        vec![
            "serve".into(),
            format!("/app/{}", self.main_file),
            "--host".into(),
            "0.0.0.0".into(),
            "--port".into(),
            self.http_port.to_string(),
            "--drain-timeout".into(),
            self.drain_timeout_s.to_string(),
        ]
    }

    /// The `serve` command line of a cluster group's container. The broker URL is not on it:
    /// `serve` reads it from `WOODWORK_BUS`, so a password in it never shows in a process list;
    /// `--node` is left to its default (the container's host name, i.e. the pod name, + pid).
    pub fn group_args(&self, group: &Group) -> Vec<String> {
        let mut args = self.serve_args();
        args.extend(["--namespace".to_string(), self.namespace.clone()]);
        args.extend(group.selector_args());
        args
    }

    /// Top-level entries of the working copy (what the copy step copies into `/app`).
    pub fn top_level_entries(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .files
            .iter()
            .map(|f| f.rel.split('/').next().unwrap_or("").to_string())
            .collect();
        out.dedup();
        out
    }
}

/// Reads the system of `config` (checked without resolving the environment) and its `source`.
pub fn read(config: &Config, source: &str, opts: &Options) -> Result<System, ExportError> {
    let file = config.path.display().to_string();
    let name = match &opts.name {
        Some(n) => name::validated_name(n).ok_or_else(|| {
            ExportError::invalid(
                format!("`{n}` cannot name Kubernetes objects or Compose projects"),
                "use lowercase letters, digits and `-`, starting with a letter",
            )
        })?,
        None => name::system_name(&config.path),
    };
    let broker = bus::broker(config, opts.bus.as_deref())?;

    let mut warnings = Vec::new();
    let mut specs = Vec::new();
    for c in &config.components {
        let Some(d) = &c.deployment else { continue };
        specs.push((c.name.clone(), deploy::component(&file, c, d)?));
    }
    let mut replicas = Replicas::Fixed(1);
    let mut resources = Resources::default();
    for (_, spec) in &specs {
        resources = resources.plus(&spec.resources);
        let Some(r) = spec.replicas else { continue };
        replicas = match (replicas, r) {
            (Replicas::Fixed(1), r) => r,
            (have, r) => {
                let merged = larger(have, r);
                if broker.is_none() {
                    warnings.push(format!(
                        "several components ask for replicas; one process serves them all, so the system runs {}",
                        describe(merged)
                    ));
                }
                merged
            }
        };
    }
    if broker.is_none() && replicas != Replicas::Fixed(1) {
        warnings.push(format!(
            "{} without a message broker: each replica keeps its own sessions in memory, so clients stick to one replica (Service sessionAffinity: ClientIP); Compose runs 1 replica",
            describe(replicas)
        ));
    }
    if let (None, Replicas::Auto { .. }) = (&broker, replicas) {
        if !resources.requests.contains_key("cpu") {
            return Err(ExportError::invalid(
                format!("{file}: `scaling: {{ min, max }}` scales on CPU use, which needs a CPU request"),
                "add `resources: { cpu: \"500m\" }` to the same `deployment`",
            ));
        }
    }

    let mut files = Collector::new(&config.base_dir())?;
    let main_file = files.main_file(&config.path)?;
    let (mut env, strings) = scan::scan(source);
    for s in &strings {
        files.mention(s)?;
    }
    let mut needs_python = strings
        .iter()
        .any(|s| s.split("::").next().is_some_and(|f| f.ends_with(".py")) && s.contains("::"));
    let mut api_ports: Vec<ApiPort> = Vec::new();
    for c in &config.components {
        needs_python |= c
            .hooks
            .iter()
            .chain(&c.pipes)
            .any(|h| matches!(h.action, HookAction::Python { .. }));
        match (c.kind, c.type_name.as_str()) {
            (Kind::Api, "functions") => {
                needs_python = true;
                if let Some(py) = c.prop_str("python") {
                    if !["python3", "python"].contains(&py) && !py.starts_with("/usr/") {
                        warnings.push(format!(
                            "`{}` runs its functions with `{py}`; the image has `python3` only",
                            c.name
                        ));
                    }
                }
            }
            (Kind::KnowledgeBase, "chroma") => {
                if let Some(f) = c.prop_str("file_to_embed") {
                    files.folder(f)?;
                }
                if c.prop("embedding").is_none() && c.prop("api_key").is_none() {
                    implicit(&mut env, &["OPENAI_API_KEY", "OPENAI_BASE_URL"]);
                }
            }
            (Kind::Llm, "openai") if c.prop("api_key").is_none() => {
                implicit(&mut env, &["OPENAI_API_KEY", "OPENAI_BASE_URL"]);
            }
            (Kind::Llm, "claude") if c.prop("api_key").is_none() => {
                implicit(&mut env, &["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"]);
            }
            (Kind::Mcp, "server") => {
                let program = match c.prop("command") {
                    Some(Value::Str(s)) => s.split_whitespace().next().map(str::to_string),
                    Some(Value::List(l)) => l.first().and_then(Value::as_str).map(str::to_string),
                    _ => None,
                };
                match program.as_deref() {
                    Some("python" | "python3") => needs_python = true,
                    Some(p) if !p.starts_with("./") && !p.starts_with('/') => warnings.push(format!(
                        "`{}` starts `{p}`, which the image does not have: extend the Dockerfile's runtime stage",
                        c.name
                    )),
                    _ => {}
                }
            }
            (Kind::Input, "api") => {
                let port = c.prop("port").and_then(Value::as_i64).unwrap_or(0);
                let Ok(port) = u16::try_from(port) else {
                    continue;
                };
                if port == 0 {
                    warnings.push(format!(
                        "`{}` listens on a random port (`port: 0`), which cannot be published: set a fixed `port`",
                        c.name
                    ));
                    continue;
                }
                let host = c.prop_str("host").unwrap_or("0.0.0.0");
                if ["127.0.0.1", "localhost", "::1"].contains(&host) {
                    warnings.push(format!(
                        "`{}` binds {host}: inside a container nothing outside reaches it; set `host: \"0.0.0.0\"`",
                        c.name
                    ));
                }
                if api_ports.iter().any(|p| p.port == port) {
                    continue;
                }
                let taken: Vec<String> = api_ports.iter().map(|p| p.name.clone()).collect();
                api_ports.push(ApiPort {
                    component: c.name.clone(),
                    port,
                    name: name::port_name(&c.name, port, &taken),
                });
            }
            _ => {}
        }
    }
    let (files, file_warnings) = files.finish();
    warnings.extend(file_warnings);
    if let Some(Broker {
        placement: Placement::External { var },
        ..
    }) = &broker
    {
        if !env.iter().any(|e| &e.name == var) {
            env.push(EnvUse {
                name: var.clone(),
                optional: false,
            });
        }
    }
    env.sort_by(|a, b| a.name.cmp(&b.name));
    let groups = match &broker {
        None => Vec::new(),
        Some(b) => {
            let reserved: Vec<&str> = match &b.placement {
                Placement::InCluster(kind) => vec![kind.as_str(), "files"],
                Placement::External { .. } => vec!["files"],
            };
            let groups = groups::groups(&file, config, &specs, &api_ports, &reserved)?;
            if opts.format == crate::Format::Compose && compose_replicas(&groups) {
                warnings.push("Compose runs 1 container per placement group (each publishes its ports); Kubernetes runs the replicas asked for".into());
            }
            groups
        }
    };
    let mut http_port = HTTP_PORT;
    while api_ports.iter().any(|p| p.port == http_port) {
        http_port += 1;
    }
    let namespace = namespace(&config.path, &name);
    Ok(System {
        namespace,
        name,
        main_file,
        files,
        env,
        api_ports,
        http_port,
        replicas,
        resources,
        needs_python,
        image: opts.image.clone(),
        drain_timeout_s: opts.drain_timeout_s,
        warnings,
        broker,
        groups,
    })
}

/// Whether some group asks for more than the one container per group Compose runs.
fn compose_replicas(groups: &[Group]) -> bool {
    groups.iter().any(|g| g.replicas != Replicas::Fixed(1))
}

/// `serve`'s default namespace for the file (its stem, when that is a name every broker
/// accepts), so nodes started by hand and exported ones meet; else the system's name.
fn namespace(path: &std::path::Path, system: &str) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let ok = !stem.is_empty()
        && stem.len() <= 48
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        stem.to_string()
    } else {
        system.to_string()
    }
}

/// The larger of two replica requests (autoscaling wins over a fixed count).
pub fn larger(a: Replicas, b: Replicas) -> Replicas {
    match (a, b) {
        (Replicas::Fixed(x), Replicas::Fixed(y)) => Replicas::Fixed(x.max(y)),
        (Replicas::Auto { .. }, Replicas::Fixed(_)) => a,
        (Replicas::Fixed(_), Replicas::Auto { .. }) => b,
        (
            Replicas::Auto {
                min,
                max,
                target_cpu,
            },
            Replicas::Auto {
                min: m2,
                max: x2,
                target_cpu: t2,
            },
        ) => Replicas::Auto {
            min: min.max(m2),
            max: max.max(x2),
            target_cpu: target_cpu.min(t2),
        },
    }
}

fn describe(r: Replicas) -> String {
    match r {
        Replicas::Fixed(n) => format!("{n} replicas"),
        Replicas::Auto { min, max, .. } => format!("{min} to {max} replicas"),
    }
}

/// Variables a provider reads when the file names no key: optional, unless the file uses them.
fn implicit(env: &mut Vec<EnvUse>, names: &[&str]) {
    for n in names {
        if !env.iter().any(|e| e.name == *n) {
            env.push(EnvUse {
                name: (*n).to_string(),
                optional: true,
            });
        }
    }
}
