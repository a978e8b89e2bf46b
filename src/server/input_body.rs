//! Reads and checks the body of `POST /{component}/input`: JSON `{"input", "inputs", "session_id",
//! "stream", "deadline_ms"}` or plain text, with a byte limit, and errors that say what and where.

use crate::server::error::ApiError;
use actix_web::http::header;
use actix_web::HttpRequest;
use bytes::BytesMut;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::time::Duration;

/// Longest session id accepted (ids become map keys and log fields: keep them short).
pub const MAX_SESSION_ID_LEN: usize = 128;

/// A checked input request body.
#[derive(Debug, Default, PartialEq)]
pub struct ParsedInput {
    pub input: Value,
    pub inputs: Map<String, Value>,
    pub session_id: Option<String>,
    /// `"stream": true` in the body asks for SSE like `?stream=true` does.
    pub stream: bool,
    pub deadline: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBody {
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    inputs: Option<Map<String, Value>>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    deadline_ms: Option<u64>,
}

const BODY_HELP: &str = r#"send a JSON object like {"input": "hello", "session_id": "optional-id"} or a plain-text body"#;

/// Reads the whole body: 413 as soon as it passes `max_body` bytes, 408 when it takes longer
/// than `body_timeout` (every door that takes a body reads it this way).
pub async fn read_bounded<P>(
    req: &HttpRequest,
    payload: P,
    max_body: usize,
    body_timeout: Duration,
) -> Result<BytesMut, ApiError>
where
    P: futures_util::Stream<Item = Result<bytes::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    tokio::time::timeout(body_timeout, read_limited(req, payload, max_body))
        .await
        .map_err(|_| ApiError::body_timeout(body_timeout))?
}

/// Reads the whole body, refusing (413) as soon as it passes `limit` bytes.
pub async fn read_limited<P>(
    req: &HttpRequest,
    mut payload: P,
    limit: usize,
) -> Result<BytesMut, ApiError>
where
    P: futures_util::Stream<Item = Result<bytes::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::payload_too_large(limit));
    }
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request("bad_body", format!("could not read the request body: {e}"))
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// How the body is to be read, from its Content-Type (curl `-d` sends form-urlencoded, so a body
/// that is not declared JSON or text is sniffed: `{` first means JSON).
fn body_is_json(req: &HttpRequest, body: &[u8]) -> bool {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    if essence == "application/json" || essence.ends_with("+json") {
        return true;
    }
    if essence.starts_with("text/") {
        return false;
    }
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// Parses a read body; `header_session` is the `X-Session-Id` header, if any.
pub fn parse(
    req: &HttpRequest,
    body: &[u8],
    header_session: Option<String>,
) -> Result<ParsedInput, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::bad_request(
            "empty_body",
            format!("the request body is empty: {BODY_HELP}"),
        ));
    }
    let mut parsed = if body_is_json(req, body) {
        parse_json(body)?
    } else {
        parse_text(body)?
    };
    match (&parsed.session_id, header_session) {
        (Some(b), Some(h)) if *b != h => {
            return Err(ApiError::bad_request(
                "conflicting_session_id",
                "the body's session_id and the X-Session-Id header differ: send one of them",
            ))
        }
        (None, Some(h)) => parsed.session_id = Some(h),
        _ => {}
    }
    if let Some(id) = &parsed.session_id {
        check_session_id(id, "session_id")?;
    }
    Ok(parsed)
}

fn parse_json(body: &[u8]) -> Result<ParsedInput, ApiError> {
    let b: JsonBody = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "malformed_body",
            format!(
                "malformed JSON body at line {} column {}: {}; {BODY_HELP}",
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            ),
        )
    })?;
    let inputs = b.inputs.unwrap_or_default();
    let input = match b.input {
        Some(v) => v,
        None if !inputs.is_empty() => Value::Null,
        None => {
            return Err(ApiError::bad_request(
                "missing_input",
                format!("the JSON body has no \"input\" (or non-empty \"inputs\"): {BODY_HELP}"),
            ))
        }
    };
    Ok(ParsedInput {
        input,
        inputs,
        session_id: b.session_id,
        stream: b.stream.unwrap_or(false),
        deadline: b.deadline_ms.map(Duration::from_millis),
    })
}

