//! Specs of the tool types: `api functions`, `api web`, `mcp server`.

use super::read::{Reader, SecretPairs, SpecError};

/// `api functions`: Python functions run in a worker.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionsSpec {
    /// The Python file, as written (relative to the `.ww` file).
    pub path: String,
    /// The interpreter (schema default `python3`).
    pub python: String,
    /// File describing the functions for the agent.
    pub documentation: Option<String>,
}

impl FunctionsSpec {
    pub(crate) fn read(r: &Reader<'_>) -> Result<Self, SpecError> {
        Ok(FunctionsSpec {
            path: r.required("path")?,
            python: r
                .string("python")?
                .unwrap_or_else(|| crate::schema::defaults::PYTHON.to_string()),
            documentation: r.string("documentation")?,
        })
    }
}

/// `api web`: one HTTP endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct WebSpec {
    pub url: String,
    /// The HTTP method as written (schema default `GET`).
    pub method: Option<String>,
    pub headers: SecretPairs,
    pub documentation: Option<String>,
}

impl WebSpec {
    pub(crate) fn read(r: &Reader<'_>) -> Result<Self, SpecError> {
        Ok(WebSpec {
            url: r.required("url")?,
            method: r.string("method")?,
            headers: r.secret_map("headers")?,
            documentation: r.string("documentation")?,
        })
    }
}

/// `mcp server`: a stdio (`command`) or streamable HTTP (`url`) server.
#[derive(Clone, Debug, PartialEq)]
pub struct McpSpec {
    pub url: Option<String>,
    pub headers: SecretPairs,
    /// `command` as written: one string (split into words by the runtime) or a list.
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub env: SecretPairs,
}

impl McpSpec {
    pub(crate) fn read(r: &Reader<'_>) -> Result<Self, SpecError> {
        let url = r.string("url")?;
        // Only the keys of the chosen transport are read, as the runtime always did.
        Ok(match url {
            Some(url) => McpSpec {
                url: Some(url),
                headers: r.secret_map("headers")?,
                command: Vec::new(),
                args: Vec::new(),
                env: Vec::new(),
            },
            None => McpSpec {
                url: None,
                headers: Vec::new(),
                command: r.string_list("command")?,
                args: r.string_list("args")?,
                env: r.secret_map("env")?,
            },
        })
    }
}
