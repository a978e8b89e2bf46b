//! How a node joins a cluster: the broker URL, the namespace, its name and its placement.

use std::collections::HashSet;

/// What `serve --bus … --namespace … --node … --components …` (or `--vm`) asks for.
#[derive(Clone)]
pub struct ClusterSpec {
    /// `redis://…`, `rediss://…` or `nats://…` (may carry credentials: never shown).
    pub url: String,
    /// Keeps several systems apart on one broker.
    pub namespace: String,
    /// This process's name in the cluster: a node restarting under the same name takes back the
    /// work it held.
    pub node: String,
    /// The components this node hosts; None: all of them.
    pub components: Option<Vec<String>>,
}

impl std::fmt::Debug for ClusterSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSpec")
            .field("url", &self.shown_url())
            .field("namespace", &self.namespace)
            .field("node", &self.node)
            .field("components", &self.components)
            .finish()
    }
}

impl ClusterSpec {
    /// The URL without its credentials (logs, errors, `/health`).
    pub fn shown_url(&self) -> String {
        woodwork_broker::BrokerUrl::parse(&self.url)
            .map(|u| u.shown)
            .unwrap_or_else(|_| "<unusable broker URL>".into())
    }

    /// `redis` or `nats`.
    pub fn kind(&self) -> &'static str {
        match woodwork_broker::BrokerUrl::parse(&self.url).map(|u| u.kind) {
            Ok(woodwork_broker::BrokerKind::Nats) => "nats",
            _ => "redis",
        }
    }

    /// The hosted set, checked against the declared components.
    pub(crate) fn hosted(&self, declared: &[String]) -> Result<HashSet<String>, String> {
        let Some(wanted) = &self.components else {
            return Ok(declared.iter().cloned().collect());
        };
        let mut hosted = HashSet::new();
        for name in wanted {
            if !declared.contains(name) {
                return Err(format!(
                    "--components names `{name}`, which the file does not declare; declared: {}",
                    declared.join(", ")
                ));
            }
            hosted.insert(name.clone());
        }
        Ok(hosted)
    }
}

/// A node name usable on every broker: the host name and the process id by default, with any
/// character a broker name cannot hold replaced by `-`.
pub fn default_node_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "node".into());
    sanitize(&format!("{host}-{}", std::process::id()))
}

/// Letters, digits, `-` and `_` only, at most 48 characters (queue names add a prefix).
pub fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(48)
        .collect()
}
