//! The broker of a cluster when it runs in Kubernetes (DESIGN.md §7, §8): a one-replica
//! StatefulSet (Redis with its append-only file, or NATS with JetStream) whose data lives on a
//! PersistentVolumeClaim, so queued work and sessions survive the broker's restart, and a
//! Service the groups reach it by (`<system>-redis:6379` / `<system>-nats:4222`).

use crate::bus::BrokerKind;
use crate::error::ExportError;
use crate::kube::{labels, manifest, meta, mount, selector, Manifest};
use crate::system::System;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile, SecurityContext, Service,
    ServicePort, ServiceSpec, TCPSocketAction, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// Size of the broker's volume claim.
const DATA_SIZE: &str = "1Gi";

/// The broker's StatefulSet and Service name.
pub fn name(sys: &System, kind: BrokerKind) -> String {
    format!("{}-{}", sys.name, kind.as_str())
}

/// Image, arguments and the non-root user of the broker's container (the images' own users:
/// `redis` is uid 999 / gid 1000; the NATS server needs no user of its image).
fn container_spec(kind: BrokerKind) -> (&'static str, Vec<&'static str>, i64, i64) {
    match kind {
        BrokerKind::Redis => (
            "redis:7-alpine",
            vec!["redis-server", "--appendonly", "yes", "--dir", "/data"],
            999,
            1000,
        ),
        BrokerKind::Nats => ("nats:2.10-alpine", vec!["-js", "-sd", "/data"], 1000, 1000),
    }
}

/// The StatefulSet and Service of the in-cluster broker.
pub fn manifests(sys: &System, kind: BrokerKind) -> Result<Vec<Manifest>, ExportError> {
    let name = name(sys, kind);
    let component = Some(kind.as_str());
    let (image, args, uid, gid) = container_spec(kind);
    let port_name = kind.as_str().to_string();
    let tcp = || Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String(port_name.clone()),
            ..TCPSocketAction::default()
        }),
        period_seconds: Some(5),
        ..Probe::default()
    };
    let container = Container {
        name: kind.as_str().into(),
        image: Some(image.into()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(args.into_iter().map(str::to_string).collect()),
        ports: Some(vec![ContainerPort {
            name: Some(port_name.clone()),
            container_port: i32::from(kind.port()),
            ..ContainerPort::default()
        }]),
        readiness_probe: Some(tcp()),
        liveness_probe: Some(tcp()),
        volume_mounts: Some(vec![mount("data", "/data", false)]),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(uid),
            run_as_group: Some(gid),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    };
    let claim = PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    KQuantity(DATA_SIZE.into()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    };
    let set = StatefulSet {
        metadata: meta(sys, name.clone(), component),
        spec: StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(name.clone()),
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
                    containers: vec![container],
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        fs_group: Some(gid),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..SeccompProfile::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    ..PodSpec::default()
                }),
            },
            volume_claim_templates: Some(vec![claim]),
            ..StatefulSetSpec::default()
        },
        ..StatefulSet::default()
    };
    let service = Service {
        metadata: meta(sys, name.clone(), component),
        spec: Some(ServiceSpec {
            selector: Some(selector(sys, component)),
            ports: Some(vec![ServicePort {
                name: Some(port_name.clone()),
                port: i32::from(kind.port()),
                target_port: Some(IntOrString::String(port_name)),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    let file = kind.as_str();
    Ok(vec![
        manifest(&format!("{file}-statefulset.yaml"), &set)?,
        manifest(&format!("{file}-service.yaml"), &service)?,
    ])
}
