//! The event names of DESIGN.md §4, defined once: the checker validates `hooks:`/`pipes:` against
//! them and the runtime's `EventType` enum takes its names from them (index = variant order).

/// Every event name, in the order of the runtime's `EventType` variants.
pub const EVENT_NAMES: [&str; 19] = [
    "input.received",
    "agent.thought",
    "agent.action",
    "tool.call",
    "tool.observation",
    "agent.step_complete",
    "agent.error",
    "agent.response",
    "component.response",
    "stream.chunk",
    "stream.completed",
    "stream.failed",
    "component.state_changed",
    "component.restarted",
    "breaker.state_changed",
    "session.created",
    "session.ended",
    "config.reloaded",
    "config.rejected",
];

/// The wildcard a hook may name instead of one event: it applies to all of them.
pub const WILDCARD: &str = "*";

/// `*` followed by every event name: what a hook or pipe may name.
pub const WITH_WILDCARD: [&str; EVENT_NAMES.len() + 1] = {
    let mut out = [WILDCARD; EVENT_NAMES.len() + 1];
    let mut i = 0;
    while i < EVENT_NAMES.len() {
        out[i + 1] = EVENT_NAMES[i];
        i += 1;
    }
    out
};

/// The index of `name` in [`EVENT_NAMES`], so the runtime parses a name into its enum once.
pub fn index_of(name: &str) -> Option<usize> {
    EVENT_NAMES.iter().position(|n| *n == name)
}
