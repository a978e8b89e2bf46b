//! What the runtime tells a `WebApi`: the endpoint, how to call it, and the bounds on a call.
//! Header values are secrets (`$VAR` API keys), so `Debug` never shows them, nor the URL's
//! credentials or query (which may carry a key too).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The HTTP method of every call (one per component, as in woodwork's `api web`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    #[default]
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// Whether inputs travel in the query string (GET, DELETE) rather than a JSON body.
    pub fn inputs_in_query(self) -> bool {
        matches!(self, Method::Get | Method::Delete)
    }

    /// The name on the wire (and in the description the model reads).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl FromStr for Method {
    type Err = String;

    /// Any letter case, so `.ww` files may write `method: post`.
    fn from_str(s: &str) -> Result<Method, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "GET" => Ok(Method::Get),
            "POST" => Ok(Method::Post),
            "PUT" => Ok(Method::Put),
            "PATCH" => Ok(Method::Patch),
            "DELETE" => Ok(Method::Delete),
            _ => Err(format!(
                "unknown HTTP method `{s}`; use one of GET, POST, PUT, PATCH, DELETE"
            )),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Settings of one `api web` component.
#[derive(Clone)]
pub struct WebSettings {
    /// The component's name, so start errors say which component is misconfigured.
    pub name: String,
    /// Base URL; an action is appended to its path.
    pub url: String,
    /// Method of every call (default GET).
    pub method: Method,
    /// Sent with every request as given; values are secrets.
    pub headers: Vec<(String, String)>,
    /// The tool's description for the model (the contents of the `documentation` file).
    pub documentation: Option<String>,
    /// Longest a call may take, body included (default 30 s).
    pub timeout: Duration,
    /// Most response bytes read (default 1 MiB); the rest is not downloaded.
    pub max_response: usize,
}

impl WebSettings {
    /// Settings with the defaults above, so the runtime sets only what the `.ww` file gives.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> WebSettings {
        WebSettings {
            name: name.into(),
            url: url.into(),
            method: Method::Get,
            headers: Vec::new(),
            documentation: None,
            timeout: Duration::from_secs(30),
            max_response: 1 << 20,
        }
    }
}

impl fmt::Debug for WebSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, _)| (k.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("WebSettings")
            .field("name", &self.name)
            .field("url", &super::target::public_text(&self.url))
            .field("method", &self.method)
            .field("headers", &headers)
            .field(
                "documentation",
                &self.documentation.as_ref().map(|d| d.len()),
            )
            .field("timeout", &self.timeout)
            .field("max_response", &self.max_response)
            .finish()
    }
}
