//! What the tool benches share: the p50/p99 of interleaved samples, in microseconds.

use std::time::Duration;

/// (p50, p99) of `v` in microseconds.
pub fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    (
        us(v[v.len() / 2]),
        us(v[(v.len() * 99 / 100).min(v.len() - 1)]),
    )
}
