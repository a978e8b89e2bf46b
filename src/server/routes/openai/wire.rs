//! The answers' JSON, as OpenAI's API defines them: `chat.completion`, `chat.completion.chunk`,
//! `model` and `list`. Serialized straight from borrowed fields (no JSON tree per answer).

use serde::Serialize;

/// `owned_by` of every model: the components are this server's own.
pub const OWNED_BY: &str = "woodwork";

/// Token counts. Woodwork does not tokenize; these are estimates (a token per 4 characters,
/// rounded up) of the user message the pipeline ran on and of the answer, so clients that sum
/// usage get plausible numbers rather than zeros.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

impl Usage {
    /// The estimate for `prompt` in and `answer` out.
    pub fn estimate(prompt: &str, answer: &str) -> Usage {
        let tokens = |s: &str| (s.chars().count() as u64).div_ceil(4);
        let (p, c) = (tokens(prompt), tokens(answer));
        Usage {
            prompt_tokens: p,
            completion_tokens: c,
            total_tokens: p + c,
        }
    }
}

/// A whole answer (`stream` false).
#[derive(Serialize)]
pub struct Completion<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: u64,
    pub model: &'a str,
    pub choices: [Choice<'a>; 1],
    pub usage: Usage,
}

#[derive(Serialize)]
pub struct Choice<'a> {
    pub index: u32,
    pub message: Message<'a>,
    pub logprobs: Option<()>,
    pub finish_reason: &'static str,
}

#[derive(Serialize)]
pub struct Message<'a> {
    pub role: &'static str,
    pub content: &'a str,
    pub refusal: Option<()>,
}

impl<'a> Completion<'a> {
    /// The answer `content` to the request `id` on `model`.
    pub fn new(id: &'a str, created: u64, model: &'a str, content: &'a str, usage: Usage) -> Self {
        Completion {
            id,
            object: "chat.completion",
            created,
            model,
            choices: [Choice {
                index: 0,
                message: Message {
                    role: "assistant",
                    content,
                    refusal: None,
                },
                logprobs: None,
                finish_reason: "stop",
            }],
            usage,
        }
    }
}

/// One streamed piece (`stream` true).
#[derive(Serialize)]
pub struct Chunk<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: u64,
    pub model: &'a str,
    pub choices: &'a [ChunkChoice<'a>],
    /// Left out unless `stream_options.include_usage`; then `null` on every chunk but the last,
    /// which carries the usage and no choices (as OpenAI streams it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Option<Usage>>,
}

#[derive(Serialize)]
pub struct ChunkChoice<'a> {
    pub index: u32,
    pub delta: Delta<'a>,
    pub logprobs: Option<()>,
    pub finish_reason: Option<&'static str>,
}

/// What a chunk adds: the role (first chunk), a piece of content, or nothing (last chunk).
#[derive(Serialize, Default)]
pub struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<&'a str>,
}

/// `GET /v1/models/{id}` and each entry of the list.
#[derive(Serialize)]
pub struct Model<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: u64,
    pub owned_by: &'static str,
}

impl<'a> Model<'a> {
    pub fn new(id: &'a str, created: u64) -> Self {
        Model {
            id,
            object: "model",
            created,
            owned_by: OWNED_BY,
        }
    }
}

/// `GET /v1/models`.
#[derive(Serialize)]
pub struct ModelList<'a> {
    pub object: &'static str,
    pub data: Vec<Model<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_estimates_a_token_per_four_characters() {
        assert_eq!(
            Usage::estimate("hello", ""),
            Usage {
                prompt_tokens: 2,
                completion_tokens: 0,
                total_tokens: 2
            }
        );
        assert_eq!(Usage::estimate("héllo wörld!", "abcd").total_tokens, 4);
    }

    #[test]
    fn a_chunk_without_usage_leaves_the_field_out() {
        let choices = [ChunkChoice {
            index: 0,
            delta: Delta {
                content: Some("hi"),
                ..Delta::default()
            },
            logprobs: None,
            finish_reason: None,
        }];
        let chunk = Chunk {
            id: "c",
            object: "chat.completion.chunk",
            created: 1,
            model: "m",
            choices: &choices,
            usage: None,
        };
        let v = serde_json::to_value(&chunk).unwrap();
        assert!(v.get("usage").is_none(), "{v}");
        assert_eq!(
            v["choices"][0]["delta"],
            serde_json::json!({"content": "hi"})
        );
        let v = serde_json::to_value(Chunk {
            usage: Some(None),
            ..chunk
        })
        .unwrap();
        assert!(v["usage"].is_null() && v.get("usage").is_some(), "{v}");
    }
}
