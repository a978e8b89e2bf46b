//! The seed documents' `.ww` forms (DESIGN.md §2): quoted declaration names where a reference is
//! expected, `"file.py::function"` hooks and pipes, global `hooks = [...]` / `pipes = [...]`, the
//! top-level `deployment = local|server|docker { … }` block and a component's `deployment` and
//! `metrics` maps: parsed, validated, typed, and kept by `fmt`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use woodwork_parser::spec::*;
use woodwork_parser::*;

fn check(path: &Path, src: &str, vars: Option<&[(&str, &str)]>) -> CheckReport {
    let opts = match vars {
        None => CheckOptions {
            resolve_env: false,
            env: None,
        },
        Some(vars) => CheckOptions {
            resolve_env: true,
            env: Some(
                vars.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<HashMap<_, _>>(),
            ),
        },
    };
    check_source(path, src, &opts)
}

fn no_env(src: &str) -> CheckReport {
    check(Path::new("main.ww"), src, None)
}

fn with_env(src: &str, vars: &[(&str, &str)]) -> CheckReport {
    check(Path::new("main.ww"), src, Some(vars))
}

fn ok(r: &CheckReport) -> &Config {
    assert!(!r.has_errors(), "unexpected errors:\n{}", r.render_text());
    r.config
        .as_ref()
        .expect("a config when there are no errors")
}

fn codes(r: &CheckReport) -> Vec<&'static str> {
    r.diagnostics.iter().map(|d| d.code).collect()
}

fn only_error<'a>(r: &'a CheckReport, code: &str) -> &'a Diagnostic {
    let errors: Vec<&Diagnostic> = r.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{}", r.render_text());
    assert_eq!(errors[0].code, code, "{}", r.render_text());
    errors[0]
}

