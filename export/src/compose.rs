//! The Compose file as typed structures (the subset of the Compose specification export writes;
//! unknown fields are refused when reading one back): a copy step that fills the `app` volume
//! with the `.ww` and its files, and the server (or a cluster's groups and broker).

use crate::deploy::Resources;
use crate::error::ExportError;
use crate::kube::UID;
use crate::quantity::Quantity;
use crate::system::System;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A Compose file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeFile {
    /// The project name (containers are named after it).
    pub name: String,
    pub services: BTreeMap<String, ComposeService>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, ComposeVolume>,
}

/// One service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeService {
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, DependsOn>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortMapping>,
    /// Variables passed through from the environment Compose runs in (`null` = no value here).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, Option<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
}

/// A published port in the long form (the short `"8080:8080"` reads as a base-60 number to
/// YAML 1.1 parsers unless quoted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortMapping {
    pub target: u16,
    pub published: String,
    pub protocol: String,
}

/// `depends_on: { svc: { condition } }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependsOn {
    pub condition: String,
}

/// A named volume (defaults only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeVolume {}

/// `deploy: { resources }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    pub resources: DeployResources,
}

/// `resources: { limits, reservations }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployResources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceAmounts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations: Option<ResourceAmounts>,
}

/// `{ cpus, memory }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceAmounts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

fn amounts(m: &BTreeMap<&'static str, Quantity>) -> Option<ResourceAmounts> {
    (!m.is_empty()).then(|| ResourceAmounts {
        cpus: m.get("cpu").map(Quantity::compose_text),
        memory: m.get("memory").map(Quantity::compose_text),
    })
}

fn deploy(r: &Resources) -> Option<Deploy> {
    let resources = DeployResources {
        limits: amounts(&r.limits),
        reservations: amounts(&r.requests),
    };
    (resources != DeployResources::default()).then_some(Deploy { resources })
}

/// Runs a service as the image's non-root user with a read-only root and no capabilities.
pub(crate) fn hardened(mut s: ComposeService) -> ComposeService {
    // The uid alone: the image's passwd gives its group; `uid:gid` would be a base-60 number
    // to YAML 1.1 parsers.
    s.user = Some(UID.to_string());
    s.read_only = Some(true);
    s.cap_drop = vec!["ALL".into()];
    s.security_opt = vec!["no-new-privileges:true".into()];
    s
}

/// The name of the step that fills the `app` volume.
pub(crate) fn copy_service_name(sys: &System) -> String {
    format!("{}-files", sys.name)
}

/// The step that fills the `app` volume with the .ww and its files before the server starts.
pub(crate) fn copier(sys: &System) -> ComposeService {
    let mut copy = vec!["cp".to_string(), "-R".to_string()];
    copy.extend(
        sys.top_level_entries()
            .iter()
            .map(|e| format!("/system/{e}")),
    );
    copy.push("/app/".into());
    hardened(ComposeService {
        image: sys.image.clone(),
        entrypoint: Some(copy),
        volumes: vec!["./system:/system:ro".into(), "app:/app".into()],
        ..ComposeService::default()
    })
}

/// A TCP port published under the same number.
pub(crate) fn port(p: u16) -> PortMapping {
    PortMapping {
        target: p,
        published: p.to_string(),
        protocol: "tcp".into(),
    }
}

/// A server container of the system: the copy step done first, the working copy mounted, a
/// stop grace above the drain, restarted unless stopped.
pub(crate) fn server(
    sys: &System,
    command: Vec<String>,
    ports: Vec<PortMapping>,
    environment: BTreeMap<String, Option<String>>,
    resources: &Resources,
) -> ComposeService {
    hardened(ComposeService {
        image: sys.image.clone(),
        command: Some(command),
        working_dir: Some("/app".into()),
        depends_on: BTreeMap::from([(
            copy_service_name(sys),
            DependsOn {
                condition: "service_completed_successfully".into(),
            },
        )]),
        ports,
        environment,
        volumes: vec!["app:/app".into()],
        tmpfs: vec!["/tmp".into()],
        stop_grace_period: Some(format!("{}s", sys.termination_grace_s())),
        restart: Some("unless-stopped".into()),
        deploy: deploy(resources),
        ..ComposeService::default()
    })
}

/// Every variable the file reads, passed through by name from the shell or `.env`.
pub(crate) fn pass_through(sys: &System) -> BTreeMap<String, Option<String>> {
    sys.env.iter().map(|e| (e.name.clone(), None)).collect()
}

/// The Compose file of `sys`; its files are in `./system` next to it. With a broker: one
/// service per placement group and the broker ([`crate::compose_cluster`]).
pub fn compose(sys: &System) -> ComposeFile {
    if sys.broker.is_some() {
        return crate::compose_cluster::compose(sys);
    }
    let mut ports = vec![port(sys.http_port)];
    ports.extend(sys.api_ports.iter().map(|p| port(p.port)));
    let server = server(
        sys,
        sys.serve_args(),
        ports,
        pass_through(sys),
        &sys.resources,
    );
    ComposeFile {
        name: sys.name.clone(),
        services: BTreeMap::from([
            (copy_service_name(sys), copier(sys)),
            (sys.name.clone(), server),
        ]),
        volumes: BTreeMap::from([("app".to_string(), ComposeVolume::default())]),
    }
}

/// `compose.yaml`'s text.
pub fn compose_yaml(sys: &System) -> Result<String, ExportError> {
    crate::yaml::to_yaml("compose.yaml", &compose(sys))
}
