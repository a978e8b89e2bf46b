//! `output webhook` in `check`: no "partly supported" warning (serve POSTs), `retries` typed with
//! its default, and what `serve` could not send refused up front: a URL that is not http(s) with a
//! host, a header name that is not an HTTP token.

use std::path::Path;
use woodwork_parser::spec::Spec;
use woodwork_parser::*;

fn no_env(src: &str) -> CheckReport {
    check_source(
        Path::new("main.ww"),
        src,
        &CheckOptions {
            resolve_env: false,
            env: None,
        },
    )
}

#[test]
fn a_webhook_is_served_in_full_with_typed_retries_and_timeout() {
    let r = no_env(
        "w = output webhook { url: \"https://example.com/hook\", headers: { \"X-Api-Key\": \"k-1\" }, timeout: 2.5 }\n",
    );
    assert!(!r.has_errors(), "{}", r.render_text());
    assert!(r.diagnostics.is_empty(), "{}", r.render_text());
    let c = r.config.as_ref().unwrap().component("w").unwrap();
    assert_eq!(c.timeout, Some(std::time::Duration::from_millis(2500)));
    match c.spec() {
        Ok(Spec::Webhook(w)) => {
            assert_eq!(w.url, "https://example.com/hook");
            assert_eq!(w.retries, schema::defaults::WEBHOOK_RETRIES as u64);
            assert_eq!(w.headers.len(), 1);
            assert_eq!(w.headers[0].0, "X-Api-Key");
            assert_eq!(w.headers[0].1.expose(), "k-1");
        }
        other => panic!("{other:?}"),
    }
    let r = no_env("w = output webhook { url: \"http://127.0.0.1:1/h\", retries: 0 }\n");
    let c = r.config.as_ref().unwrap().component("w").unwrap();
    assert!(matches!(c.spec(), Ok(Spec::Webhook(w)) if w.retries == 0));
    let r = no_env("w = output webhook { url: \"http://127.0.0.1:1/h\", retries: -1 }\n");
    assert!(r.has_errors(), "{}", r.render_text());
    let r = no_env("w = output webhook { url: \"http://127.0.0.1:1/h\", retries: 11 }\n");
    assert!(r.has_errors(), "{}", r.render_text());
    assert!(
        r.render_text().contains("use at most 10"),
        "{}",
        r.render_text()
    );
    let r = no_env("w = output webhook { url: \"http://127.0.0.1:1/h\", retries: 10 }\n");
    assert!(!r.has_errors(), "{}", r.render_text());
}

#[test]
fn what_serve_could_not_send_is_refused() {
    let r = no_env(
        "a = output webhook { url: \"ftp://example.com/hook\" }\nb = output webhook { url: \"http:///nohost\" }\nc = output webhook { url: \"http://127.0.0.1:1/h\", headers: { \"bad name\": \"v\" } }\n",
    );
    let errors: Vec<&str> = r
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(errors.len(), 3, "{}", r.render_text());
    assert!(
        errors[0].contains("`a`") && errors[0].contains("http://"),
        "{errors:?}"
    );
    assert!(errors[1].contains("`b`"), "{errors:?}");
    assert!(errors[2].contains("`bad name`"), "{errors:?}");
}
