//! Broker URLs and namespaces: which backend, and a form of the URL safe to show.

use crate::BrokerError;

/// Which broker a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerKind {
    Redis,
    Nats,
}

/// A checked broker URL.
#[derive(Clone, Debug)]
pub struct BrokerUrl {
    pub kind: BrokerKind,
    /// The URL as given (may hold a password: never log it).
    pub raw: String,
    /// The URL without credentials, for logs and errors.
    pub shown: String,
}

impl BrokerUrl {
    /// Accepts `redis://`, `rediss://`, `nats://`, `tls://` (NATS over TLS).
    pub fn parse(url: &str) -> Result<BrokerUrl, BrokerError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            BrokerError::Invalid(format!(
                "broker URL `{}` has no scheme: use redis://host:6379 or nats://host:4222",
                shown(url)
            ))
        })?;
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "redis" | "rediss" => BrokerKind::Redis,
            "nats" | "tls" => BrokerKind::Nats,
            other => {
                return Err(BrokerError::Invalid(format!(
                "broker URL scheme `{other}` is not supported: use redis://, rediss:// or nats://"
            )))
            }
        };
        if rest.is_empty() || rest.starts_with('/') {
            return Err(BrokerError::Invalid(format!(
                "broker URL `{}` names no host",
                shown(url)
            )));
        }
        Ok(BrokerUrl {
            kind,
            raw: url.to_string(),
            shown: shown(url),
        })
    }
}

/// `url` with any `user:password@` replaced by `***@`.
pub fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}{path}"),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// A namespace usable in Redis keys, stream names and NATS subjects alike.
pub fn namespace(ns: &str) -> Result<String, BrokerError> {
    checked_name("namespace", ns)
}

/// A queue, bucket or consumer name: letters, digits, `-` and `_` only (NATS forbids `.`, `*`,
/// `>` and spaces in stream and consumer names), at most 64 characters.
pub fn checked_name(what: &str, name: &str) -> Result<String, BrokerError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(BrokerError::Invalid(format!(
            "{what} `{}` is not usable on a broker: use 1 to 64 letters, digits, `-` or `_`",
            name.escape_debug()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_credentials() {
        let u = BrokerUrl::parse("redis://:secret@127.0.0.1:6379/2").unwrap();
        assert_eq!(u.kind, BrokerKind::Redis);
        assert_eq!(u.shown, "redis://***@127.0.0.1:6379/2");
        assert!(!u.shown.contains("secret"));
        assert_eq!(
            BrokerUrl::parse("nats://n:4222").unwrap().kind,
            BrokerKind::Nats
        );
        let e = BrokerUrl::parse("amqp://user:pw@h")
            .unwrap_err()
            .to_string();
        assert!(e.contains("amqp") && !e.contains("pw"), "{e}");
        let e = BrokerUrl::parse("h:pw@x").unwrap_err().to_string();
        assert!(e.contains("no scheme"), "{e}");
        assert!(BrokerUrl::parse("redis://").is_err());
    }

    #[test]
    fn names() {
        assert!(namespace("shop_1-a").is_ok());
        for bad in ["", "a.b", "a b", "a*", "a>", &"x".repeat(65)] {
            assert!(namespace(bad).is_err(), "{bad}");
        }
    }
}
