//! The broker a cluster export runs on (DESIGN.md §7, §8), from `--bus URL` or the file's
//! top-level `deployment = … { message_bus = … }`: which kind it is and whether the export brings
//! it along (a loopback URL: the broker runs next to the system) or the operator runs it
//! elsewhere (its URL, which may hold a password, comes from a Secret / the environment and is
//! never written into a file).

use crate::error::ExportError;
use woodwork_parser::spec::deployment::{BusKind, BusUrl};
use woodwork_parser::Config;

/// The variable `serve` reads its `--bus` from; the exported containers set it instead of
/// passing the URL on the command line, where a password would show in process listings.
pub const BUS_VAR: &str = "WOODWORK_BUS";

/// Which broker server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerKind {
    Redis,
    Nats,
}

impl BrokerKind {
    /// Its name: the Compose service, the suffix of the Kubernetes objects.
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerKind::Redis => "redis",
            BrokerKind::Nats => "nats",
        }
    }

    /// The port clients connect to.
    pub fn port(self) -> u16 {
        match self {
            BrokerKind::Redis => 6379,
            BrokerKind::Nats => 4222,
        }
    }

    /// The URL of a broker reachable under `host` with no credentials.
    pub fn url(self, host: &str) -> String {
        format!("{}://{host}:{}", self.as_str(), self.port())
    }
}

/// Where the broker runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The export adds it: a Compose service / a StatefulSet with a volume.
    InCluster(BrokerKind),
    /// The operator runs it; its URL is in this variable (Compose: from the shell or `.env`;
    /// Kubernetes: this key of the system's Secret).
    External { var: String },
}

/// The broker of a cluster export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broker {
    pub placement: Placement,
    /// Where the URL came from, for messages (never the URL itself).
    pub origin: String,
}

/// The broker named by `--bus` (first) or the file, `None` for the in-memory bus.
pub fn broker(config: &Config, flag: Option<&str>) -> Result<Option<Broker>, ExportError> {
    if let Some(url) = flag.map(str::trim) {
        if matches!(url, "" | "memory" | "memory://") {
            return Ok(None);
        }
        return from_url(url, "--bus").map(Some);
    }
    let Some(bus) = config.deployment.as_ref().and_then(|d| d.external_bus()) else {
        return Ok(None);
    };
    let origin = "the file's top-level `deployment` (`message_bus`)";
    match &bus.url {
        Some(BusUrl::Given(secret)) => from_url(secret.expose(), origin).map(Some),
        Some(BusUrl::Unresolved(env)) => Ok(Some(Broker {
            placement: Placement::External {
                var: env.var.clone(),
            },
            origin: format!("{origin}, from ${}", env.var),
        })),
        None => Err(ExportError::invalid(
            format!("{origin} names a {} broker without a URL", kind_name(bus.kind)),
            "give its URL in the file (`redis_url` / `nats_url`) or pass --bus redis://… or nats://…",
        )),
    }
}

fn kind_name(kind: Option<BusKind>) -> &'static str {
    kind.map_or("message", BusKind::as_str)
}

/// Reads a broker URL: its scheme gives the kind, a loopback (or missing) host means "run one
/// here", any other host an external broker.
fn from_url(url: &str, origin: &str) -> Result<Broker, ExportError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        ExportError::invalid(
            format!("{origin}: the broker URL has no scheme"),
            "write it as redis://host:6379 or nats://host:4222",
        )
    })?;
    let kind = match BusKind::from_scheme(&scheme.to_ascii_lowercase()) {
        Some(BusKind::Redis) => BrokerKind::Redis,
        Some(BusKind::Nats) => BrokerKind::Nats,
        _ => {
            return Err(ExportError::invalid(
                format!(
                    "{origin}: `{}://` is not a broker export knows",
                    scheme.escape_debug()
                ),
                "use redis://host:6379 (Redis Streams) or nats://host:4222 (NATS JetStream)",
            ))
        }
    };
    let placement = if is_loopback(host(rest)) {
        Placement::InCluster(kind)
    } else {
        Placement::External {
            var: BUS_VAR.to_string(),
        }
    };
    Ok(Broker {
        placement,
        origin: origin.to_string(),
    })
}

/// The host of a URL's remainder after `scheme://`, without credentials or port.
fn host(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    host_port.split(':').next().unwrap_or("")
}

fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host.is_empty() || host == "localhost" || host == "::1" || host.starts_with("127.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_past_credentials_ports_and_paths() {
        assert_eq!(host(":secret@cache.example:6379/0"), "cache.example");
        assert_eq!(host("user:p@ss@h:1"), "h");
        assert_eq!(host("[::1]:4222"), "::1");
        assert_eq!(host("localhost"), "localhost");
        assert_eq!(host(""), "");
    }

    #[test]
    fn loopback_urls_bring_the_broker_and_others_read_it_from_the_environment() {
        let local = from_url("redis://:pw@127.0.0.1:6379", "--bus").unwrap();
        assert_eq!(local.placement, Placement::InCluster(BrokerKind::Redis));
        let local = from_url("nats://localhost:4222", "--bus").unwrap();
        assert_eq!(local.placement, Placement::InCluster(BrokerKind::Nats));
        let ext = from_url("rediss://:pw@cache.example:6380", "--bus").unwrap();
        assert_eq!(
            ext.placement,
            Placement::External {
                var: BUS_VAR.into()
            }
        );
        let err = from_url("amqp://:pw@h", "--bus").unwrap_err().to_string();
        assert!(err.contains("amqp") && !err.contains("pw@"), "{err}");
        assert!(from_url("no-scheme", "--bus").is_err());
    }
}
