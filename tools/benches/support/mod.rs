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

/// Times `ours` and `floor` `n` times each, alternating, so machine noise hits both alike.
pub fn interleaved(
    n: usize,
    mut ours: impl FnMut(),
    mut floor: impl FnMut(),
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = std::time::Instant::now();
        ours();
        a.push(t.elapsed());
        let t = std::time::Instant::now();
        floor();
        b.push(t.elapsed());
    }
    (a, b)
}
