//! What one `input api` declaration asks for (`port`, `host`, `cors`), read from its checked props
//! and validated before anything is bound, so a bad value stops `serve` with a message that names
//! the component instead of failing later on a socket.

use woodwork_parser::{Component, Kind, Value};

/// The schema's default `port` and `host` (parser/src/schema.rs), used only for hand-built
/// configs whose props lack them (a checked file always has them filled in).
const DEFAULT_PORT: i64 = 8000;
const DEFAULT_HOST: &str = "127.0.0.1";

/// Longest `cors:` list accepted (each entry is compared per request).
const MAX_ORIGINS: usize = 64;

/// One `input api` component's server settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiSpec {
    /// The component's name: the entry point of the pipeline this port serves.
    pub name: String,
    pub host: String,
    pub port: u16,
    /// Origins browsers may call from; `None` = any origin (`cors:` absent or `["*"]`).
    pub cors: Option<Vec<String>>,
}

/// Every `input api` declaration of the config, in declaration order.
pub fn all(components: &[Component]) -> Result<Vec<ApiSpec>, String> {
    components
        .iter()
        .filter(|c| c.kind == Kind::Input && c.type_name == "api")
        .map(read)
        .collect()
}

/// Reads and validates one declaration.
pub fn read(c: &Component) -> Result<ApiSpec, String> {
    let what = |key: &str| format!("input api `{}` (line {}): `{key}`", c.name, c.span.line);
    let port = match c.prop("port") {
        None | Some(Value::Null) => DEFAULT_PORT,
        Some(Value::Int(p)) => *p,
        Some(_) => return Err(format!("{} must be a whole number", what("port"))),
    };
    let port = u16::try_from(port).map_err(|_| {
        format!(
            "{} is {port}, not a TCP port: use 1-65535 (or 0 for any free port)",
            what("port")
        )
    })?;
    let host = match c.prop("host") {
        None | Some(Value::Null) => DEFAULT_HOST.to_string(),
        Some(Value::Str(h)) if !h.trim().is_empty() => h.trim().to_string(),
        Some(_) => {
            return Err(format!(
                "{} must be an address to bind, e.g. \"127.0.0.1\" or \"0.0.0.0\"",
                what("host")
            ))
        }
    };
    let cors = match c.prop("cors") {
        None | Some(Value::Null) => None,
        Some(Value::List(items)) => origins(items, &what("cors"))?,
        Some(_) => {
            return Err(format!(
                "{} must be a list of origins, e.g. [\"http://localhost:3000\"]",
                what("cors")
            ))
        }
    };
    Ok(ApiSpec {
        name: c.name.clone(),
        host,
        port,
        cors,
    })
}

/// The allowed origins; `None` when the list allows any (`"*"`).
fn origins(items: &[Value], what: &str) -> Result<Option<Vec<String>>, String> {
    if items.len() > MAX_ORIGINS {
        return Err(format!(
            "{what} lists {} origins; at most {MAX_ORIGINS} are accepted (use \"*\" for any)",
            items.len()
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Some(origin) = item.as_str() else {
            return Err(format!(
                "{what} must hold strings like \"http://localhost:3000\""
            ));
        };
        let origin = origin.trim();
        if origin == "*" {
            return Ok(None);
        }
        check_origin(origin).map_err(|why| format!("{what}: \"{origin}\" {why}"))?;
        out.push(origin.to_ascii_lowercase());
    }
    Ok(Some(out))
}

/// An origin is `scheme://host[:port]`: no path, query or trailing slash (browsers send exactly
/// that in `Origin`, so anything else would never match).
fn check_origin(origin: &str) -> Result<(), String> {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err(
            "is not an origin: write scheme://host[:port], e.g. http://localhost:3000".into(),
        );
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return Err("is not an http(s) origin: write http://… or https://…".into());
    }
    if rest.is_empty()
        || rest.contains(['/', '?', '#', ' '])
        || rest.chars().any(|ch| ch.is_control())
    {
        let trimmed = format!(
            "{scheme}://{}",
            rest.split(['/', '?', '#']).next().unwrap_or("")
        );
        return Err(format!(
            "is not an origin (no path, query or trailing slash): write \"{trimmed}\""
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use woodwork_parser::Span;

    fn api(props: &[(&str, Value)]) -> Component {
        let mut c = Component::new("door".into(), Kind::Input, "api".into(), Span::default());
        for (k, v) in props {
            c.props.insert((*k).into(), v.clone());
        }
        c
    }

    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| Value::Str((*s).into())).collect())
    }

    #[test]
    fn defaults_are_the_schemas() {
        let s = read(&api(&[])).unwrap();
        assert_eq!((s.host.as_str(), s.port, s.cors), ("127.0.0.1", 8000, None));
    }

    #[test]
    fn a_port_out_of_range_names_the_component_and_the_fix() {
        let e = read(&api(&[("port", Value::Int(70000))])).unwrap_err();
        assert!(
            e.contains("input api `door`") && e.contains("1-65535"),
            "{e}"
        );
    }

    #[test]
    fn cors_lists_origins_and_a_star_means_any() {
        let s = read(&api(&[("cors", list(&["http://Localhost:3000"]))])).unwrap();
        assert_eq!(s.cors, Some(vec!["http://localhost:3000".to_string()]));
        let any = read(&api(&[("cors", list(&["http://a.example", "*"]))])).unwrap();
        assert_eq!(any.cors, None);
    }

    #[test]
    fn a_cors_entry_with_a_path_says_what_to_write() {
        let e = read(&api(&[("cors", list(&["http://a.example/app/"]))])).unwrap_err();
        assert!(e.contains("write \"http://a.example\""), "{e}");
        let e = read(&api(&[("cors", list(&["a.example"]))])).unwrap_err();
        assert!(e.contains("scheme://host"), "{e}");
    }
}
