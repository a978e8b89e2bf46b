//! CORS for the main server (DESIGN.md §5): only the origins given with `--cors-origin` (none by
//! default) get `Access-Control-Allow-Origin`, and their preflight `OPTIONS` requests are answered
//! here, before auth (a browser sends no token on a preflight). A request without an `Origin`
//! header (every non-browser client) costs one header lookup.

use crate::server::error::ApiError;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse, ResponseError};

/// Methods a browser may use cross-origin.
const ALLOW_METHODS: &str = "GET, HEAD, POST, DELETE, OPTIONS";
/// Request headers a browser may send cross-origin when the preflight names none.
const ALLOW_HEADERS: &str =
    "authorization, content-type, accept, last-event-id, x-request-id, x-session-id";
/// Response headers scripts may read.
const EXPOSE_HEADERS: &str = "retry-after, x-request-id";
/// How long a browser may cache a preflight answer (seconds).
const MAX_AGE: &str = "600";

/// The allowed origins (in app data). Empty: CORS off.
#[derive(Clone, Debug, Default)]
pub struct CorsOrigins {
    origins: Vec<HeaderValue>,
    any: bool,
}

impl CorsOrigins {
    /// Reads `--cors-origin` values: `*` (any origin) or `scheme://host[:port]`, as browsers
    /// send them in `Origin` (no path, no trailing slash).
    pub fn parse(values: &[String]) -> Result<CorsOrigins, String> {
        let mut c = CorsOrigins::default();
        for v in values {
            let v = v.trim();
            if v == "*" {
                c.any = true;
                continue;
            }
            let rest = v
                .strip_prefix("http://")
                .or_else(|| v.strip_prefix("https://"));
            let ok = rest.is_some_and(|r| {
                !r.is_empty()
                    && !r.contains('/')
                    && r.chars().all(|ch| ch.is_ascii_graphic() && ch != '*')
            });
            if !ok {
                return Err(format!(
                    "--cors-origin `{v}` is not an origin: give scheme://host[:port] as the browser \
                     shows it (e.g. https://app.example.com or http://localhost:3000, no path), \
                     or * for any origin"
                ));
            }
            let value =
                HeaderValue::from_str(v).map_err(|e| format!("--cors-origin `{v}`: {e}"))?;
            c.origins.push(value);
        }
        Ok(c)
    }

    /// True when no origin is allowed (the default).
    pub fn is_off(&self) -> bool {
        !self.any && self.origins.is_empty()
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.any
            || self
                .origins
                .iter()
                .any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
    }
}

/// What CORS says about a request that carries an `Origin`.
pub enum Verdict {
    /// A preflight, answered here (204 for an allowed origin, 403 for another).
    Preflight(HttpResponse),
    /// An allowed origin: its response gets the CORS headers for it.
    Allowed(HeaderValue),
}

/// Looks at `req` only when it has an `Origin` header and CORS is on.
pub fn check(req: &ServiceRequest) -> Option<Verdict> {
    let origin = req.headers().get(header::ORIGIN)?;
    let cors = req.app_data::<web::Data<CorsOrigins>>()?;
    if cors.is_off() {
        return None;
    }
    let allowed = cors.allows(origin);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        if !allowed {
            tracing::info!("CORS preflight from an origin not in --cors-origin: refused");
            let err = ApiError::new(
                StatusCode::FORBIDDEN,
                "cors_origin_denied",
                format!(
                    "origin `{}` may not call this server from a browser; start serve with \
                     --cors-origin {} to allow it",
                    printable(origin),
                    printable(origin)
                ),
            );
            return Some(Verdict::Preflight(err.error_response()));
        }
        let mut res = HttpResponse::NoContent();
        res.insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE));
        let asked = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or(HeaderValue::from_static(ALLOW_HEADERS));
        res.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, asked));
        let mut res = res.finish();
        allow(res.headers_mut(), origin.clone());
        return Some(Verdict::Preflight(res));
    }
    allowed.then(|| Verdict::Allowed(origin.clone()))
}

/// Adds the CORS headers for an allowed `origin` to a response.
pub fn allow(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
}

fn printable(v: &HeaderValue) -> String {
    crate::server::error::printable(&String::from_utf8_lossy(v.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::CorsOrigins;

    #[test]
    fn origins_are_scheme_host_port_or_star() {
        let ok = |v: &str| CorsOrigins::parse(&[v.to_string()]).is_ok();
        assert!(ok("https://app.example.com"));
        assert!(ok("http://localhost:3000"));
        assert!(ok("*"));
        assert!(!ok("app.example.com"));
        assert!(!ok("https://app.example.com/"));
        assert!(!ok("https://"));
        assert!(!ok("ftp://x"));
        assert!(CorsOrigins::parse(&[]).unwrap().is_off());
    }
}