/// serde_json appends " at line L column C"; the message gives the position once, up front.
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

fn parse_text(body: &[u8]) -> Result<ParsedInput, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_utf8",
            format!(
                "the request body is not valid UTF-8 (first bad byte at offset {}): send UTF-8 text \
                 or JSON",
                e.valid_up_to()
            ),
        )
    })?;
    Ok(ParsedInput {
        input: Value::String(text.trim_end_matches(['\r', '\n']).to_string()),
        ..ParsedInput::default()
    })
}

/// The `X-Session-Id` header, checked; `Ok(None)` when absent.
pub fn header_session_id(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("x-session-id") else {
        return Ok(None);
    };
    let s = v.to_str().map_err(|_| {
        ApiError::bad_request(
            "bad_session_id",
            "the X-Session-Id header is not printable ASCII: use letters, digits, '-', '_', '.', ':'",
        )
    })?;
    check_session_id(s, "X-Session-Id")?;
    Ok(Some(s.to_string()))
}

/// Session ids: 1–128 characters of `A-Z a-z 0-9 - _ . :` (UUIDs fit).
pub fn check_session_id(id: &str, what: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_SESSION_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "bad_session_id",
            format!(
                "{what} must be 1-{MAX_SESSION_ID_LEN} characters of letters, digits, '-', '_', \
                 '.', ':' (a UUID works); omit it to start a new session"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn json_req() -> HttpRequest {
        TestRequest::default()
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .to_http_request()
    }

    #[test]
    fn json_body_with_session() {
        let p = parse(&json_req(), br#"{"input":"hi","session_id":"s-1"}"#, None).unwrap();
        assert_eq!(p.input, Value::String("hi".into()));
        assert_eq!(p.session_id.as_deref(), Some("s-1"));
    }

    #[test]
    fn sniffed_json_without_content_type() {
        let req = TestRequest::default()
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .to_http_request();
        let p = parse(&req, br#" {"input":"hi"}"#, None).unwrap();
        assert_eq!(p.input, Value::String("hi".into()));
    }

    #[test]
    fn plain_text_body() {
        let req = TestRequest::default().to_http_request();
        let p = parse(&req, b"hello there\n", Some("abc".into())).unwrap();
        assert_eq!(p.input, Value::String("hello there".into()));
        assert_eq!(p.session_id.as_deref(), Some("abc"));
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let e = parse(&json_req(), b"{\n  \"input\": }", None).unwrap_err();
        assert_eq!(e.code, "malformed_body");
        assert!(e.message.contains("line 2 column"), "{}", e.message);
    }

    #[test]
    fn wrong_type_and_unknown_field_are_400() {
        let e = parse(&json_req(), br#"{"input":"x","session_id":5}"#, None).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        let e = parse(&json_req(), br#"{"inptu":"x"}"#, None).unwrap_err();
        assert!(e.message.contains("inptu"), "{}", e.message);
    }

    #[test]
    fn empty_missing_and_bad_utf8() {
        assert_eq!(
            parse(&json_req(), b"  ", None).unwrap_err().code,
            "empty_body"
        );
        assert_eq!(
            parse(&json_req(), b"{}", None).unwrap_err().code,
            "missing_input"
        );
        let req = TestRequest::default().to_http_request();
        assert_eq!(
            parse(&req, b"a\xff", None).unwrap_err().code,
            "invalid_utf8"
        );
    }

    #[test]
    fn session_ids_are_checked() {
        assert!(check_session_id("6f1c-aa:b.c_d", "x").is_ok());
        assert!(check_session_id("", "x").is_err());
        assert!(check_session_id("a b", "x").is_err());
        assert!(check_session_id(&"a".repeat(129), "x").is_err());
        let e = parse(
            &json_req(),
            br#"{"input":"x","session_id":"a"}"#,
            Some("b".into()),
        );
        assert_eq!(e.unwrap_err().code, "conflicting_session_id");
    }
}
