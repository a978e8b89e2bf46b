//! Counts HTTP requests and their latency by method, route pattern (`/{component}/input`, never the
//! raw path, so label cardinality stays bounded) and status. Metric handles are cached per worker
//! thread, so the hot path does no label allocation or registry lookup.

use actix_web::http::Method;
use metrics::{Counter, Histogram};
use std::cell::RefCell;
use std::collections::HashMap;

pub fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// Bound on cached handle sets per thread (routes × methods × statuses is small; this only guards).
const CACHE_CAP: usize = 4096;

/// (method, route pattern, status) → its counter and histogram.
type HandleCache = HashMap<(&'static str, &'static str, u16), (Counter, Histogram)>;

thread_local! {
    static HANDLES: RefCell<HandleCache> = RefCell::new(HashMap::new());
}

/// Counts one finished request; `route` is its pattern from [`crate::server::routes::pattern_of`].
pub fn record(method: &'static str, route: &'static str, status: u16, seconds: f64) {
    HANDLES.with(|cell| {
        let mut map = cell.borrow_mut();
        let key = (method, route, status);
        if let Some((c, h)) = map.get(&key) {
            c.increment(1);
            h.record(seconds);
            return;
        }
        let (method, route, status) = key;
        let counter = metrics::counter!(
            "woodwork_http_requests_total",
            "method" => method,
            "route" => route,
            "status" => status.to_string()
        );
        let histogram = metrics::histogram!(
            "woodwork_http_request_duration_seconds",
            "method" => method,
            "route" => route
        );
        counter.increment(1);
        histogram.record(seconds);
        if map.len() < CACHE_CAP {
            map.insert((method, route, status), (counter, histogram));
        }
    });
}
