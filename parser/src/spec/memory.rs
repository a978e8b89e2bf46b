//! Spec of `memory short_term`: how much of a conversation is kept per session.

use super::read::{Reader, SpecError};
use crate::schema::defaults;

/// `memory short_term { max_turns, max_bytes }` with the schema defaults applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortTermSpec {
    pub max_turns: u64,
    pub max_bytes: u64,
}

impl Default for ShortTermSpec {
    fn default() -> Self {
        ShortTermSpec {
            max_turns: defaults::SHORT_TERM_MAX_TURNS as u64,
            max_bytes: defaults::SHORT_TERM_MAX_BYTES as u64,
        }
    }
}

impl ShortTermSpec {
    /// Zero (which `check` refuses) falls back to the default, as the runtime always did.
    pub(crate) fn read(r: &Reader<'_>) -> Result<Self, SpecError> {
        let d = ShortTermSpec::default();
        Ok(ShortTermSpec {
            max_turns: r
                .u64("max_turns")?
                .filter(|n| *n > 0)
                .unwrap_or(d.max_turns),
            max_bytes: r
                .u64("max_bytes")?
                .filter(|n| *n > 0)
                .unwrap_or(d.max_bytes),
        })
    }
}
