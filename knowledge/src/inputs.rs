//! Reading an agent's `{action, inputs}` for the knowledge-base tools, with errors that tell the
//! model exactly what to send instead (it reads them and tries again).

use serde_json::Value;
use woodwork_tools::shown::json_kind;
use woodwork_tools::{ToolError, ToolRequest};

/// The requested action, or an error listing the actions `component` has.
pub(crate) fn action_name(
    request: &ToolRequest,
    component: &str,
    actions: &str,
) -> Result<String, ToolError> {
    match request.action.as_deref().map(str::trim) {
        Some(a) if !a.is_empty() => Ok(a.to_string()),
        _ => Err(ToolError::Failed(format!(
            "{component}: no action given; use one of: {actions}"
        ))),
    }
}

/// The string input `key` of `action`; a bare string as the whole inputs counts as it too.
pub(crate) fn string_input(
    inputs: &Value,
    key: &str,
    action: &str,
    what: &str,
) -> Result<String, ToolError> {
    match inputs {
        Value::String(s) => Ok(s.clone()),
        Value::Object(map) => match map.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(ToolError::Failed(format!(
                "`{action}` needs `{key}` as a string ({what}), got {}",
                json_kind(other)
            ))),
            None => {
                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                Err(ToolError::Failed(format!(
                    "`{action}` needs `{key}` ({what}), e.g. {{\"{key}\": \"…\"}}; the inputs had {}",
                    if keys.is_empty() { "no keys".to_string() } else { format!("only {}", keys.join(", ")) }
                )))
            }
        },
        other => Err(ToolError::Failed(format!(
            "`{action}` needs inputs like {{\"{key}\": \"…\"}} ({what}), got {}",
            json_kind(other)
        ))),
    }
}

/// The optional positive count `key` (a number or a numeric string), `default` when absent.
pub(crate) fn optional_count(
    inputs: &Value,
    key: &str,
    default: usize,
    max: usize,
) -> Result<usize, ToolError> {
    let v = match inputs {
        Value::Object(map) => map.get(key),
        _ => None,
    };
    let n = match v {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if n >= 1.0 && n.fract() == 0.0 => Ok((n as usize).min(max)),
        _ => Err(ToolError::Failed(format!(
            "`{key}` must be a whole number of at least 1 (how many passages), got {}",
            v.map(|v| v.to_string()).unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_and_mistyped_inputs_say_what_to_send() {
        let e = string_input(&json!({"q": "x"}), "query", "query", "what to look for").unwrap_err();
        assert!(
            e.to_string().contains("needs `query`") && e.to_string().contains("only q"),
            "{e}"
        );
        let e = string_input(&json!({"query": 3}), "query", "query", "what").unwrap_err();
        assert!(e.to_string().contains("got a number"), "{e}");
        assert_eq!(
            string_input(&json!("bare"), "query", "query", "w").unwrap(),
            "bare"
        );
    }

    #[test]
    fn counts_default_cap_and_reject_nonsense() {
        assert_eq!(optional_count(&json!({}), "n", 3, 50).unwrap(), 3);
        assert_eq!(optional_count(&json!({"n": 5}), "n", 3, 50).unwrap(), 5);
        assert_eq!(optional_count(&json!({"n": "7"}), "n", 3, 50).unwrap(), 7);
        assert_eq!(optional_count(&json!({"n": 500}), "n", 3, 50).unwrap(), 50);
        assert!(optional_count(&json!({"n": 0}), "n", 3, 50).is_err());
        assert!(optional_count(&json!({"n": 1.5}), "n", 3, 50).is_err());
    }
}
