//! Provider keys and URLs from the environment, like the SDKs (DESIGN.md §5): `llm openai` takes
//! `OPENAI_API_KEY` / `OPENAI_BASE_URL` and `llm claude` `ANTHROPIC_API_KEY` / `ANTHROPIC_BASE_URL`
//! when the file sets none; values from the environment are secrets; `check` names the variable
//! to set when a key is needed and found nowhere, and accepts the file under `--no-env`.

use std::collections::HashMap;
use std::path::Path;
use woodwork_parser::*;

fn check(src: &str, vars: Option<&[(&str, &str)]>) -> CheckReport {
    check_source(
        Path::new("main.ww"),
        src,
        &CheckOptions {
            resolve_env: vars.is_some(),
            env: vars.map(|v| {
                v.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<HashMap<_, _>>()
            }),
        },
    )
}

fn component(r: &CheckReport) -> &Component {
    assert!(!r.has_errors(), "{}", r.render_text());
    r.config.as_ref().unwrap().component("m").unwrap()
}

#[test]
fn claude_takes_key_and_url_from_the_environment_as_a_secret() {
    let r = check(
        "m = llm claude {}\n",
        Some(&[
            ("ANTHROPIC_API_KEY", "sk-ant-from-env"),
            ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/"),
        ]),
    );
    let c = component(&r);
    assert_eq!(
        c.prop("api_key"),
        Some(&Value::Secret(Secret::new("sk-ant-from-env")))
    );
    assert_eq!(c.prop_str("base_url"), Some("http://127.0.0.1:9/"));
    let p = c.spec().unwrap();
    let p = p.provider().unwrap();
    assert_eq!(
        p.api_key.as_ref().map(Secret::expose),
        Some("sk-ant-from-env")
    );
    assert!(!format!("{c:?}").contains("sk-ant-from-env"));
    assert!(!r.render_text().contains("sk-ant-from-env"));
}

#[test]
fn the_file_wins_over_the_environment() {
    let r = check(
        "m = llm claude { api_key: \"sk-file\", base_url: \"http://127.0.0.1:1\" }\n",
        Some(&[
            ("ANTHROPIC_API_KEY", "sk-env"),
            ("ANTHROPIC_BASE_URL", "http://127.0.0.1:2"),
        ]),
    );
    let c = component(&r);
    assert_eq!(
        c.prop("api_key"),
        Some(&Value::Secret(Secret::new("sk-file")))
    );
    assert_eq!(c.prop_str("base_url"), Some("http://127.0.0.1:1"));
}

#[test]
fn a_missing_key_names_the_variable_to_set_and_no_env_accepts_it() {
    for (src, var) in [
        ("m = llm claude {}\n", "ANTHROPIC_API_KEY"),
        ("m = llm openai {}\n", "OPENAI_API_KEY"),
    ] {
        let r = check(src, Some(&[]));
        assert!(r.has_errors());
        let d = &r.diagnostics[0];
        assert_eq!(d.code, "missing-key");
        assert!(
            d.help.as_deref().unwrap_or("").contains(var),
            "{}",
            r.render_text()
        );
        // A blank variable is no key.
        assert!(check(src, Some(&[(var, "  ")])).has_errors());
        // CI without secrets: the deployment may set it.
        let r = check(src, None);
        assert!(!r.has_errors(), "{}", r.render_text());
    }
}

#[test]
fn openai_from_the_environment_with_a_local_base_url_needs_no_key() {
    let r = check(
        "m = llm openai {}\n",
        Some(&[("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")]),
    );
    let c = component(&r);
    assert!(c.prop("api_key").is_none());
    assert_eq!(c.prop_str("base_url"), Some("http://127.0.0.1:8080/v1"));
    let r = check(
        "m = llm openai {}\n",
        Some(&[("OPENAI_API_KEY", "sk-env-openai")]),
    );
    let c = component(&r);
    assert_eq!(
        c.prop_str("base_url"),
        Some(schema::defaults::OPENAI_BASE_URL)
    );
    assert_eq!(
        c.prop("api_key"),
        Some(&Value::Secret(Secret::new("sk-env-openai")))
    );
}