/// A fresh folder holding `files`, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str, files: &[(&str, &str)]) -> Dir {
        let dir = std::env::temp_dir().join(format!("ww-seed-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write file");
        }
        Dir(dir)
    }

    fn ww(&self) -> PathBuf {
        self.0.join("main.ww")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn quoted_names_are_references_like_bare_ones() {
    let r = no_env(
        r#"
input = cli {}
m = llm mock { reply: "hi" }
t = api functions { path: "tools.py", functions: [] }
agent = agent llm {
    model: "m"
    tools: ["t"]
    to = ["output", "log"]
}
output = output console {}
log = output console {}
single = agent llm { model: m, to: "output" }
"#,
    );
    let c = ok(&r);
    let agent = c.component("agent").unwrap();
    assert_eq!(agent.prop("model").and_then(Value::as_ref_name), Some("m"));
    assert_eq!(
        agent.prop("tools"),
        Some(&Value::List(vec![Value::Ref(RefName { name: "t".into() })]))
    );
    assert_eq!(agent.to, vec!["output", "log"]);
    assert_eq!(
        c.routes_from("agent").collect::<Vec<_>>(),
        ["output", "log"]
    );
    assert_eq!(c.routes_from("single").collect::<Vec<_>>(), ["output"]);
    // A quoted reference is a start dependency like a bare one.
    let pos = |n: &str| c.start_order.iter().position(|x| x == n).unwrap();
    assert!(pos("m") < pos("agent") && pos("t") < pos("agent"));
}

#[test]
fn an_unknown_quoted_name_gets_did_you_mean() {
    let r = no_env(
        "agent = agent llm { model: \"modle\", to: [\"outptu\"] }\nmodel = llm mock {}\noutput = output console {}\n",
    );
    let unknown: Vec<&Diagnostic> = r
        .diagnostics
        .iter()
        .filter(|d| d.code == "unknown-reference")
        .collect();
    assert_eq!(unknown.len(), 2, "{}", r.render_text());
    assert!(unknown[0].message.contains("`modle`"));
    let help = unknown[0].help.as_deref().unwrap_or("");
    assert!(help.contains("\"model\""), "{help}");
    assert!(!help.contains("quote it"), "{help}");
    assert!(unknown[1].message.contains("`outptu`"));
    assert_eq!(
        unknown[1].labels.first().map(|l| l.1.as_str()),
        Some("did you mean `output`?")
    );
    // A quoted name that names a declaration of the wrong kind is `wrong-kind`, as bare.
    let r = no_env("a = agent llm { model: \"i\" }\ni = input cli {}\n");
    only_error(&r, "wrong-kind");
}

#[test]
fn file_function_shorthand_hooks_and_pipes() {
    let dir = Dir::new(
        "shorthand",
        &[("hooks.py", "def on_event(p):\n    return None\n")],
    );
    let src = r#"
m = llm mock {
    hooks: ["hooks.py::on_event"]
    pipes: ["hooks.py::on_event", { event: "input.received", log: "info" }]
}
"#;
    let r = check(&dir.ww(), src, None);
    let c = ok(&r);
    let m = c.component("m").unwrap();
    assert_eq!(m.hooks.len(), 1);
    assert_eq!(m.hooks[0].event, "*");
    assert_eq!(
        m.hooks[0].action,
        HookAction::Python {
            script_path: "hooks.py".into(),
            function_name: "on_event".into()
        }
    );
    assert_eq!(m.pipes.len(), 2);
    assert_eq!(m.pipes[1].event, "input.received");
}

#[test]
fn a_missing_shorthand_script_is_an_error_at_check() {
    let dir = Dir::new("missing", &[]);
    let r = check(
        &dir.ww(),
        "m = llm mock { hooks: [\"nothere.py::f\"] }\n",
        None,
    );
    let d = only_error(&r, "missing-file");
    assert!(d.message.contains("nothere.py"), "{}", d.message);
    assert!(d.help.as_deref().unwrap_or("").contains("folder"));
    assert_eq!(d.span.line, 1);
}

#[test]
fn malformed_shorthands_are_invalid_hooks() {
    for bad in ["hooks.py", "::f", "h.py::", "h.py::not a name", "h.py::1f"] {
        let r = no_env(&format!("m = llm mock {{ hooks: [\"{bad}\"] }}\n"));
        let d = only_error(&r, "invalid-hook");
        assert!(d.help.as_deref().unwrap_or("").contains("::"), "{bad}");
    }
}

#[test]
fn global_hooks_and_pipes_are_top_level_settings() {
    let dir = Dir::new("global", &[("g.py", "def f(p):\n    return None\n")]);
    let src = r#"
# every event of every component
hooks = [
    { event: "*", log: "debug" },
    "g.py::f",
    { event: "session.created", command: ["python3", "h.py"] },
]
pipes = [{ event: "input.received", webhook: "http://127.0.0.1:9/p" }]
m = llm mock {}
"#;
    let r = check(&dir.ww(), src, None);
    let c = ok(&r);
    assert_eq!(c.hooks.len(), 3);
    assert_eq!(c.hooks[1].event, "*");
    assert_eq!(c.hooks[2].event, "session.created");
    assert_eq!(c.pipes.len(), 1);
    assert_eq!(c.components.len(), 1, "settings are not components");
    assert!(c.component("m").unwrap().hooks.is_empty());
    let summary = summary::summary_text(c, "main.ww", 0);
    assert!(
        summary.contains("global: 3 hooks, 1 pipe (every component)"),
        "{summary}"
    );
    assert_eq!(summary::summary_json(c)["global_hooks"], 3);

    // A missing global shorthand script is caught too.
    let r = check(&dir.ww(), "hooks = [\"gone.py::f\"]\n", None);
    only_error(&r, "missing-file");
}

#[test]
fn unknown_and_repeated_top_level_settings() {
    let r = no_env("hoks = []\nm = llm mock {}\n");
    let d = only_error(&r, "unknown-setting");
    assert!(d.help.as_deref().unwrap_or("").contains("`hooks`"));

    let r = no_env("hooks = []\nhooks = []\n");
    only_error(&r, "duplicate-key");

    let r = no_env("pipes = [{ event: \"input.recieved\", log: \"info\" }]\n");
    assert!(!r.has_errors());
    assert_eq!(codes(&r), ["unknown-event"]);

    let r = no_env("hooks = \"x.py::f\"\n");
    only_error(&r, "wrong-type");
}

#[test]
fn deployment_block_with_a_redis_bus_is_typed_and_warned_about() {
    let src = r#"
deployment = local {
    message_bus = redis {
        redis_url = $REDIS_URL
        stream_prefix = "demo"
        consumer_group = "components"
        max_retries = 5
        dead_letter_ttl = 3600
    }
}
m = llm mock {}
"#;
    let r = with_env(src, &[("REDIS_URL", "redis://:hunter2@cache:6379/0")]);
    let c = ok(&r);
    let d = c.deployment.as_ref().expect("deployment");
    assert_eq!(d.target, DeploymentTarget::Local);
    let bus = d.message_bus.as_ref().expect("bus");
    assert_eq!(bus.kind, Some(BusKind::Redis));
    match &bus.url {
        Some(BusUrl::Given(s)) => assert_eq!(s.expose(), "redis://:hunter2@cache:6379/0"),
        other => panic!("url: {other:?}"),
    }
    assert_eq!(bus.stream_prefix.as_deref(), Some("demo"));
    assert_eq!(bus.consumer_group.as_deref(), Some("components"));
    assert_eq!(bus.max_retries, Some(5));
    assert_eq!(
        bus.dead_letter_ttl,
        Some(std::time::Duration::from_secs(3600))
    );
    assert!(d.external_bus().is_some());
    let summary = summary::summary_text(c, "main.ww", 1);
    assert!(
        summary.contains("deployment: local, message bus redis (serve joins it"),
        "{summary}"
    );
    // `serve` acts on it (joins the broker), so there is nothing to warn about.
    assert!(!codes(&r).contains(&"not-acted-on"), "{}", r.render_text());
    // The URL (it holds a password) never shows in text, JSON or Debug.
    assert!(!r.render_text().contains("hunter2"));
    assert!(!r.to_json().to_string().contains("hunter2"));
    assert!(!format!("{c:?}").contains("hunter2"));
    assert!(!serde_json::to_string(c).unwrap().contains("hunter2"));

    // Without the environment the URL stays the variable.
    let r = no_env(src);
    let bus = ok(&r).deployment.clone().unwrap().message_bus.unwrap();
    assert!(matches!(bus.url, Some(BusUrl::Unresolved(ref u)) if u.var == "REDIS_URL"));
}

#[test]
fn message_bus_urls_name_their_broker() {
    let nats = no_env("deployment = server { message_bus = \"nats://n:4222\" }\n");
    let d = ok(&nats).deployment.clone().unwrap();
    assert_eq!(d.target, DeploymentTarget::Server);
    assert_eq!(d.message_bus.unwrap().kind, Some(BusKind::Nats));
    assert!(!codes(&nats).contains(&"not-acted-on"));

    let rediss = no_env("deployment = docker { message_bus = \"rediss://r:6380\" }\n");
    assert_eq!(
        ok(&rediss)
            .deployment
            .clone()
            .unwrap()
            .message_bus
            .unwrap()
            .kind,
        Some(BusKind::Redis)
    );

    // The in-memory bus: nothing to warn about either.
    for src in [
        "deployment = local { message_bus = memory {} }\n",
        "deployment = local { message_bus = \"memory://\" }\n",
        "deployment = local {}\n",
    ] {
        let r = no_env(src);
        ok(&r);
        assert!(!codes(&r).contains(&"not-acted-on"), "{src}");
    }

    for (src, code) in [
        ("deployment = local { message_bus = \"kafka://k:9092\" }\n", "invalid-value"),
        ("deployment = local { message_bus = \"redis://\" }\n", "invalid-value"),
        ("deployment = local { message_bus = redis { redis_url = \"nats://n\" } }\n", "invalid-value"),
        ("deployment = local { message_bus = redis {} }\n", "missing-key"),
        ("deployment = local { message_bus = rabbit { url = \"amqp://x\" } }\n", "unknown-type"),
        ("deployment = local { message_bus = 5 }\n", "wrong-type"),
        ("deployment = local { message_bus = redis { redis_url = \"redis://r\", max_retries = \"x\" } }\n", "wrong-type"),
    ] {
        let r = no_env(src);
        only_error(&r, code);
    }
}

#[test]
fn deployment_block_types_and_keys_are_checked() {
    let r = no_env("deployment = locall {}\n");
    let d = only_error(&r, "unknown-type");
    assert!(d
        .help
        .as_deref()
        .unwrap_or("")
        .contains("did you mean `local`?"));

    let r = no_env("deployment = local { mesage_bus = \"redis://r\" }\n");
    assert!(!r.has_errors());
    let w = r
        .diagnostics
        .iter()
        .find(|d| d.code == "unknown-key")
        .unwrap();
    assert!(w.help.as_deref().unwrap_or("").contains("message_bus"));

    let r = no_env("deployment = local {}\ndeployment = docker {}\n");
    only_error(&r, "duplicate-key");

    // A component may still be named `deployment` when its kind is written.
    let r = no_env("deployment = llm mock {}\n");
    let c = ok(&r);
    assert!(c.deployment.is_none());
    assert!(c.component("deployment").is_some());

    // An unset variable behind the bus leaves it out with a warning (serve does not use it).
    let r = with_env("deployment = local { message_bus = $REDIS_URL }\n", &[]);
    let c = ok(&r);
    assert!(c.deployment.as_ref().unwrap().message_bus.is_none());
    assert!(codes(&r).contains(&"unset-variable"));
}

#[test]
fn component_deployment_and_metrics_maps_are_typed() {
    let r = no_env(
        r#"
a = agent llm {
    model: m
    deployment = { mode: "docker", scaling: { min: 1, max: 5 }, resources: { cpu: "500m", memory: "1Gi" } }
    metrics = { enabled: true, labels: { team: "search" }, events: ["agent.response"] }
}
m = llm mock { deployment: { scaling: { replicas: 3 } } }
"#,
    );
    let c = ok(&r);
    let a = c.component("a").unwrap();
    let d = a.deployment.as_ref().unwrap();
    assert_eq!(d.mode, Some(DeployMode::Docker));
    assert_eq!(d.scaling, Some(Scaling::Range { min: 1, max: 5 }));
    assert_eq!(
        d.resources,
        Some(Resources {
            cpu: Some("500m".into()),
            memory: Some("1Gi".into())
        })
    );
    let m = a.metrics.as_ref().unwrap();
    assert!(m.enabled);
    assert_eq!(m.labels.get("team").map(String::as_str), Some("search"));
    assert_eq!(
        m.events.as_deref(),
        Some(&["agent.response".to_string()][..])
    );
    assert!(!a.props.contains_key("deployment") && !a.props.contains_key("metrics"));
    let model = c.component("m").unwrap();
    assert_eq!(
        model
            .deployment
            .as_ref()
            .unwrap()
            .scaling
            .map(Scaling::initial),
        Some(3)
    );
    assert!(model.metrics.is_none());
}

#[test]
fn component_deployment_and_metrics_errors() {
    for (body, needle) in [
        ("deployment: { scaling: { replicas: 0 } }", "≥ 1"),
        ("deployment: { scaling: { min: 3, max: 2 } }", "above `max`"),
        (
            "deployment: { scaling: { min: 1 } }",
            "both `min` and `max`",
        ),
        (
            "deployment: { scaling: { replicas: 2, max: 3 } }",
            "both `min` and `max`",
        ),
        ("deployment: { resources: { cpu: \"lots\" } }", "quantity"),
        ("deployment: { resources: { memory: 512 } }", "quantity"),
        (
            "deployment: { resources: { disk: \"1Gi\" } }",
            "unknown key `disk`",
        ),
        ("deployment: { mode: \"cloud\" }", "not a known mode"),
        ("deployment: { replicas: 2 }", "unknown key `replicas`"),
        ("deployment: \"docker\"", "must be a map"),
        ("metrics: { enabled: \"yes\" }", "true or false"),
        (
            "metrics: { events: [\"agent.responce\"] }",
            "did you mean `agent.response`?",
        ),
        ("metrics: { labels: { a: 1 } }", "must be a string"),
    ] {
        let r = no_env(&format!("m = llm mock {{ {body} }}\n"));
        let errors: Vec<&Diagnostic> = r.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert_eq!(errors.len(), 1, "{body}: {}", r.render_text());
        let text = format!(
            "{} {}",
            errors[0].message,
            errors[0].help.as_deref().unwrap_or("")
        );
        assert!(text.contains(needle), "{body}: {text}");
    }
    // `--no-env` values inside are left for later, not errors.
    let r = no_env("m = llm mock { deployment: { scaling: { replicas: $REPLICAS } } }\n");
    assert!(ok(&r).component("m").unwrap().deployment.is_none());
}

#[test]
fn fmt_round_trips_every_seed_form() {
    let dir = Dir::new("fmt", &[("hooks.py", "def f(p):\n    return None\n")]);
    let src = r#"# system
hooks=[ "hooks.py::f", {event:"*",log:"info"} ]   # all events
pipes = ["hooks.py::f"]
deployment=local{message_bus=redis{redis_url=$REDIS_URL,stream_prefix:"x"}}
a = agent llm { model: "m", to = ["out"]
  deployment = { mode: "docker", scaling: { replicas: 2 }, resources: { cpu: "1", memory: "512Mi" } }
  metrics = { enabled: false }
}
m = llm mock {}
out = output console {}
"#;
    let once = format_source(src).expect("formats");
    let twice = format_source(&once).expect("formats again");
    assert_eq!(once, twice, "fmt is a fixed point");
    assert!(
        once.starts_with("# system\nhooks = [\n    \"hooks.py::f\",\n    { event: \"*\", log: \"info\" },\n] # all events\n\npipes = [\"hooks.py::f\"]\n\ndeployment = local {\n"),
        "{once}"
    );
    assert!(
        once.contains("deployment = local {\n    message_bus: redis {\n"),
        "{once}"
    );
    let before = check(&dir.ww(), src, None);
    let after = check(&dir.ww(), &once, None);
    let (mut a, mut b) = (ok(&before).clone(), ok(&after).clone());
    // Spans move with the layout; everything else must be equal.
    let strip = |c: &mut Config| {
        for h in c.hooks.iter_mut().chain(c.pipes.iter_mut()) {
            h.span = Span::default();
        }
        if let Some(d) = &mut c.deployment {
            d.span = Span::default();
        }
        for comp in &mut c.components {
            comp.span = Span::default();
        }
    };
    strip(&mut a);
    strip(&mut b);
    assert_eq!(a, b);
    assert_eq!(a.hooks.len(), 2);
    assert!(a.deployment.is_some());
}

#[test]
fn graph_still_renders_with_settings_and_deployment() {
    let r = no_env(
        "hooks = [{ event: \"*\", log: \"info\" }]\ndeployment = local {}\ni = input cli {}\nm = llm mock {}\no = output console {}\n",
    );
    let c = ok(&r);
    let text = graph::render(c, graph::GraphFormat::Text);
    assert!(
        text.contains('i') && text.contains('m') && text.contains('o'),
        "{text}"
    );
    assert!(!text.contains("deployment"), "{text}");
}
