//! Kubernetes manifests as typed `k8s-openapi` objects (API 1.37): a ConfigMap with the `.ww`
//! and its files, a Deployment (probes, resources, secret references, a copy step that gives the
//! files a writable working directory), a Service, and a HorizontalPodAutoscaler for `min`/`max`.

use crate::deploy::{Replicas, Resources};
use crate::error::ExportError;
use crate::quantity::Quantity;
use crate::system::{ApiPort, System};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvVar, EnvVarSource, HTTPGetAction, KeyToPath, PodSecurityContext, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext, Service,
    ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use std::collections::BTreeMap;

/// Most bytes of files a ConfigMap may carry: Kubernetes stores at most 1 MiB per object, and
/// the object's own fields need some of it.
pub const CONFIGMAP_MAX_BYTES: usize = 1_000_000;

/// The uid/gid the image runs as (the Dockerfile creates it).
pub const UID: i64 = 10001;

/// The bearer token `serve` reads; referenced from the Secret when present there.
const AUTH_TOKEN_VAR: &str = "WOODWORK_AUTH_TOKEN";

/// One manifest file: its name in the output directory and its YAML.
pub struct Manifest {
    pub file: String,
    pub yaml: String,
}

/// One Deployment's worth of the system: the whole system, or one placement group of a cluster.
pub(crate) struct Unit<'a> {
    /// The Deployment's, Service's and autoscaler's name.
    pub name: String,
    /// `app.kubernetes.io/component` of a cluster's group (its pods must not match another's).
    pub component: Option<String>,
    pub args: Vec<String>,
    pub api_ports: &'a [ApiPort],
    pub replicas: Replicas,
    pub resources: &'a Resources,
    /// Variables besides the Secret's (the broker URL of a cluster).
    pub extra_env: Vec<EnvVar>,
    /// Pin clients to one replica: sessions live in its memory (no broker).
    pub affinity: bool,
}

/// Every manifest of `sys`.
pub fn manifests(sys: &System) -> Result<Vec<Manifest>, ExportError> {
    if sys.broker.is_some() {
        return crate::kube_cluster::manifests(sys);
    }
    let (config_map, items) = config_map(sys)?;
    let unit = Unit {
        name: sys.name.clone(),
        component: None,
        args: sys.serve_args(),
        api_ports: &sys.api_ports,
        replicas: sys.replicas,
        resources: &sys.resources,
        extra_env: Vec::new(),
        affinity: sys.replicas != Replicas::Fixed(1),
    };
    let mut out = vec![manifest("configmap.yaml", &config_map)?];
    out.extend(unit_manifests(sys, &unit, items, "")?);
    Ok(out)
}

/// The Deployment, Service and (for `min`/`max`) autoscaler of `unit`, in files named
/// `deployment{suffix}.yaml` and so on.
pub(crate) fn unit_manifests(
    sys: &System,
    unit: &Unit,
    items: Vec<KeyToPath>,
    suffix: &str,
) -> Result<Vec<Manifest>, ExportError> {
    let mut out = vec![
        manifest(
            &format!("deployment{suffix}.yaml"),
            &deployment(sys, unit, items),
        )?,
        manifest(&format!("service{suffix}.yaml"), &service(sys, unit))?,
    ];
    if let Replicas::Auto {
        min,
        max,
        target_cpu,
    } = unit.replicas
    {
        out.push(manifest(
            &format!("hpa{suffix}.yaml"),
            &autoscaler(sys, unit, min, max, target_cpu),
        )?);
    }
    Ok(out)
}

pub(crate) fn manifest<T: serde::Serialize>(file: &str, obj: &T) -> Result<Manifest, ExportError> {
    Ok(Manifest {
        file: file.to_string(),
        yaml: crate::yaml::to_yaml(file, obj)?,
    })
}

/// The labels of the system's objects; `component` tells a cluster's groups and broker apart.
pub(crate) fn labels(sys: &System, component: Option<&str>) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), sys.name.clone()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            "woodwork-actors-export".to_string(),
        ),
    ]);
    if let Some(c) = component {
        l.insert("app.kubernetes.io/component".into(), c.to_string());
    }
    l
}

