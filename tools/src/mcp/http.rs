//! The streamable HTTP side: our own reqwest client (TLS through rustls with the ring provider
//! and the system's certificate store, no redirects so header tokens never go to another host).

use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp_reqwest::header::{HeaderName, HeaderValue};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Largest response accepted (SSE event or JSON body). rmcp's 16 MiB default is too tight:
/// Python SDK servers send a big result twice (text content and `structuredContent`).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// Headers the MCP transport sets itself; a `.ww` value would break the protocol.
const RESERVED: &[&str] = &["accept", "mcp-session-id", "last-event-id", "content-type"];

/// The transport for `url` with `headers` on every request.
pub(crate) fn transport(
    url: &str,
    headers: &[(String, String)],
    connect_timeout: Duration,
) -> Result<StreamableHttpClientTransport<rmcp_reqwest::Client>, String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("`url` must start with http:// or https://".into());
    }
    let mut map = HashMap::with_capacity(headers.len());
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("header name `{name}` is not a valid HTTP header name"))?;
        if RESERVED.contains(&header.as_str()) {
            return Err(format!(
                "header `{name}` is set by the MCP transport itself; remove it from `headers`"
            ));
        }
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            format!("the value of header `{name}` has characters HTTP headers cannot carry")
        })?;
        value.set_sensitive(true);
        map.insert(header, value);
    }
    let config = StreamableHttpClientTransportConfig::with_uri(url)
        .custom_headers(map)
        .reinit_on_expired_session(true)
        .max_sse_event_size(MAX_RESPONSE)
        .max_json_response_size(MAX_RESPONSE);
    Ok(StreamableHttpClientTransport::with_client(
        client(connect_timeout)?,
        config,
    ))
}

fn client(connect_timeout: Duration) -> Result<rmcp_reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            let verifier = rustls_platform_verifier::Verifier::new(provider)?;
            Ok(b.dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth())
        })
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    rmcp_reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        // rmcp's own default: an idle pooled connection whose last body was not drained costs
        // ~40 ms of delayed ACK on Linux.
        .pool_max_idle_per_host(0)
        .redirect(rmcp_reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bad_headers_and_urls_are_refused_with_the_name_only() {
        let t = Duration::from_secs(1);
        let e = transport("ftp://x", &[], t).err().unwrap_or_default();
        assert!(e.contains("http://"), "{e}");
        let e = transport(
            "http://127.0.0.1:1/mcp",
            &[("Accept".into(), "x".into())],
            t,
        )
        .err()
        .unwrap_or_default();
        assert!(e.contains("`Accept`"), "{e}");
        let e = transport(
            "http://127.0.0.1:1/mcp",
            &[("X-Key".into(), "a\nsecret".into())],
            t,
        )
        .err()
        .unwrap_or_default();
        assert!(e.contains("`X-Key`") && !e.contains("secret"), "{e}");
        assert!(transport(
            "https://127.0.0.1:1/mcp",
            &[("X-Key".into(), "v".into())],
            t
        )
        .is_ok());
    }
}
