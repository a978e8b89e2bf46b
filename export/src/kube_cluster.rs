//! The Kubernetes manifests of a cluster (DESIGN.md §7, §8): the ConfigMap, a Deployment +
//! Service (+ autoscaler) per placement group, named `<system>-<group>`, each pod running
//! `serve --vm NAME` or `--components a,b` with the broker URL in `WOODWORK_BUS`; and, when the
//! broker runs in the cluster, its StatefulSet and Service ([`crate::kube_broker`]).

use crate::bus::{Placement, BUS_VAR};
use crate::error::ExportError;
use crate::kube::{config_map, manifest, secret_ref, unit_manifests, Manifest, Unit};
use crate::system::System;
use k8s_openapi::api::core::v1::EnvVar;

/// Every manifest of a cluster; `sys.broker` is set.
pub fn manifests(sys: &System) -> Result<Vec<Manifest>, ExportError> {
    let (config_map, items) = config_map(sys)?;
    let mut out = vec![manifest("configmap.yaml", &config_map)?];
    let bus_env: Vec<EnvVar> = match sys.broker.as_ref().map(|b| &b.placement) {
        Some(Placement::InCluster(kind)) => {
            out.extend(crate::kube_broker::manifests(sys, *kind)?);
            vec![EnvVar {
                name: BUS_VAR.into(),
                value: Some(kind.url(&crate::kube_broker::name(sys, *kind))),
                ..EnvVar::default()
            }]
        }
        // Already among the Secret's variables.
        Some(Placement::External { var }) if var == BUS_VAR => Vec::new(),
        // The file names the variable: the same key of the Secret.
        Some(Placement::External { var }) => vec![secret_ref(sys, BUS_VAR, var, false)],
        None => Vec::new(),
    };
    for g in &sys.groups {
        let unit = Unit {
            name: format!("{}-{}", sys.name, g.label),
            component: Some(g.label.clone()),
            args: sys.group_args(g),
            api_ports: &g.api_ports,
            replicas: g.replicas,
            resources: &g.resources,
            extra_env: bus_env.clone(),
            // Sessions live in the broker: any replica serves any client.
            affinity: false,
        };
        out.extend(unit_manifests(
            sys,
            &unit,
            items.clone(),
            &format!("-{}", g.label),
        )?);
    }
    Ok(out)
}