/// The labels selecting the pods of one Deployment / StatefulSet.
pub(crate) fn selector(sys: &System, component: Option<&str>) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([("app.kubernetes.io/name".to_string(), sys.name.clone())]);
    if let Some(c) = component {
        l.insert("app.kubernetes.io/component".into(), c.to_string());
    }
    l
}

pub(crate) fn meta(sys: &System, name: String, component: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        labels: Some(labels(sys, component)),
        ..ObjectMeta::default()
    }
}

/// The ConfigMap, and where each of its keys goes in the working copy.
pub(crate) fn config_map(sys: &System) -> Result<(ConfigMap, Vec<KeyToPath>), ExportError> {
    let mut data = BTreeMap::new();
    let mut binary = BTreeMap::new();
    let mut items = Vec::new();
    let mut size = 0usize;
    for f in &sys.files {
        let mut key: String = f
            .rel
            .replace('/', "__")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        key.truncate(240);
        let base = key.clone();
        let mut n = 2;
        while data.contains_key(&key) || binary.contains_key(&key) {
            key = format!("{base}-{n}");
            n += 1;
        }
        match std::str::from_utf8(&f.bytes) {
            Ok(text) => {
                size += text.len();
                data.insert(key.clone(), text.to_string());
            }
            Err(_) => {
                size += f.bytes.len().div_ceil(3) * 4;
                binary.insert(key.clone(), ByteString(f.bytes.clone()));
            }
        }
        items.push(KeyToPath {
            key,
            path: f.rel.clone(),
            ..KeyToPath::default()
        });
    }
    if size > CONFIGMAP_MAX_BYTES {
        return Err(ExportError::invalid(
            format!(
                "the .ww file and the files it refers to take {size} bytes; a ConfigMap holds at most {CONFIGMAP_MAX_BYTES}"
            ),
            "use `--format compose`, serve large documents from a Chroma server (`url:`), or move them out of the folder the .ww refers to",
        ));
    }
    let cm = ConfigMap {
        metadata: meta(sys, format!("{}-files", sys.name), None),
        data: (!data.is_empty()).then_some(data),
        binary_data: (!binary.is_empty()).then_some(binary),
        ..ConfigMap::default()
    };
    Ok((cm, items))
}

fn quantities(m: &BTreeMap<&'static str, Quantity>) -> Option<BTreeMap<String, KQuantity>> {
    (!m.is_empty()).then(|| {
        m.iter()
            .map(|(k, q)| (k.to_string(), KQuantity(q.to_string())))
            .collect()
    })
}

fn resources(r: &Resources) -> Option<ResourceRequirements> {
    (!r.requests.is_empty() || !r.limits.is_empty()).then(|| ResourceRequirements {
        requests: quantities(&r.requests),
        limits: quantities(&r.limits),
        ..ResourceRequirements::default()
    })
}

/// A variable read from key `key` of the system's Secret.
pub(crate) fn secret_ref(sys: &System, name: &str, key: &str, optional: bool) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: sys.name.clone(),
                key: key.to_string(),
                optional: optional.then_some(true),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn secret_env(sys: &System) -> Vec<EnvVar> {
    let mut vars: Vec<(&str, bool)> = sys
        .env
        .iter()
        .map(|e| (e.name.as_str(), e.optional))
        .collect();
    if !vars.iter().any(|(n, _)| *n == AUTH_TOKEN_VAR) {
        vars.push((AUTH_TOKEN_VAR, true));
    }
    vars.sort();
    vars.into_iter()
        .map(|(name, optional)| secret_ref(sys, name, name, optional))
        .collect()
}

pub(crate) fn probe(path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::String("http".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

pub(crate) fn locked_down() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(UID),
        run_as_group: Some(UID),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    }
}

pub(crate) fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

