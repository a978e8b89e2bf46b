//! A streamed request is answered 200 the moment its stream starts; a refusal found after that can
//! only be an `error` event, without the status and `Retry-After` clients retry on. So before a
//! stream starts, the circuit breakers the request is certain to meet before any output are
//! checked, and an open one is answered 503 + `Retry-After` exactly as a non-streamed request is.
//!
//! Certain to meet: the entry component (the bus admits it through its breaker); the route
//! targets of an input component (it passes the input straight on), followed the same way; an
//! agent's `model:` (its first step is a call through that llm's breaker). An llm's calls go
//! through its own breaker, the entry's.

use woodwork_parser::Kind;
use woodwork_runtime::{admit, BreakerState, ComponentCell, Runtime, RuntimeError};

/// Bound on the components looked at (a route table is small; this only guards the walk).
const MAX_CELLS: usize = 64;

/// `Err(Unavailable)` (with the breaker's own wait) when a breaker the request to `component`
/// must pass is open. Unknown names pass: the runtime answers those itself.
pub fn check(runtime: &Runtime, component: &str) -> Result<(), RuntimeError> {
    let router = runtime.router();
    let Some(entry) = router.lookup(component) else {
        return Ok(());
    };
    let mut todo = vec![entry.clone()];
    let mut seen = vec![entry.index];
    while let Some(cell) = todo.pop() {
        refuse_if_open(runtime, &cell)?;
        let next: Vec<usize> = match cell.spec.kind {
            Kind::Input => cell.routes.clone(),
            Kind::Agent => cell
                .spec
                .prop("model")
                .and_then(|v| v.as_ref_name().or_else(|| v.as_str()))
                .and_then(|name| router.lookup(name))
                .map(|m| vec![m.index])
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for i in next {
            if seen.len() >= MAX_CELLS || seen.contains(&i) {
                continue;
            }
            if let Some(c) = router.cells().get(i) {
                seen.push(i);
                todo.push(c.clone());
            }
        }
    }
    Ok(())
}

/// Asks an open breaker for its wait. Only a breaker that reads `Open` is asked: asking is what
/// the bus does on admission, and on an open breaker it changes nothing (a half-open one would
/// spend a trial call). Should the reset timeout pass in between, the breaker turns half-open
/// here instead of at the bus, and the change is published as the bus would have.
fn refuse_if_open(runtime: &Runtime, cell: &ComponentCell) -> Result<(), RuntimeError> {
    if cell.breaker.state() != BreakerState::Open {
        return Ok(());
    }
    admit(runtime.bus().as_ref(), cell).map_err(RuntimeError::from)
}
