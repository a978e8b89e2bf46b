//! What the runtime tells an `mcp server` component: where the server is and how long to wait.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Default bound on one `tools/call`.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound on spawning/connecting plus `initialize` and `tools/list`: a server that never
/// answers must fail startup instead of hanging it.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of one `mcp server` component, built by the runtime from the `.ww`.
#[derive(Clone)]
pub struct McpSettings {
    /// The component's name, so messages say which server failed.
    pub name: String,
    /// How to reach the server.
    pub transport: McpTransport,
    /// Bound on one tool call; past it the call answers `Timeout` (default 30 s).
    pub call_timeout: Duration,
    /// Bound on start or restart: spawn/connect, `initialize` and `tools/list` (default 30 s).
    pub start_timeout: Duration,
}

/// Where the server runs: a child process speaking JSON-RPC on stdio, or a streamable HTTP
/// endpoint.
#[derive(Clone)]
pub enum McpTransport {
    Stdio {
        /// Program and arguments (the program is looked up in `PATH`).
        command: Vec<String>,
        /// Extra environment for the server; values are secrets (API keys).
        env: Vec<(String, String)>,
        /// Working directory of the server (normally the `.ww` file's folder).
        cwd: PathBuf,
    },
    Http {
        /// The MCP endpoint, e.g. `http://127.0.0.1:8000/mcp`.
        url: String,
        /// Headers sent with every request; values are secrets (tokens).
        headers: Vec<(String, String)>,
    },
}

impl McpSettings {
    /// Settings with the default bounds, so the runtime only fills what the `.ww` says.
    pub fn new(name: impl Into<String>, transport: McpTransport) -> Self {
        McpSettings {
            name: name.into(),
            transport,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            start_timeout: DEFAULT_START_TIMEOUT,
        }
    }

    /// Where the server is, for messages: the command line or the URL without its query.
    pub(crate) fn location(&self) -> String {
        match &self.transport {
            McpTransport::Stdio { command, .. } => format!("command `{}`", command.join(" ")),
            McpTransport::Http { url, .. } => format!("url {}", public_url(url)),
        }
    }

    /// Every value that must never be shown: env values, header values, the URL's query and
    /// credentials.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.transport {
            McpTransport::Stdio { env, .. } => out.extend(env.iter().map(|(_, v)| v.clone())),
            McpTransport::Http { url, headers } => {
                out.extend(headers.iter().map(|(_, v)| v.clone()));
                if let Some((_, q)) = url.split_once('?') {
                    out.push(q.split('#').next().unwrap_or(q).to_string());
                }
                if let Some(userinfo) = url_userinfo(url) {
                    out.push(userinfo.to_string());
                }
            }
        }
        out
    }
}

/// The URL with any `user:pass@` and `?query` removed (either may hold a token).
pub(crate) fn public_url(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    match url_userinfo(no_query) {
        Some(userinfo) => no_query.replacen(&format!("{userinfo}@"), "", 1),
        None => no_query.to_string(),
    }
}

fn url_userinfo(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    authority.rsplit_once('@').map(|(userinfo, _)| userinfo)
}

impl fmt::Debug for McpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpSettings")
            .field("name", &self.name)
            .field("transport", &self.transport)
            .field("call_timeout", &self.call_timeout)
            .field("start_timeout", &self.start_timeout)
            .finish()
    }
}

/// Names only: values are secrets.
struct Redacted<'a>(&'a [(String, String)]);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, _)| (k, "<redacted>")))
            .finish()
    }
}

impl fmt::Debug for McpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            McpTransport::Stdio { command, env, cwd } => f
                .debug_struct("Stdio")
                .field("command", command)
                .field("env", &Redacted(env))
                .field("cwd", cwd)
                .finish(),
            McpTransport::Http { url, headers } => f
                .debug_struct("Http")
                .field("url", &public_url(url))
                .field("headers", &Redacted(headers))
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_names_but_not_secret_values() {
        let s = McpSettings::new(
            "gh",
            McpTransport::Stdio {
                command: vec!["server".into()],
                env: vec![("GITHUB_TOKEN".into(), "ghp_secret".into())],
                cwd: ".".into(),
            },
        );
        let d = format!("{s:?}");
        assert!(
            d.contains("GITHUB_TOKEN") && !d.contains("ghp_secret"),
            "{d}"
        );
        let h = McpSettings::new(
            "web",
            McpTransport::Http {
                url: "https://u:pw@h.example/mcp?key=k123".into(),
                headers: vec![("Authorization".into(), "Bearer tok".into())],
            },
        );
        let d = format!("{h:?}");
        assert!(d.contains("Authorization") && !d.contains("tok"), "{d}");
        assert!(!d.contains("k123") && !d.contains("pw"), "{d}");
        assert_eq!(h.location(), "url https://h.example/mcp");
        assert!(h.secrets().contains(&"key=k123".to_string()));
    }
}
