//! Kubernetes-safe names: DNS-1123 labels for objects and IANA service names for ports.

use std::path::Path;

/// Longest object name used: a DNS-1123 label (63) minus room for suffixes such as `-files`.
const MAX_NAME: usize = 50;

/// `s` as a DNS-1123 label (lowercase letters, digits, `-`; starts and ends alphanumeric), at most
/// `max` characters; `None` when nothing usable is left.
pub fn dns_label(s: &str, max: usize) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(max);
    let out = out.trim_matches('-').to_string();
    (!out.is_empty()).then_some(out)
}

/// The system's name: the file's stem, or its directory's name for the usual `main.ww`, so
/// `examples/quickstart/main.ww` exports as `quickstart`.
pub fn system_name(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let from_dir = || {
        path.canonicalize().ok().and_then(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
    };
    let raw = if stem == "main" || stem.is_empty() {
        from_dir().unwrap_or_else(|| stem.to_string())
    } else {
        stem.to_string()
    };
    validated_name(&raw).unwrap_or_else(|| "woodwork".to_string())
}

/// A user-given or derived name as an object name, if it can be one.
pub fn validated_name(raw: &str) -> Option<String> {
    let label = dns_label(raw, MAX_NAME)?;
    // A label must start with a letter for Services (RFC 1035).
    if label.starts_with(|c: char| c.is_ascii_digit()) {
        return dns_label(&format!("ww-{label}"), MAX_NAME);
    }
    Some(label)
}

/// A container/service port name (IANA service name: at most 15 characters, lowercase letters,
/// digits and single `-`, at least one letter), from the component's name, or `api-PORT` when the
/// name cannot be one or is taken.
pub fn port_name(component: &str, port: u16, taken: &[String]) -> String {
    let candidate = dns_label(component, 15)
        .map(|s| s.trim_end_matches('-').to_string())
        .filter(|s| !s.contains("--") && s.chars().any(|c| c.is_ascii_lowercase()));
    match candidate {
        Some(c) if !taken.contains(&c) && c != "http" => c,
        _ => format!("api-{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_lowercase_dashed_and_trimmed() {
        assert_eq!(
            dns_label("My_System.v2", 63).as_deref(),
            Some("my-system-v2")
        );
        assert_eq!(dns_label("--x--", 63).as_deref(), Some("x"));
        assert_eq!(dns_label("___", 63), None);
        assert_eq!(validated_name("2fast").as_deref(), Some("ww-2fast"));
    }

    #[test]
    fn port_names_fit_iana_rules() {
        assert_eq!(port_name("in", 8000, &[]), "in");
        assert_eq!(
            port_name("a_very_long_component_name", 8001, &[]),
            "a-very-long-com"
        );
        assert_eq!(port_name("in", 8002, &["in".into()]), "api-8002");
        assert_eq!(port_name("123", 8003, &[]), "api-8003");
        assert_eq!(port_name("http", 8004, &[]), "api-8004");
    }
}
