//! The start errors of hooks and pipes: typed, and worded exactly as the start reports them
//! (users and the integration tests read these texts).

use super::webhook::WebhookUrlError;
use super::{HookLimits, HookSet, HookSetupError, PythonWorkers};
use std::path::Path;
use woodwork_parser::{Component, HookAction, HookSpec, Kind, Span};

fn component(pipes: Vec<HookSpec>) -> Component {
    Component {
        pipes,
        ..Component::new("cli".into(), Kind::Input, "api".into(), Default::default())
    }
}

fn at_line(line: u32, action: HookAction) -> HookSpec {
    HookSpec {
        event: "*".into(),
        action,
        span: Span {
            line,
            ..Default::default()
        },
    }
}

fn setup_error(pipe: HookSpec) -> HookSetupError {
    let c = component(vec![pipe]);
    let mut workers = PythonWorkers::new();
    match HookSet::with_global_pipes(
        &c,
        &[],
        Path::new("/nonexistent-woodwork-dir"),
        &mut workers,
        HookLimits::default(),
    ) {
        Ok(_) => panic!("expected the pipe to be refused"),
        Err(e) => e,
    }
}

#[test]
fn an_empty_command_says_what_to_write() {
    let e = setup_error(at_line(4, HookAction::Command { argv: vec![] }));
    assert!(matches!(&e, HookSetupError::EmptyCommand { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "component `cli` line 4: pipe `command` is empty; give the program and its arguments, \
         e.g. command: [\"python3\", \"pipe.py\"]"
    );
}

#[test]
fn a_webhook_url_that_is_not_http_is_refused_where_it_is_written() {
    let e = setup_error(at_line(
        7,
        HookAction::Webhook {
            url: "ftp://example.com/x".into(),
        },
    ));
    assert!(
        matches!(
            &e,
            HookSetupError::WebhookUrl {
                source: WebhookUrlError::NotHttp,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "component `cli` line 7: pipe: webhook URL must be http:// or https:// with a host"
    );
    let e = setup_error(at_line(
        8,
        HookAction::Webhook {
            url: "not a url".into(),
        },
    ));
    assert_eq!(
        e.to_string(),
        "component `cli` line 8: pipe: webhook URL is invalid: relative URL without a base"
    );
}

#[test]
fn a_missing_script_names_the_path_and_how_it_resolves() {
    let e = setup_error(at_line(
        3,
        HookAction::Python {
            script_path: "pipes.py".into(),
            function_name: "f".into(),
        },
    ));
    assert!(matches!(&e, HookSetupError::ScriptNotFound { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "component `cli` line 3: pipe: script `/nonexistent-woodwork-dir/pipes.py` not found \
         (relative paths are resolved against the .ww file's directory)"
    );
}
