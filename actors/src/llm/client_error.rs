//! Why a provider client could not be built: the two things that can go wrong before any request
//! is made, typed so the factory can attach the component's context instead of re-wording a string.

/// A provider client that cannot be built. Never contains the key's value.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The key cannot be sent as an HTTP header (a line break or a non-ASCII byte in it).
    #[error("api_key contains characters not allowed in an HTTP header")]
    InvalidKey,
    /// reqwest could not set up its client (TLS backend initialisation).
    #[error("cannot create the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}
