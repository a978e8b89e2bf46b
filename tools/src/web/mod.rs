//! `api web`: any HTTP API as a tool. The action is a path under the configured URL, inputs go
//! in the query (GET, DELETE) or a JSON body; the answer's text is the observation, and non-2xx
//! answers, timeouts and unreachable hosts are observations too, so the agent carries on.

mod response;
mod settings;
mod target;

pub use settings::{Method, WebSettings};

use crate::{Readiness, ToolBackend, ToolError, ToolFuture, ToolRequest};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, LOCATION};
use reqwest::redirect::{Attempt, Policy};
use reqwest::Url;
use std::sync::{Arc, Mutex};

/// Redirects followed per call; one more is an error (a loop, most likely).
const MAX_REDIRECTS: usize = 5;

/// The `api web` backend (cheap to share: all state is behind one `Arc`).
pub struct WebApi {
    inner: Arc<Inner>,
}

struct Inner {
    settings: WebSettings,
    /// What is wrong with the settings, found once when built; `start` reports it.
    setup: Result<Setup, String>,
    readiness: Mutex<Readiness>,
}

struct Setup {
    base: Url,
    client: reqwest::Client,
    headers: HeaderMap,
}

impl WebApi {
    /// A backend for `settings`; bad settings are reported by `start()`, not here.
    pub fn new(settings: WebSettings) -> WebApi {
        let setup = build(&settings);
        WebApi {
            inner: Arc::new(Inner {
                settings,
                setup,
                readiness: Mutex::new(Readiness::Starting),
            }),
        }
    }
}

fn build(s: &WebSettings) -> Result<Setup, String> {
    let base = target::base(&s.url)?;
    let mut headers = HeaderMap::with_capacity(s.headers.len());
    for (name, value) in &s.headers {
        let header = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("header name `{name}` is not a valid HTTP header name"))?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            format!("the value of header `{name}` has characters HTTP headers cannot carry")
        })?;
        value.set_sensitive(true);
        headers.append(header, value);
    }
    // With headers (API keys) a redirect may not leave the configured origin.
    let keep_origin = (!headers.is_empty()).then(|| target::origin(&base));
    let policy = Policy::custom(move |attempt: Attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        match &keep_origin {
            Some(o) if target::origin(attempt.url()) != *o => attempt.stop(),
            _ => attempt.follow(),
        }
    });
    let client = reqwest::Client::builder()
        .redirect(policy)
        .user_agent(concat!("woodwork-actors/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(s.timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    Ok(Setup {
        base,
        client,
        headers,
    })
}

impl ToolBackend for WebApi {
    fn description(&self) -> String {
        let s = &self.inner.settings;
        if let Some(doc) = s.documentation.as_deref().filter(|d| !d.trim().is_empty()) {
            return doc.to_string();
        }
        let url = target::public_text(&s.url);
        let inputs = if s.method.inputs_in_query() {
            "sent as query parameters"
        } else {
            "sent as the JSON request body"
        };
        format!(
            "HTTP API: {} {url}. Call it with action = a path appended to that URL (no action \
             for the URL itself) and inputs = a JSON object {inputs}. The observation is the \
             response body.",
            s.method
        )
    }

    fn start(&self) -> BoxFuture<'static, Result<(), ToolError>> {
        let inner = self.inner.clone();
        async move {
            let result = match &inner.setup {
                Ok(_) => Ok(()),
                Err(e) => Err(format!("api web `{}`: {e}", inner.settings.name)),
            };
            *inner.readiness.lock().unwrap_or_else(|p| p.into_inner()) = match &result {
                Ok(()) => Readiness::Ready,
                Err(e) => Readiness::Down(e.clone()),
            };
            result.map_err(ToolError::Failed)
        }
        .boxed()
    }

    fn call(&self, request: ToolRequest) -> ToolFuture {
        let inner = self.inner.clone();
        async move { inner.call(request).await }.boxed()
    }

    fn readiness(&self) -> Readiness {
        self.inner
            .readiness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        async {}.boxed()
    }
}

impl Inner {
    async fn call(&self, req: ToolRequest) -> Result<String, ToolError> {
        let s = &self.settings;
        let setup = self.setup.as_ref().map_err(|e| {
            ToolError::Unavailable(format!("api web `{}` is misconfigured: {e}", s.name))
        })?;
        let mut url =
            target::join(&setup.base, req.action.as_deref()).map_err(ToolError::Failed)?;
        let method = match s.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let body = if s.method.inputs_in_query() {
            target::add_query(&mut url, &req.inputs).map_err(ToolError::Failed)?;
            None
        } else {
            let inputs = match &req.inputs {
                serde_json::Value::Null => serde_json::json!({}),
                other => other.clone(),
            };
            Some(serde_json::to_vec(&inputs).map_err(|e| ToolError::Failed(e.to_string()))?)
        };
        let shown = target::public(&url);
        let mut builder = setup
            .client
            .request(method, url)
            .headers(setup.headers.clone());
        if let Some(body) = body {
            if !setup.headers.contains_key(CONTENT_TYPE) {
                builder = builder.header(CONTENT_TYPE, "application/json");
            }
            builder = builder.body(body);
        }
        let exchange = async {
            let mut resp = builder.send().await.map_err(|e| send_error(e, &shown))?;
            let status = resp.status();
            let content_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if status.is_redirection() && resp.headers().contains_key(LOCATION) {
                return Err(redirect_not_followed(&resp));
            }
            let cap = if status.is_success() {
                s.max_response
            } else {
                s.max_response.min(4 * 1024)
            };
            let body = response::read(&mut resp, cap).await.map_err(|e| {
                ToolError::Failed(format!(
                    "reading the answer from {shown} failed: {}",
                    root_cause(&e.without_url())
                ))
            })?;
            if status.is_success() {
                Ok(response::success(status, content_type.as_deref(), body))
            } else {
                Err(response::failure(status, resp.url(), body))
            }
        };
        tokio::time::timeout(s.timeout, exchange)
            .await
            .map_err(|_| ToolError::Timeout(s.timeout))?
    }
}

/// A request that got no answer, named by the URL without its query or credentials.
fn send_error(e: reqwest::Error, shown: &str) -> ToolError {
    let e = e.without_url();
    let cause = root_cause(&e);
    if e.is_redirect() {
        ToolError::Failed(format!(
            "{shown} redirected more than {MAX_REDIRECTS} times (a redirect loop?)"
        ))
    } else if e.is_connect() {
        ToolError::Failed(format!("cannot connect to {shown}: {cause}"))
    } else {
        ToolError::Failed(format!("request to {shown} failed: {cause}"))
    }
}

fn redirect_not_followed(resp: &reqwest::Response) -> ToolError {
    let to = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| resp.url().join(l).ok())
        .map(|u| target::origin(&u))
        .unwrap_or_else(|| "an unknown place".into());
    ToolError::Failed(format!(
        "HTTP {} from {}: redirect to {to} not followed (it would carry this tool's headers to \
         another host); point url at the final address",
        resp.status(),
        target::public(resp.url())
    ))
}

/// The innermost error message (the OS's "Connection refused", the resolver's "Name or service
/// not known"); outer layers repeat the URL, which may carry secrets.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// At most `max` characters of `s` (model-controlled text echoed in errors stays short).
fn clip_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
