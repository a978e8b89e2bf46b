//! CORS on an `input api` port (DESIGN.md §5): any origin unless `cors: [...]` lists them. Browsers
//! get `Access-Control-Allow-Origin` on answers and a 204 to preflights from allowed origins; a
//! listed set refuses other origins' preflights (403) and their WebSocket upgrades (403: browsers
//! apply no CORS to WebSockets, so the server must check `Origin` itself).

use super::error::flat;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

/// Methods the input api takes, answered to preflights.
const METHODS: &str = "GET, HEAD, POST, OPTIONS";
/// Request headers allowed when the preflight asks for none we can echo.
const DEFAULT_HEADERS: &str = "content-type, authorization, x-session-id";
/// Longest `Access-Control-Request-Headers` echoed back (longer ones get the default list).
const MAX_ECHOED_HEADERS: usize = 1024;
/// How long browsers may cache a preflight answer, in seconds.
const MAX_AGE_S: &str = "600";

/// Which origins may call this port (in app data).
#[derive(Clone, Debug)]
pub struct Cors {
    /// `None` = any origin.
    pub allowed: Option<Vec<String>>,
    /// The component's name, for refusal messages.
    pub component: String,
}

impl Cors {
    /// True when `origin` may call this port.
    pub fn allows(&self, origin: &str) -> bool {
        match &self.allowed {
            None => true,
            Some(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }

    /// The 403 a refused origin gets, saying where to allow it.
    pub fn refusal(&self, origin: &str) -> HttpResponse {
        let shown: String = origin
            .chars()
            .take(200)
            .filter(|c| !c.is_control())
            .collect();
        flat(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            &format!(
                "origin {shown} may not call input api `{}`: add it to its `cors: [...]` list",
                self.component
            ),
        )
    }
}

/// The middleware: preflights answered here, `Access-Control-Allow-Origin` added to the answers
/// of allowed origins, WebSocket upgrades from other origins refused.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let cors = req.app_data::<web::Data<Cors>>().cloned();
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (Some(cors), Some(origin)) = (cors, origin) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let allowed = cors.allows(&origin);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let res = if allowed {
            preflight_answer(&req, &origin)
        } else {
            cors.refusal(&origin)
        };
        return Ok(req.into_response(res).map_into_right_body());
    }
    if !allowed && req.headers().contains_key(header::UPGRADE) {
        tracing::info!(component = %cors.component, "WebSocket upgrade refused: origin not in `cors`");
        let res = cors.refusal(&origin);
        return Ok(req.into_response(res).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    if allowed {
        if let Ok(v) = HeaderValue::from_str(&origin) {
            let h = res.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
    Ok(res.map_into_left_body())
}

/// 204 with the allowed origin, methods and headers.
fn preflight_answer(req: &ServiceRequest, origin: &str) -> HttpResponse {
    let asked = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|v| v.len() <= MAX_ECHOED_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static(DEFAULT_HEADERS));
    let mut res = HttpResponse::NoContent();
    if let Ok(v) = HeaderValue::from_str(origin) {
        res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, v));
    }
    res.insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, METHODS))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, asked))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_S))
        .insert_header((header::VARY, "Origin"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_allows_only_its_origins_and_none_allows_any() {
        let listed = Cors {
            allowed: Some(vec!["http://localhost:3000".into()]),
            component: "door".into(),
        };
        assert!(listed.allows("http://LOCALHOST:3000"));
        assert!(!listed.allows("http://evil.example"));
        let any = Cors {
            allowed: None,
            component: "door".into(),
        };
        assert!(any.allows("http://evil.example"));
    }
}
