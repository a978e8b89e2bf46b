//! `memory short_term` (DESIGN.md §3): a per-session conversation window of `[USER]` / `[AI]`
//! turns, bounded by turns and bytes, like the Python engine's short-term memory. The windows live
//! in the session table, so sessions never share one and ending or evicting a session frees it.

use crate::llm::{ChatMessage, Role};
use std::collections::VecDeque;
use std::sync::Arc;
use woodwork_parser::schema::defaults;
use woodwork_parser::spec::{ShortTermSpec, Spec};
use woodwork_parser::Component;

/// Default number of turns kept per session (the schema's default).
pub const DEFAULT_MAX_TURNS: usize = defaults::SHORT_TERM_MAX_TURNS as usize;
/// Default bytes kept per session (the schema's default).
pub const DEFAULT_MAX_BYTES: usize = defaults::SHORT_TERM_MAX_BYTES as usize;

/// How much one memory component keeps per session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimits {
    pub max_turns: usize,
    pub max_bytes: usize,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        MemoryLimits {
            max_turns: DEFAULT_MAX_TURNS,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

impl MemoryLimits {
    /// The limits of a `memory short_term { max_turns, max_bytes }` declaration; a spec that
    /// cannot be read (a hand-built config with wrong types) keeps the defaults.
    pub fn of(c: &Component) -> MemoryLimits {
        let spec = match c.spec() {
            Ok(Spec::ShortTermMemory(s)) => s,
            _ => ShortTermSpec::default(),
        };
        MemoryLimits {
            max_turns: usize::try_from(spec.max_turns).unwrap_or(DEFAULT_MAX_TURNS),
            max_bytes: usize::try_from(spec.max_bytes).unwrap_or(DEFAULT_MAX_BYTES),
        }
    }
}

/// A `memory:` setting that names no declared component: the component cannot start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{component}`: memory `{memory}` is not declared; declare `{memory} = memory short_term {{}}`"
)]
pub struct MemoryRefError {
    /// The component whose `memory:` it is.
    pub component: String,
    /// The name it gives.
    pub memory: String,
}

/// Which memory a component uses: the memory component's name and limits. Resolved once when
/// the behaviour is built, so a turn costs no lookup.
#[derive(Clone, Debug)]
pub struct MemoryRef {
    pub name: Arc<str>,
    pub limits: MemoryLimits,
}

impl MemoryRef {
    /// The memory named by `c`'s `memory:` key, looked up among `components`.
    pub fn of<'a>(
        c: &Component,
        lookup: impl Fn(&str) -> Option<&'a Component>,
    ) -> Result<Option<MemoryRef>, MemoryRefError> {
        let Some(v) = c.prop("memory") else {
            return Ok(None);
        };
        let Some(name) = v.as_ref_name().or_else(|| v.as_str()) else {
            return Ok(None);
        };
        let m = lookup(name).ok_or_else(|| MemoryRefError {
            component: c.name.to_string(),
            memory: name.to_string(),
        })?;
        Ok(Some(MemoryRef {
            name: Arc::from(name),
            limits: MemoryLimits::of(m),
        }))
    }
}

/// One session's window: completed turns, oldest first.
#[derive(Debug, Default)]
pub struct MemoryWindow {
    turns: VecDeque<(String, String)>,
    bytes: usize,
}

impl MemoryWindow {
    /// Adds a turn and forgets the oldest ones until the window fits its limits. A single turn
    /// larger than `max_bytes` is cut (at a character boundary) rather than kept whole.
    pub fn push(&mut self, limits: MemoryLimits, user: &str, ai: &str) {
        let user = clip(user, limits.max_bytes / 2);
        let ai = clip(ai, limits.max_bytes - user.len());
        self.bytes += user.len() + ai.len();
        self.turns.push_back((user, ai));
        while self.turns.len() > limits.max_turns || self.bytes > limits.max_bytes {
            match self.turns.pop_front() {
                Some((u, a)) => self.bytes -= u.len() + a.len(),
                None => break,
            }
        }
    }

    /// Turns kept.
    pub fn len(&self) -> usize {
        self.turns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// Text bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The window as user / assistant chat messages, to prepend to a model call.
    pub fn messages(&self) -> Vec<ChatMessage> {
        let mut out = Vec::with_capacity(self.turns.len() * 2);
        for (u, a) in &self.turns {
            out.push(ChatMessage::new(Role::User, u.clone()));
            out.push(ChatMessage::new(Role::Assistant, a.clone()));
        }
        out
    }

    /// The window as the Python engine renders it: `[USER] …` / `[AI] …` lines.
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(self.bytes + self.turns.len() * 12);
        for (u, a) in &self.turns {
            s.push_str("[USER] ");
            s.push_str(u);
            s.push_str("\n[AI] ");
            s.push_str(a);
            s.push('\n');
        }
        s
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(turns: usize, bytes: usize) -> MemoryLimits {
        MemoryLimits {
            max_turns: turns,
            max_bytes: bytes,
        }
    }

    #[test]
    fn an_undeclared_memory_names_the_component_and_the_fix() {
        let mut c = Component::new(
            "bot".into(),
            woodwork_parser::Kind::Llm,
            "mock".into(),
            Default::default(),
        );
        assert!(matches!(MemoryRef::of(&c, |_| None), Ok(None)));
        c.props
            .insert("memory".into(), woodwork_parser::Value::Str("mem".into()));
        let e = match MemoryRef::of(&c, |_| None) {
            Err(e) => e,
            Ok(m) => panic!("expected an error, got {m:?}"),
        };
        assert_eq!(
            e.to_string(),
            "`bot`: memory `mem` is not declared; declare `mem = memory short_term {}`"
        );
    }

    #[test]
    fn keeps_the_last_turns() {
        let mut w = MemoryWindow::default();
        for i in 0..5 {
            w.push(limits(3, 1000), &format!("q{i}"), &format!("a{i}"));
        }
        assert_eq!(w.len(), 3);
        assert_eq!(
            w.render(),
            "[USER] q2\n[AI] a2\n[USER] q3\n[AI] a3\n[USER] q4\n[AI] a4\n"
        );
    }

    #[test]
    fn keeps_within_the_byte_bound() {
        let mut w = MemoryWindow::default();
        for _ in 0..10 {
            w.push(limits(100, 50), "0123456789", "0123456789");
        }
        assert!(w.bytes() <= 50);
        assert_eq!(w.len(), 2);
        w.push(limits(100, 50), &"é".repeat(100), "x");
        assert!(w.bytes() <= 50, "{}", w.bytes());
        assert_eq!(w.len(), 2); // the clipped turn (25 bytes) and the previous one (20)
    }
}
