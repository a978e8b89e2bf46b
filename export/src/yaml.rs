//! YAML output through serde_norway (the maintained serde_yaml fork).

use crate::error::ExportError;

/// `obj` as a YAML document; `what` names it in the (unexpected) error.
pub fn to_yaml<T: serde::Serialize>(what: &str, obj: &T) -> Result<String, ExportError> {
    serde_norway::to_string(obj).map_err(|e| ExportError::Serialize {
        what: what.to_string(),
        message: e.to_string(),
    })
}
