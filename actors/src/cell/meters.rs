//! A cell's metric handles (resolved once, so recording costs no label hashing per message) and
//! the moving average of its handling time that `/components` shows.

use std::sync::atomic::{AtomicU64, Ordering};

/// Metric handles resolved once at start, so recording costs no label hashing per message.
pub struct CellMetrics {
    pub processed: metrics::Counter,
    pub failed: metrics::Counter,
    pub restarts: metrics::Counter,
    pub latency: Latency,
    pub mailbox_depth: metrics::Gauge,
    pub breaker: metrics::Gauge,
}

impl CellMetrics {
    pub(super) fn new(name: &str) -> CellMetrics {
        let label = name.to_string();
        CellMetrics {
            processed: metrics::counter!("woodwork_component_processed_total", "component" => label.clone()),
            failed: metrics::counter!("woodwork_component_failed_total", "component" => label.clone()),
            restarts: metrics::counter!("woodwork_component_restarts_total", "component" => label.clone()),
            latency: Latency {
                histogram: metrics::histogram!("woodwork_component_latency_seconds", "component" => label.clone()),
                average_us: AtomicU64::new(NO_LATENCY),
            },
            mailbox_depth: metrics::gauge!("woodwork_mailbox_depth", "component" => label.clone()),
            breaker: metrics::gauge!("woodwork_breaker_state", "component" => label),
        }
    }
}

/// `average_us` before the first timed message.
const NO_LATENCY: u64 = u64::MAX;

/// Handling time of a component's spawned work: the Prometheus histogram, plus a moving average
/// `/components` (and the dashboard) can show without querying Prometheus. One atomic load and
/// store per message, no lock: only the component's actor records, one message at a time, so
/// a racing update can at worst lose one sample.
pub struct Latency {
    histogram: metrics::Histogram,
    /// Exponentially weighted moving average (weight 1/8 per sample), in microseconds.
    average_us: AtomicU64,
}

impl Latency {
    /// Records one handling time.
    pub fn record(&self, seconds: f64) {
        self.histogram.record(seconds);
        let sample = (seconds * 1e6).clamp(0.0, 1e15) as u64;
        let avg = match self.average_us.load(Ordering::Relaxed) {
            NO_LATENCY => sample,
            prev => prev - prev / 8 + sample / 8,
        };
        self.average_us
            .store(avg.min(NO_LATENCY - 1), Ordering::Relaxed);
    }

    /// The moving average in milliseconds; `None` until a message was timed.
    pub fn average_ms(&self) -> Option<f64> {
        match self.average_us.load(Ordering::Relaxed) {
            NO_LATENCY => None,
            us => Some(us as f64 / 1000.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_a_moving_average_and_none_before_the_first_sample() {
        let l = Latency {
            histogram: metrics::Histogram::noop(),
            average_us: AtomicU64::new(NO_LATENCY),
        };
        assert_eq!(l.average_ms(), None);
        l.record(0.010);
        assert_eq!(l.average_ms(), Some(10.0));
        l.record(0.002);
        assert_eq!(l.average_ms(), Some(9.0));
        l.record(-1.0);
        assert!(l.average_ms().is_some_and(|ms| ms < 9.0));
    }
}
