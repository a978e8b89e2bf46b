//! Turning an HTTP answer into an observation: the body read with a cap (a 10 MB answer is not
//! downloaded whole), cut to `MAX_OBSERVATION`, and non-2xx answers as errors the model can read.

use super::target;
use crate::observation::{clip, MAX_OBSERVATION};
use crate::ToolError;
use reqwest::{Response, StatusCode};

/// Characters of an error body quoted in the observation.
const ERROR_BODY_CHARS: usize = 500;

/// A body read up to a cap.
pub struct Body {
    pub bytes: Vec<u8>,
    /// More was on the wire than the cap.
    pub truncated: bool,
}

/// Reads at most `cap` bytes of the body, then stops (the rest is never downloaded).
pub async fn read(resp: &mut Response, cap: usize) -> Result<Body, reqwest::Error> {
    let hint = resp
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(8 * 1024);
    let mut bytes = Vec::with_capacity(hint.min(cap).min(256 * 1024));
    while let Some(chunk) = resp.chunk().await? {
        let room = cap - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Body {
                bytes,
                truncated: true,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body {
        bytes,
        truncated: false,
    })
}

/// The observation for a 2xx answer.
pub fn success(status: StatusCode, content_type: Option<&str>, body: Body) -> String {
    if body.bytes.is_empty() {
        return format!("HTTP {} (no body)", status_text(status));
    }
    let len = body.bytes.len();
    let Some(text) = decode(body.bytes, content_type) else {
        return format!(
            "binary response ({}, {len}{} bytes); this tool shows text only",
            content_type.unwrap_or("no content type"),
            if body.truncated { "+" } else { "" }
        );
    };
    if !body.truncated {
        return clip(text, MAX_OBSERVATION);
    }
    let mut head = text;
    if head.len() > MAX_OBSERVATION {
        let mut end = MAX_OBSERVATION;
        while !head.is_char_boundary(end) {
            end -= 1;
        }
        head.truncate(end);
    }
    head.push_str(&format!(" …(truncated: more than {len} bytes)"));
    head
}

/// The error for a non-2xx answer: status, where from, and the start of the body.
pub fn failure(status: StatusCode, url: &reqwest::Url, body: Body) -> ToolError {
    let text = String::from_utf8_lossy(&body.bytes);
    let text = text.trim();
    let snippet = match text.char_indices().nth(ERROR_BODY_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    };
    let from = target::public(url);
    ToolError::Failed(if snippet.is_empty() {
        format!("HTTP {} from {from}", status_text(status))
    } else {
        format!("HTTP {} from {from}: {snippet}", status_text(status))
    })
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// The body as text: UTF-8 (a sequence cut by the cap at the end dropped), or lossy when the
/// content type says text; `None` for binary.
fn decode(bytes: Vec<u8>, content_type: Option<&str>) -> Option<String> {
    let e = match String::from_utf8(bytes) {
        Ok(s) => return Some(s),
        Err(e) => e,
    };
    let err = e.utf8_error();
    let mut bytes = e.into_bytes();
    if err.error_len().is_none() {
        bytes.truncate(err.valid_up_to());
        return String::from_utf8(bytes).ok();
    }
    let texty = content_type.is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.starts_with("text/") || t.contains("json") || t.contains("xml")
    });
    texty.then(|| String::from_utf8_lossy(&bytes).into_owned())
}
