//! Where a call goes: the base URL with the action appended as a path (never a way out of it:
//! no `..`, other scheme, query or fragment), inputs as a query string, and the URL as messages
//! may show it (no credentials, no query: either can hold an API key).

use reqwest::Url;
use serde_json::Value;

/// Parses and checks the configured base URL.
pub fn base(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url.trim()).map_err(|e| {
        format!(
            "url `{}` is not a valid URL ({e}); write a full http:// or https:// URL",
            public_text(url)
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "url `{}` has scheme `{}`; only http:// and https:// are supported",
            public(&parsed),
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("url `{}` has no host", public(&parsed)));
    }
    Ok(parsed)
}

/// The URL an action names: `base` + "/" + action (no double slashes); no action → `base`.
pub fn join(base: &Url, action: Option<&str>) -> Result<Url, String> {
    let Some(action) = action.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(base.clone());
    };
    let shown = super::clip_chars(action, 100);
    let bad = |why: &str| {
        Err(format!(
            "action `{shown}` {why}; the action is a path appended to {}",
            public(base)
        ))
    };
    if action.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace");
    }
    if let Some(c) = action.chars().find(|c| matches!(c, '?' | '#' | '%' | '\\')) {
        return bad(&format!("contains `{c}` (put parameters in inputs)"));
    }
    if action.split('/').any(|seg| seg == ".." || seg == ".") {
        return bad("contains a `..` or `.` segment");
    }
    if action.starts_with("//") || has_scheme(action) {
        return bad("is a URL, not a path");
    }
    let mut url = base.clone();
    let path = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        action.trim_start_matches('/')
    );
    url.set_path(&path);
    Ok(url)
}

fn has_scheme(s: &str) -> bool {
    let Some((head, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = head.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Appends `inputs` (an object) to the query: scalars as text, arrays as repeated keys,
/// objects as JSON text, nulls left out.
pub fn add_query(url: &mut Url, inputs: &Value) -> Result<(), String> {
    let map = match inputs {
        Value::Null => return Ok(()),
        Value::Object(m) if m.is_empty() => return Ok(()),
        Value::Object(m) => m,
        _ => {
            return Err(
                "inputs must be a JSON object; its entries become query parameters".to_string(),
            )
        }
    };
    let mut pairs = url.query_pairs_mut();
    for (k, v) in map {
        match v {
            Value::Null => {}
            Value::Array(items) => {
                for item in items {
                    pairs.append_pair(k, &text(item));
                }
            }
            other => {
                pairs.append_pair(k, &text(other));
            }
        }
    }
    drop(pairs);
    Ok(())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `scheme://host[:port]/path`, the form errors and descriptions show.
pub fn public(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// `public` for a URL that may not parse (settings' `Debug`).
pub fn public_text(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(u) => public(&u),
        Err(_) => "<unparsable url>".to_string(),
    }
}

/// `scheme://host[:port]`: what a redirect may not leave when the tool sends headers.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actions_join_without_double_slashes() {
        let b = base("http://h:1/api/").unwrap();
        assert_eq!(
            join(&b, Some("/users/1")).unwrap().as_str(),
            "http://h:1/api/users/1"
        );
        assert_eq!(join(&b, None).unwrap().as_str(), "http://h:1/api/");
        let b = base("http://h/api?key=s").unwrap();
        assert_eq!(
            join(&b, Some("x")).unwrap().as_str(),
            "http://h/api/x?key=s"
        );
        for bad in [
            "../x",
            "a/../b",
            "x?y=1",
            "x#f",
            "http://evil",
            "//evil",
            "a b",
            "%2e%2e",
        ] {
            assert!(join(&b, Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_encoding_and_public_form() {
        let mut u = base("https://u:p@h/s?key=secret").unwrap();
        add_query(
            &mut u,
            &json!({"q": "a b", "n": 2, "t": [1, "x"], "o": {"k": true}, "z": null}),
        )
        .unwrap();
        let mut pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        pairs.sort();
        let want = [
            ("key", "secret"),
            ("n", "2"),
            ("o", r#"{"k":true}"#),
            ("q", "a b"),
            ("t", "1"),
            ("t", "x"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs, want);
        assert_eq!(public(&u), "https://h/s");
        assert!(base("ftp://h/").is_err());
        assert!(base("http://").is_err());
        assert!(base("nonsense").is_err());
    }
}
