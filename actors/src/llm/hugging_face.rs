//! `llm hugging_face`: the Hugging Face router speaks the OpenAI Chat Completions protocol, so this
//! is the OpenAI client with the router's defaults (in the parser's schema), not a second
//! implementation.

/// The variable the error message suggests when the token is missing.
pub const KEY_VARIABLE: &str = "HF_TOKEN";