fn deployment(sys: &System, unit: &Unit, items: Vec<KeyToPath>) -> Deployment {
    let component = unit.component.as_deref();
    let mut ports = vec![ContainerPort {
        name: Some("http".into()),
        container_port: i32::from(sys.http_port),
        ..ContainerPort::default()
    }];
    ports.extend(unit.api_ports.iter().map(|p| ContainerPort {
        name: Some(p.name.clone()),
        container_port: i32::from(p.port),
        ..ContainerPort::default()
    }));
    // ConfigMap volumes are read-only; the system gets a writable copy (knowledge files it
    // writes, the embedded vector store) with every relative path where the .ww expects it.
    let mut copy = vec!["cp".to_string(), "-RL".to_string()];
    copy.extend(
        sys.top_level_entries()
            .iter()
            .map(|e| format!("/system/{e}")),
    );
    copy.push("/app/".into());
    let copier = Container {
        name: "system-files".into(),
        image: Some(sys.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(copy),
        volume_mounts: Some(vec![
            mount("system", "/system", true),
            mount("app", "/app", false),
        ]),
        security_context: Some(locked_down()),
        ..Container::default()
    };
    let server = Container {
        name: "woodwork-actors".into(),
        image: Some(sys.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(unit.args.clone()),
        working_dir: Some("/app".into()),
        ports: Some(ports),
        env: Some(
            unit.extra_env
                .iter()
                .cloned()
                .chain(secret_env(sys))
                .collect(),
        ),
        resources: resources(unit.resources),
        startup_probe: Some(probe("/livez", 2, 60)),
        liveness_probe: Some(probe("/livez", 10, 3)),
        readiness_probe: Some(probe("/readyz", 5, 2)),
        volume_mounts: Some(vec![
            mount("app", "/app", false),
            mount("tmp", "/tmp", false),
        ]),
        security_context: Some(locked_down()),
        ..Container::default()
    };
    let empty = |limit: &str| EmptyDirVolumeSource {
        size_limit: Some(KQuantity(limit.into())),
        ..EmptyDirVolumeSource::default()
    };
    let volumes = vec![
        Volume {
            name: "system".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: format!("{}-files", sys.name),
                items: Some(items),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        Volume {
            name: "app".into(),
            empty_dir: Some(empty("1Gi")),
            ..Volume::default()
        },
        Volume {
            name: "tmp".into(),
            empty_dir: Some(empty("256Mi")),
            ..Volume::default()
        },
    ];
    let grace = i64::try_from(sys.termination_grace_s()).unwrap_or(i64::MAX);
    Deployment {
        metadata: meta(sys, unit.name.clone(), component),
        spec: DeploymentSpec {
            replicas: match unit.replicas {
                Replicas::Fixed(n) => Some(i32::try_from(n).unwrap_or(1)),
                Replicas::Auto { .. } => None,
            },
            selector: LabelSelector {
                match_labels: Some(selector(sys, component)),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(sys, component)),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    init_containers: Some(vec![copier]),
                    containers: vec![server],
                    volumes: Some(volumes),
                    termination_grace_period_seconds: Some(grace),
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(UID),
                        run_as_group: Some(UID),
                        fs_group: Some(UID),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..SeccompProfile::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

fn service(sys: &System, unit: &Unit) -> Service {
    let mut ports = vec![ServicePort {
        name: Some("http".into()),
        port: i32::from(sys.http_port),
        target_port: Some(IntOrString::String("http".into())),
        ..ServicePort::default()
    }];
    ports.extend(unit.api_ports.iter().map(|p| ServicePort {
        name: Some(p.name.clone()),
        port: i32::from(p.port),
        target_port: Some(IntOrString::String(p.name.clone())),
        ..ServicePort::default()
    }));
    Service {
        metadata: meta(sys, unit.name.clone(), unit.component.as_deref()),
        spec: Some(ServiceSpec {
            selector: Some(selector(sys, unit.component.as_deref())),
            ports: Some(ports),
            // Without a broker, sessions live in one process's memory (DESIGN.md §7).
            session_affinity: unit.affinity.then(|| "ClientIP".into()),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn autoscaler(
    sys: &System,
    unit: &Unit,
    min: u32,
    max: u32,
    target_cpu: u32,
) -> HorizontalPodAutoscaler {
    let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    HorizontalPodAutoscaler {
        metadata: meta(sys, unit.name.clone(), unit.component.as_deref()),
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: unit.name.clone(),
            },
            min_replicas: Some(int(min)),
            max_replicas: int(max),
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(int(target_cpu)),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            ..HorizontalPodAutoscalerSpec::default()
        },
        ..HorizontalPodAutoscaler::default()
    }
}
