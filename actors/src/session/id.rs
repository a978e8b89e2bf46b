//! Session ids: the client's own (checked) or a fresh UUID.

use crate::error::RuntimeError;

/// Longest session id accepted.
pub const MAX_SESSION_ID: usize = 128;

/// A random UUID for a request that names no session.
pub(crate) fn new_session_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// Refuses ids that would make bad map keys, log fields or URLs.
pub(crate) fn check(id: &str) -> Result<(), RuntimeError> {
    if id.is_empty() || id.len() > MAX_SESSION_ID {
        return Err(RuntimeError::Invalid(format!(
            "session_id must be 1 to {MAX_SESSION_ID} characters"
        )));
    }
    if id.chars().any(|c| c.is_control()) {
        return Err(RuntimeError::Invalid(
            "session_id must not contain control characters".into(),
        ));
    }
    Ok(())
}
