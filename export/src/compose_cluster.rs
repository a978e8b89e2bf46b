//! The Compose file of a cluster (DESIGN.md §7, §8): the copy step, one service per placement
//! group (`serve --vm NAME` or `--components a,b`, the broker URL in `WOODWORK_BUS`), and, when
//! the broker runs here, a `redis` or `nats` service with a named volume. Each group publishes the
//! HTTP API on its own host port (8080, 8081, … : every node serves the whole API) and the
//! `input api` ports of its components.

use crate::bus::{BrokerKind, Placement, BUS_VAR};
use crate::compose::{
    copier, copy_service_name, pass_through, port, server, ComposeFile, ComposeService,
    ComposeVolume, DependsOn, PortMapping,
};
use crate::system::System;
use std::collections::BTreeMap;

/// The broker's Compose service and its volume's name.
fn broker_service(kind: BrokerKind) -> (ComposeService, String) {
    let volume = format!("{}-data", kind.as_str());
    let (image, command) = match kind {
        // Append-only file: queued work and sessions survive a restart of the broker.
        BrokerKind::Redis => (
            "redis:7-alpine",
            vec!["redis-server", "--appendonly", "yes"],
        ),
        // JetStream on, stored in the volume.
        BrokerKind::Nats => ("nats:2.10-alpine", vec!["-js", "-sd", "/data"]),
    };
    let service = ComposeService {
        image: image.into(),
        command: Some(command.into_iter().map(str::to_string).collect()),
        volumes: vec![format!("{volume}:/data")],
        restart: Some("unless-stopped".into()),
        ..ComposeService::default()
    };
    (service, volume)
}

/// The cluster's Compose file; `sys.broker` is set.
pub fn compose(sys: &System) -> ComposeFile {
    let mut services = BTreeMap::from([(copy_service_name(sys), copier(sys))]);
    let mut volumes = BTreeMap::from([("app".to_string(), ComposeVolume::default())]);
    let mut env = pass_through(sys);
    let mut broker_name = None;
    match sys.broker.as_ref().map(|b| &b.placement) {
        Some(Placement::InCluster(kind)) => {
            let (service, volume) = broker_service(*kind);
            services.insert(kind.as_str().to_string(), service);
            volumes.insert(volume, ComposeVolume::default());
            env.insert(BUS_VAR.into(), Some(kind.url(kind.as_str())));
            broker_name = Some(kind.as_str().to_string());
        }
        // The URL (it may hold a password) stays in the shell or `.env`: passed through by name,
        // or from the variable the file names.
        Some(Placement::External { var }) if var != BUS_VAR => {
            env.insert(BUS_VAR.into(), Some(format!("${{{var}}}")));
        }
        Some(Placement::External { .. }) | None => {
            env.insert(BUS_VAR.into(), None);
        }
    }

    let mut used: Vec<u16> = sys.api_ports.iter().map(|p| p.port).collect();
    let mut next = sys.http_port;
    let mut published_api: Vec<u16> = Vec::new();
    for g in &sys.groups {
        while used.contains(&next) {
            next += 1;
        }
        used.push(next);
        let mut ports = vec![PortMapping {
            target: sys.http_port,
            published: next.to_string(),
            protocol: "tcp".into(),
        }];
        // A port is published once, by the first group hosting its input.
        for p in &g.api_ports {
            if !published_api.contains(&p.port) {
                published_api.push(p.port);
                ports.push(port(p.port));
            }
        }
        let mut s = server(sys, sys.group_args(g), ports, env.clone(), &g.resources);
        if let Some(b) = &broker_name {
            s.depends_on.insert(
                b.clone(),
                DependsOn {
                    condition: "service_started".into(),
                },
            );
        }
        services.insert(g.label.clone(), s);
    }
    ComposeFile {
        name: sys.name.clone(),
        services,
        volumes,
    }
}
