//! What can go wrong talking to a broker, said so an operator knows where to look. URLs in
//! messages never carry their password.

/// A broker operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The URL or a name is not usable; nothing was sent.
    #[error("{0}")]
    Invalid(String),
    /// The broker could not be reached or the connection broke; retry with backoff.
    #[error("broker {url} unreachable: {cause}")]
    Unavailable { url: String, cause: String },
    /// The broker answered with an error.
    #[error("broker refused {what}: {cause}")]
    Refused { what: String, cause: String },
}

impl BrokerError {
    /// Whether trying again later may work (the broker was away), as opposed to a request the
    /// broker will always refuse.
    pub fn is_transient(&self) -> bool {
        matches!(self, BrokerError::Unavailable { .. })
    }
}

impl From<redis::RedisError> for BrokerError {
    /// Transient failures (the connection, a timeout, a server still loading its data after a
    /// restart) are `Unavailable`; the rest is `Refused`.
    fn from(e: redis::RedisError) -> Self {
        crate::redis_link::classify("redis", e)
    }
}
