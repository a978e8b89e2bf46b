//! The process-wide Prometheus recorder (installed once, no HTTP listener of its own: `/metrics`
//! renders it) and the snapshot gauges refreshed at scrape time.

use crate::server::state::AppState;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::time::Duration;

/// Latency buckets in seconds: 100 µs to 60 s (model calls are slow, HTTP hops fast).
const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
    15.0, 60.0,
];

/// How often raw histogram samples are folded into their buckets. The exporter keeps every sample
/// until then: at 60k requests/s and six histograms, a 5 s period held ~15 MB of samples under
/// load; 1 s bounds it to a fifth of that.
const UPKEEP_EVERY: Duration = Duration::from_secs(1);

/// Installs the global recorder; `None` (with a warning) if one is already installed.
pub fn install() -> Option<PrometheusHandle> {
    let builder = match PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("seconds".into()), &BUCKETS)
    {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!("metrics disabled: {e}");
            return None;
        }
    };
    match builder.install_recorder() {
        Ok(handle) => {
            // Histograms and summaries are kept bounded by periodic upkeep.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                })
                .ok();
            Some(handle)
        }
        Err(e) => {
            tracing::warn!("metrics disabled: {e}");
            None
        }
    }
}

/// Gauges the runtime does not keep current itself, set just before a scrape renders them.
/// (Component counters, latency histograms, mailbox depth, breaker state and sessions are
/// recorded by the runtime as they change: `woodwork_component_*`, `woodwork_mailbox_depth`,
/// `woodwork_breaker_state`, `woodwork_sessions_active`.)
pub fn refresh_snapshot_gauges(state: &AppState) {
    metrics::gauge!("woodwork_sessions_active").set(state.runtime.session_count() as f64);
    metrics::gauge!("woodwork_uptime_seconds").set(state.started.elapsed().as_secs_f64());
}
