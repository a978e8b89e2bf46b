//! Turning tool results into the text an agent reads: JSON for non-strings, and a bound on size
//! (a tool answering megabytes must not blow the model's context or the process's memory).

/// Longest observation kept; longer ones are cut with a note saying how much was dropped.
pub const MAX_OBSERVATION: usize = 16 * 1024;

/// A JSON result as observation text: strings as they are, anything else as compact JSON.
pub fn from_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary, saying what was cut.
pub fn clip(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let total = s.len();
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push_str(&format!(" …(truncated: {total} bytes in all)"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_char_boundary_with_a_note() {
        let s = "é".repeat(10);
        let c = clip(s, 5);
        assert!(c.starts_with("éé"));
        assert!(c.contains("20 bytes in all"));
        assert_eq!(clip("short".into(), 5), "short");
    }

    #[test]
    fn json_results_render_compactly() {
        assert_eq!(from_json(&serde_json::json!("x")), "x");
        assert_eq!(from_json(&serde_json::json!({"a": 1})), r#"{"a":1}"#);
    }
}
