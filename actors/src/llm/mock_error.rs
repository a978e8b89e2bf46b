//! Why an `llm mock` declaration cannot be played: typed so tests and the start error can tell a
//! malformed script entry from a malformed declaration, with messages naming the component and entry.

use woodwork_parser::spec::SpecError;

/// An `llm mock` that cannot be built; the message names the component (`llm `name`: …`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MockError {
    /// Its props do not read as a mock spec (a hand-built config with a wrong type).
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("llm `{llm}`: `replies` must be a list of strings or maps")]
    RepliesNotAList { llm: String },
    /// One entry of `replies` is malformed; `index` counts from 0 as the file lists them.
    #[error("llm `{llm}`: replies[{index}]: {source}")]
    Entry {
        llm: String,
        index: usize,
        source: EntryError,
    },
    #[error("llm `{llm}`: `reply` must be a string")]
    ReplyNotAString { llm: String },
}

/// What is wrong with one scripted entry, so [`MockError::Entry`] can say which entry it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("an entry must be a string or a map like {{ text: \"...\" }}")]
    NotAStringOrMap,
    #[error("`error` must be a string")]
    ErrorNotAString,
    /// An `error:` kind the mock cannot play.
    #[error("unknown error `{0}`; use rate_limited, server_error, auth or timeout")]
    UnknownError(String),
    #[error("`tool` must be a tool component name")]
    ToolNotAName,
    #[error("`text` must be a string")]
    TextNotAString,
    #[error("`delay_ms` must be a non-negative integer")]
    BadDelay,
    #[error("a map entry needs one of `text`, `error`, `panic` or `tool`")]
    NoAction,
}
