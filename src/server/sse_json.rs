//! The JSON of a runtime envelope as a turn stream's `data:` line, written straight into the
//! frame: the same bytes as `serde_json::to_writer(envelope)` (a test holds the two together),
//! without serde's per-character escaping of the field names, ids and numbers it knows need
//! none. That escaping was a fifth of the instructions a streamed token cost this process.

use serde_json::Value;
use woodwork_runtime::{Envelope, MessageId};

/// Appends `env` as compact JSON, field for field as its `Serialize` derive writes it.
pub fn write_envelope(buf: &mut Vec<u8>, env: &Envelope) {
    buf.extend_from_slice(b"{\"message_id\":");
    write_id(buf, env.message_id);
    buf.extend_from_slice(b",\"session_id\":");
    write_str(buf, &env.session_id);
    buf.extend_from_slice(b",\"event_type\":");
    write_str(buf, env.event_type.as_str());
    buf.extend_from_slice(b",\"payload\":");
    write_value(buf, &env.payload);
    buf.extend_from_slice(b",\"sender\":");
    write_str(buf, &env.sender);
    buf.extend_from_slice(b",\"target\":");
    write_opt_str(buf, env.target.as_deref());
    buf.extend_from_slice(b",\"created_at\":");
    write_f64(buf, env.created_at);
    buf.extend_from_slice(b",\"retry_count\":");
    write_int(buf, env.retry_count);
    buf.extend_from_slice(b",\"max_retries\":");
    write_int(buf, env.max_retries);
    buf.extend_from_slice(b",\"ttl\":");
    write_f64(buf, env.ttl);
    buf.extend_from_slice(b",\"trace_id\":");
    write_opt_str(buf, env.trace_id.as_deref());
    buf.extend_from_slice(b",\"correlation_id\":");
    match env.correlation_id {
        Some(id) => write_id(buf, id),
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b",\"deadline\":");
    match env.deadline {
        Some(d) => write_f64(buf, d),
        None => buf.extend_from_slice(b"null"),
    }
    if let Some(s) = &env.stream_id {
        buf.extend_from_slice(b",\"stream_id\":");
        write_str(buf, s);
    }
    if let Some(i) = env.chunk_index {
        buf.extend_from_slice(b",\"chunk_index\":");
        write_int(buf, i);
    }
    if let Some(f) = env.is_final {
        buf.extend_from_slice(if f {
            b",\"is_final\":true"
        } else {
            b",\"is_final\":false"
        });
    }
    buf.push(b'}');
}

/// A JSON value, objects and strings by hand (most of a payload), the rest by serde_json.
fn write_value(buf: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => write_str(buf, s),
        Value::Object(map) => {
            buf.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                write_str(buf, k);
                buf.push(b':');
                write_value(buf, v);
            }
            buf.push(b'}');
        }
        Value::Array(items) => {
            buf.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                write_value(buf, v);
            }
            buf.push(b']');
        }
        other => write_serde(buf, other),
    }
}

/// A JSON string: copied as is when nothing in it needs an escape (serde_json escapes only
/// control characters, `"` and `\\`), else escaped by serde_json.
fn write_str(buf: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        write_serde(buf, s);
    } else {
        buf.reserve(s.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    }
}

/// Whether `s` has a byte below 0x20, a `"` or a `\\`, looked for eight bytes at a time.
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Nonzero iff some byte of `y` is zero (the classic "has a zero byte" word test); the
    // same test against `0x20..` is nonzero iff some byte is below 0x20.
    let flagged = |x: u64| {
        let zero = |y: u64| y.wrapping_sub(ONES) & !y & HIGH;
        zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGH)
    };
    let mut words = s.chunks_exact(8);
    for w in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(w);
        if flagged(u64::from_le_bytes(bytes)) != 0 {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

fn write_opt_str(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(buf, s),
        None => buf.extend_from_slice(b"null"),
    }
}

/// A message id as its Serialize writes it: the hyphenated lowercase UUID, quoted.
fn write_id(buf: &mut Vec<u8>, id: MessageId) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 38];
    out[0] = b'"';
    out[37] = b'"';
    // Positions of the 32 hex digits in `"8-4-4-4-12"`.
    let mut at = 1;
    for (half, value) in [(0, id.hi), (1, id.lo)] {
        for nibble in 0..16 {
            if matches!(half * 16 + nibble, 8 | 12 | 16 | 20) {
                at += 1;
            }
            out[at] = HEX[((value >> (60 - 4 * nibble)) & 0xf) as usize];
            at += 1;
        }
    }
    buf.extend_from_slice(&out);
}

fn write_int(buf: &mut Vec<u8>, n: u32) {
    write_serde(buf, &n);
}

fn write_f64(buf: &mut Vec<u8>, x: f64) {
    write_serde(buf, &x);
}

fn write_serde<T: serde::Serialize + ?Sized>(buf: &mut Vec<u8>, v: &T) {
    let start = buf.len();
    // Writing a string or number into a Vec cannot fail; keep the JSON whole if it ever did.
    if serde_json::to_writer(&mut *buf, v).is_err() {
        buf.truncate(start);
        buf.extend_from_slice(b"null");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use woodwork_runtime::EventType;

    #[test]
    fn finds_every_byte_that_needs_an_escape_at_every_position() {
        for len in 1..20 {
            for at in 0..len {
                for b in 0u8..=255 {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    let want = b < 0x20 || b == b'"' || b == b'\\';
                    assert_eq!(needs_escape(&s), want, "byte {b} at {at} of {len}");
                }
            }
        }
    }

    fn same_as_serde(env: &Envelope) {
        let mut ours = Vec::new();
        write_envelope(&mut ours, env);
        let theirs = serde_json::to_vec(env).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(theirs).unwrap()
        );
    }

    #[test]
    fn writes_what_serde_writes() {
        let payload = serde_json::json!({
            "chunk": "a \"quoted\"\nline \\ é ✓ \u{1}",
            "component_id": "model",
            "n": [1, 2.5, -3, null, true, {"x": "y"}],
            "empty": {},
        });
        let parent = Envelope::new(
            Arc::from("sess\"ion\t1"),
            EventType::InputReceived,
            Arc::new(serde_json::json!("go")),
            Arc::from("api"),
        );
        same_as_serde(&parent);
        let mut env = parent.forward(
            EventType::StreamChunk,
            Arc::new(payload),
            Arc::from("model"),
            Arc::from("mo\u{7f}del"),
        );
        same_as_serde(&env);
        env.trace_id = Some(Arc::from("trace-1"));
        env.deadline = Some(1.0e21);
        env.created_at = 1_733_612_345.123_456_7;
        env.ttl = f64::NAN;
        env.stream_id = Some(Arc::from("s"));
        env.chunk_index = Some(u32::MAX);
        env.is_final = Some(false);
        env.retry_count = 7;
        same_as_serde(&env);
        env.is_final = Some(true);
        env.sender = Arc::from("0123456789abcdef\\x");
        env.target = Some(Arc::from("01234567\"x"));
        env.trace_id = Some(Arc::from("0123456789abcde\u{1f}"));
        env.message_id = MessageId::from_u128(u128::MAX);
        env.correlation_id = Some(MessageId::from_u128(0x0123_4567_89ab_cdef));
        same_as_serde(&env);
    }
}
