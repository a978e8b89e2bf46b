//! How values a user or a server gave are named in messages without revealing what they hold:
//! a JSON value by its kind, a URL without the parts where credentials hide.

use serde_json::Value;

/// "a string", "an object", …: what a value is, for "expected …, got …" messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `url` as it may appear in errors and logs: no user, password, query or fragment (keys and
/// tokens hide there); `None` when it does not parse (the caller says so in its own words).
pub fn public_url(url: &str) -> Option<String> {
    let mut u = reqwest::Url::parse(url).ok()?;
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    Some(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials_and_values_their_content() {
        assert_eq!(
            public_url("https://u:p@host:1/v1?key=k#f").as_deref(),
            Some("https://host:1/v1")
        );
        assert_eq!(public_url("not a url"), None);
        assert_eq!(json_kind(&serde_json::json!([1])), "a list");
    }
}
