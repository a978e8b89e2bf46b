//! `llm hugging_face`: the Hugging Face router speaks the OpenAI Chat Completions protocol, so this
//! is the OpenAI client with the router's defaults, not a second implementation.

/// The router's OpenAI-compatible endpoint.
pub const DEFAULT_BASE_URL: &str = "https://router.huggingface.co/v1";
/// A small, widely served chat model, used when `model` is not given.
pub const DEFAULT_MODEL: &str = "meta-llama/Llama-3.1-8B-Instruct";
/// The variable the error message suggests when the token is missing.
pub const KEY_VARIABLE: &str = "HF_TOKEN";
