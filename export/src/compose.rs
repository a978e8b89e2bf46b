//! The Compose file as typed structures (the subset of the Compose specification export writes;
//! unknown fields are refused when reading one back): a copy step that fills the `app` volume
//! with the `.ww` and its files, and the server.

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

/// The Compose file of `sys`; its files are in `./system` next to it.
pub fn compose(sys: &System) -> ComposeFile {
    // The uid alone: the image's passwd gives its group; `uid:gid` would be a base-60 number
    // to YAML 1.1 parsers.
    let user = UID.to_string();
    // The step that fills the `app` volume with the .ww and its files before the server starts.
    let copy_service = format!("{}-files", sys.name);
    let mut copy = vec!["cp".to_string(), "-R".to_string()];
    copy.extend(
        sys.top_level_entries()
            .iter()
            .map(|e| format!("/system/{e}")),
    );
    copy.push("/app/".into());
    let hardened = |mut s: ComposeService| {
        s.user = Some(user.clone());
        s.read_only = Some(true);
        s.cap_drop = vec!["ALL".into()];
        s.security_opt = vec!["no-new-privileges:true".into()];
        s
    };
    let copier = hardened(ComposeService {
        image: sys.image.clone(),
        entrypoint: Some(copy),
        volumes: vec!["./system:/system:ro".into(), "app:/app".into()],
        ..ComposeService::default()
    });
    let port = |p: u16| PortMapping {
        target: p,
        published: p.to_string(),
        protocol: "tcp".into(),
    };
    let mut ports = vec![port(sys.http_port)];
    ports.extend(sys.api_ports.iter().map(|p| port(p.port)));
    let server = hardened(ComposeService {
        image: sys.image.clone(),
        command: Some(sys.serve_args()),
        working_dir: Some("/app".into()),
        depends_on: BTreeMap::from([(
            copy_service.clone(),
            DependsOn {
                condition: "service_completed_successfully".into(),
            },
        )]),
        ports,
        environment: sys.env.iter().map(|e| (e.name.clone(), None)).collect(),
        volumes: vec!["app:/app".into()],
        tmpfs: vec!["/tmp".into()],
        stop_grace_period: Some(format!("{}s", sys.termination_grace_s())),
        restart: Some("unless-stopped".into()),
        deploy: deploy(&sys.resources),
        ..ComposeService::default()
    });
    ComposeFile {
        name: sys.name.clone(),
        services: BTreeMap::from([(copy_service, copier), (sys.name.clone(), server)]),
        volumes: BTreeMap::from([("app".to_string(), ComposeVolume::default())]),
    }
}

/// `compose.yaml`'s text.
pub fn compose_yaml(sys: &System) -> Result<String, ExportError> {
    crate::yaml::to_yaml("compose.yaml", &compose(sys))
}
