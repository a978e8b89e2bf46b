//! The dashboard at `/ui` (DESIGN.md §8): one HTML page, one script and one stylesheet, embedded
//! in the binary (no CDN, no Node at run time) and served with their content types, a strict
//! Content-Security-Policy and ETag revalidation.
//!
//! Auth: a browser cannot attach a bearer token to a page it navigates to, and `EventSource`
//! cannot send one at all. So the three files (static, no data in them) are served without the
//! token, and everything the page shows comes from the API with it: the page asks for the token
//! once, keeps it in the tab's `sessionStorage` (never in a URL, a cookie or a log), sends it as
//! `Authorization: Bearer` on every `fetch`, and reads SSE (`/events`, streamed input) through
//! `fetch` streaming instead of `EventSource`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

/// One embedded file and how it is served.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
    /// Strong validator: a hash of the body, computed at compile time.
    etag: u64,
}

const fn asset(path: &'static str, content_type: &'static str, body: &'static str) -> Asset {
    Asset {
        path,
        content_type,
        body,
        etag: fnv1a(body.as_bytes()),
    }
}

/// FNV-1a, as a `const fn` so each ETag is fixed when the binary is built.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The page's route.
pub const PAGE: &str = "/ui";
/// The script's route.
pub const SCRIPT: &str = "/ui/app.js";
/// The stylesheet's route.
pub const STYLE: &str = "/ui/app.css";

const ASSETS: [Asset; 3] = [
    asset(
        PAGE,
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    asset(
        SCRIPT,
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    asset(
        STYLE,
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
];

/// Only our own script and stylesheet run; the page talks only to this server; nothing may frame
/// it. No inline script or style is allowed, so injected markup cannot run.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// True for the dashboard's files: served without the bearer token (they hold no data).
pub fn is_asset(path: &str) -> bool {
    ASSETS.iter().any(|a| a.path == path)
}

/// `GET /ui`, `GET /ui/app.js`, `GET /ui/app.css` (and HEAD): the file, or 304 when the
/// browser's copy is current.
pub async fn serve(req: HttpRequest) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.path == req.path()) else {
        return HttpResponse::NotFound().finish();
    };
    let etag = format!("\"{:016x}\"", asset.etag);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        // Revalidate on every load (a 304 when unchanged): a new binary shows its new page.
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")));
    if fresh {
        return res.finish();
    }
    res.content_type(asset.content_type).body(asset.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_found_and_nothing_else() {
        for p in [PAGE, SCRIPT, STYLE] {
            assert!(is_asset(p), "{p}");
        }
        for p in ["/ui/", "/ui/index.html", "/ui/app.js/", "/uix", "/"] {
            assert!(!is_asset(p), "{p}");
        }
    }

    #[test]
    fn etags_differ_per_file() {
        assert_ne!(ASSETS[0].etag, ASSETS[1].etag);
        assert_ne!(ASSETS[1].etag, ASSETS[2].etag);
    }
}
