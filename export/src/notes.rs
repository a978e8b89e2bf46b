//! What an operator must know about an exported cluster, written as the output's `README.md`
//! and printed by the CLI: the placement groups (what each hosts, how it is started), where the
//! broker runs and, for an external one, the variable / Secret key its URL goes into — never the
//! URL, which may hold a password.

use crate::bus::{Placement, BUS_VAR};
use crate::deploy::Replicas;
use crate::groups::Group;
use crate::system::System;
use crate::Format;

/// One line per group and one for the broker (empty without a broker).
pub fn summary(sys: &System) -> Vec<String> {
    let Some(broker) = &sys.broker else {
        return Vec::new();
    };
    let mut out: Vec<String> = sys.groups.iter().map(group_line).collect();
    out.push(match &broker.placement {
        Placement::InCluster(kind) => format!(
            "broker: {} runs with the system (from {}; its data on a volume)",
            kind.as_str(),
            broker.origin
        ),
        Placement::External { var } => format!(
            "broker: external (from {}); its URL goes in `{var}`, which the export never writes: set it in the shell or .env (Compose) or as key `{var}` of Secret `{}` (Kubernetes)",
            broker.origin, sys.name
        ),
    });
    out
}

fn group_line(g: &Group) -> String {
    let replicas = match g.replicas {
        Replicas::Fixed(1) => String::new(),
        Replicas::Fixed(n) => format!(", {n} replicas"),
        Replicas::Auto { min, max, .. } => format!(", {min} to {max} replicas"),
    };
    format!(
        "group `{}` (serve {}): {}{replicas}",
        g.label,
        g.selector_args().join(" "),
        g.components.join(", ")
    )
}

/// The output directory's `README.md` for a cluster.
pub fn readme(sys: &System, format: Format) -> String {
    let mut s = format!(
        "# {} — a woodwork-actors cluster\n\nWritten by `woodwork-actors export`. Every node serves the whole HTTP API on port {} \
         (`POST /<any component>/input` works on any of them); the broker carries the work between \
         them, and holds sessions, memory and the dead-letter queue. Each node runs `serve` with \
         `--namespace {}` and its components; it reads the broker URL from `{BUS_VAR}`.\n\n## Placement groups\n\n",
        sys.name, sys.http_port, sys.namespace
    );
    for line in summary(sys) {
        s.push_str(&format!("- {line}\n"));
    }
    s.push_str("\n## Run it\n\n");
    let external = matches!(
        sys.broker.as_ref().map(|b| &b.placement),
        Some(Placement::External { .. })
    );
    let vars = sys.env.iter().map(|e| e.name.as_str()).collect::<Vec<_>>();
    match format {
        Format::Compose => {
            if !vars.is_empty() {
                s.push_str(&format!(
                    "Set {} in the shell or in `.env` next to `compose.yaml` (never in the file itself), then:\n\n",
                    vars.join(", ")
                ));
            }
            s.push_str("    docker compose -f compose.yaml up\n\nEach group publishes the API on its own host port (the first 8080, then 8081, …).\n");
        }
        Format::Kubernetes => {
            let literals: String = vars
                .iter()
                .map(|v| format!(" --from-literal={v}=…"))
                .collect();
            s.push_str(&format!(
                "Create the Secret the pods read{}, then apply:\n\n    kubectl create secret generic {}{literals}   # optional: WOODWORK_AUTH_TOKEN\n    kubectl apply -f .\n\nEach group has its own Service (`{}-<group>`).\n",
                if external { " (it holds the broker URL)" } else { "" },
                sys.name,
                sys.name
            ));
        }
    }
    s
}
