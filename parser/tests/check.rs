//! Behaviour of `check`: the accepted language, the typed config, and every class of diagnostic.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
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

fn with_env(src: &str, vars: &[(&str, &str)]) -> CheckReport {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    check_source(
        Path::new("main.ww"),
        src,
        &CheckOptions {
            resolve_env: true,
            env: Some(env),
        },
    )
}

fn codes(r: &CheckReport) -> Vec<&'static str> {
    r.diagnostics.iter().map(|d| d.code).collect()
}

fn ok(r: &CheckReport) -> &Config {
    assert!(!r.has_errors(), "unexpected errors:\n{}", r.render_text());
    r.config.as_ref().unwrap()
}

#[test]
fn accepts_the_whole_language() {
    let src = r#"
# a comment
// another comment
model = llm openai {            # trailing comment
    api_key = $OPENAI_API_KEY,  model: "gpt-4o"
    temperature: -0.5
    max_tokens: 100
    memory: mem                 // forward reference
}
mem = memory short_term { max_turns: 3 }
bot = agent llm {
    model: model
    tools: [
        web,
        fns,   # trailing comma next
    ]
    planning: TRUE
    prompt: 'say \'hi\'\n\t\u{1F600} ${USER:-nobody}'
    extra: { a: { b: { c: [1, 2.5, null, FaLsE, "x"] } }, bus: redis { url: "redis://x" } }
    supervision: { strategy: one_for_all, restart: "transient", max_restarts: 2, within_s: 1.5 }
}
web = api web { url: "http://127.0.0.1:1" }
fns = api functions { path: "f.py" }
out = output cli {}
in = input command_line {}
"#;
    let r = no_env(src);
    let c = ok(&r);
    let m = c.component("model").unwrap();
    assert_eq!(m.prop_str("model"), Some("gpt-4o"));
    assert_eq!(m.prop("temperature"), Some(&Value::Float(-0.5)));
    assert_eq!(m.prop("max_tokens"), Some(&Value::Int(100)));
    assert_eq!(m.prop("memory").and_then(Value::as_ref_name), Some("mem"));
    assert_eq!(m.prop_str("base_url"), Some("https://api.openai.com/v1"));
    assert!(matches!(m.prop("api_key"), Some(Value::Unresolved(u)) if u.var == "OPENAI_API_KEY"));
    let bot = c.component("bot").unwrap();
    assert_eq!(bot.prop("planning"), Some(&Value::Bool(true)));
    assert_eq!(bot.prop("max_steps"), Some(&Value::Int(25)));
    assert_eq!(
        bot.prop_str("prompt"),
        Some("say 'hi'\n\t\u{1F600} ${USER:-nobody}")
    );
    assert_eq!(bot.supervision.strategy, Strategy::OneForAll);
    assert_eq!(bot.supervision.restart, RestartType::Transient);
    assert_eq!(bot.supervision.max_restarts, 2);
    assert_eq!(bot.supervision.within, Duration::from_millis(1500));
    let extra = bot.prop("extra").unwrap().to_json();
    assert_eq!(
        extra["a"]["b"]["c"],
        serde_json::json!([1, 2.5, null, false, "x"])
    );
    assert_eq!(extra["bus"]["type"], "redis");
    assert_eq!(c.component("out").unwrap().type_name, "console");
    // Unknown keys are warnings, and only `extra` is unknown.
    assert_eq!(codes(&r), vec!["unknown-key"]);
    // Routes: input -> first agent; agent -> outputs.
    let routes: Vec<(&str, &str, bool)> = c
        .routes
        .iter()
        .map(|r| (r.from.as_str(), r.to.as_str(), r.inferred))
        .collect();
    assert_eq!(routes, vec![("bot", "out", true), ("in", "bot", true)]);
    assert_eq!(
        c.start_order,
        ["mem", "model", "web", "fns", "bot", "out", "in"]
    );
}

#[test]
fn env_values_resolve_and_coerce() {
    let src = "in = input api { port: $PORT }\nm = llm ollama { model: \"${M:-llama3}\", base_url: \"http://${HOST}:1\" }";
    let r = with_env(src, &[("PORT", "9001"), ("HOST", "h")]);
    let c = ok(&r);
    assert_eq!(
        c.component("in").unwrap().prop("port"),
        Some(&Value::Int(9001))
    );
    assert_eq!(c.component("m").unwrap().prop_str("model"), Some("llama3"));
    assert_eq!(
        c.component("m").unwrap().prop_str("base_url"),
        Some("http://h:1")
    );
}

#[test]
fn unset_variable_behind_a_required_key_is_an_error_naming_it() {
    let src = "m = llm openai { api_key: $MISSING_KEY_XYZ }";
    let r = with_env(src, &[]);
    assert_eq!(codes(&r), vec!["unset-variable"]);
    assert!(r.diagnostics[0].message.contains("MISSING_KEY_XYZ"));
    assert!(r.config.is_none());
    // --no-env accepts it.
    assert!(no_env(src).config.is_some());
    // An optional key only warns and falls back to the default.
    let r = with_env("m = llm openai { api_key: \"k\", model: $NOPE }", &[]);
    assert_eq!(codes(&r), vec!["unset-variable"]);
    assert_eq!(r.diagnostics[0].severity, Severity::Warning);
    assert_eq!(
        ok(&r).component("m").unwrap().prop_str("model"),
        Some("gpt-4o-mini")
    );
}

#[test]
fn secrets_are_wrapped_and_never_printed() {
    let src = r#"
m = llm openai { api_key: "sk-live-123" }
gh = mcp server { command: ["gh-mcp"], env: { GITHUB_TOKEN: $GH, PLAIN: "x" } }
h = api web { url: "http://x", headers: { auth_token: "t0k" } }
"#;
    let r = with_env(src, &[("GH", "ghp-secret")]);
    let c = ok(&r);
    let key = c.component("m").unwrap().prop("api_key").unwrap();
    assert_eq!(key.as_secret().unwrap().expose(), "sk-live-123");
    let env = c
        .component("gh")
        .unwrap()
        .prop("env")
        .unwrap()
        .as_map()
        .unwrap();
    assert_eq!(
        env["GITHUB_TOKEN"].as_secret().unwrap().expose(),
        "ghp-secret"
    );
    assert_eq!(env["PLAIN"], Value::Str("x".into()));
    let dump = format!("{:?} {}", c, serde_json::to_string(c).unwrap());
    for secret in ["sk-live-123", "ghp-secret", "t0k"] {
        assert!(!dump.contains(secret), "{secret} leaked");
    }
}

#[test]
fn unknown_reference_suggests_a_name() {
    let r = no_env("model = llm mock {}\nin = input cli { to: modle }");
    assert_eq!(codes(&r), vec!["unknown-reference"]);
    let text = r.render_text();
    assert!(
        text.contains("error[unknown-reference]: unknown reference `modle`"),
        "{text}"
    );
    assert!(text.contains("--> main.ww:2:22"), "{text}");
    assert!(text.contains("^^^^^ did you mean `model`?"), "{text}");
    assert!(text.contains("= help:"), "{text}");
}

#[test]
fn reference_cycles_are_shown() {
    let src = "a = agent llm { model: m, tools: [b] }\nb = agent llm { model: m, tools: [a] }\nm = llm mock {}";
    let r = no_env(src);
    assert_eq!(codes(&r), vec!["reference-cycle"]);
    let msg = &r.diagnostics[0].message;
    assert!(
        msg.contains("a → b → a") || msg.contains("b → a → b"),
        "{msg}"
    );
    // Routing loops are allowed.
    let r = no_env(
        "a = agent llm { model: m, to: b }\nb = agent llm { model: m, to: a }\nm = llm mock {}",
    );
    ok(&r);
}

#[test]
fn duplicate_names_point_at_both() {
    let r = no_env("m = llm mock {}\n\nm = llm mock {}");
    assert_eq!(codes(&r), vec!["duplicate-name"]);
    let d = &r.diagnostics[0];
    assert_eq!(d.span.line, 3);
    assert!(d
        .labels
        .iter()
        .any(|(s, t)| s.line == 1 && t.contains("first")));
}

#[test]
fn reserved_names_are_rejected() {
    let r = no_env("true = llm mock {}\nFalse = llm mock {}");
    assert_eq!(codes(&r), vec!["reserved-name", "reserved-name"]);
}

#[test]
fn unknown_kinds_and_types_list_what_is_supported() {
    let r = no_env("a = llmm openai {}\nb = llm gpt {}\nc = memory {}\nd = cli {}");
    assert_eq!(
        codes(&r),
        vec![
            "unknown-kind",
            "unknown-type",
            "missing-type",
            "ambiguous-type"
        ]
    );
    assert!(r.diagnostics[0]
        .help
        .as_ref()
        .unwrap()
        .contains("did you mean `llm`?"));
    assert!(r.diagnostics[1]
        .help
        .as_ref()
        .unwrap()
        .contains("`openai`, `claude`, `ollama`, `hugging_face`, `mock`"));
    assert!(r.diagnostics[3]
        .help
        .as_ref()
        .unwrap()
        .contains("`input cli` or `output cli`"));
}

#[test]
fn short_form_picks_the_only_kind() {
    let c = no_env("agent = claude { api_key: $K }\ninput = cli {}\noutput = cli {}\nm = mock {}")
        .config
        .unwrap();
    assert_eq!(
        (c.components[0].kind, c.components[0].type_name.as_str()),
        (Kind::Llm, "claude")
    );
    assert_eq!(
        (c.components[1].kind, c.components[1].type_name.as_str()),
        (Kind::Input, "command_line")
    );
    assert_eq!(
        (c.components[2].kind, c.components[2].type_name.as_str()),
        (Kind::Output, "console")
    );
    assert_eq!(c.components[0].prop("max_tokens"), Some(&Value::Int(1024)));
}

#[test]
fn unsupported_python_engine_kinds_are_rejected_clearly() {
    let src = "a = environment coding {}\nb = core code {}\nc = input keyword_voice {}\nd = input push_to_talk {}\ne = output voice {}\nf = knowledge_base neo4j {}\ng = model pytorch {}";
    let r = no_env(src);
    assert_eq!(codes(&r), vec!["unsupported-component"; 7]);
    assert!(r
        .diagnostics
        .iter()
        .all(|d| d.message.contains("not supported by this runtime")));
}

#[test]
fn missing_keys_and_wrong_types() {
    let r = no_env("a = llm ollama {}\nb = api web { url: 5 }\nc = agent llm { model: \"x\" }\nd = memory short_term { max_turns: 0 }");
    // A quoted name where a reference is expected is a reference (the seed documents' form):
    // `"x"` names no declaration.
    assert_eq!(
        codes(&r),
        vec![
            "missing-key",
            "wrong-type",
            "unknown-reference",
            "invalid-value"
        ]
    );
    assert!(r.diagnostics[0].message.contains("`model`"));
    assert!(r.diagnostics[2].message.contains("`x`"));
}

#[test]
fn references_must_have_the_right_kind() {
    let r = no_env("m = memory short_term {}\na = agent llm { model: m }\ni = input cli {}\nb = agent llm { model: x, tools: [i] }\nx = llm mock {}");
    assert_eq!(codes(&r), vec!["wrong-kind", "wrong-kind"]);
}

#[test]
fn route_targets_must_take_messages() {
    let r = no_env("kb = knowledge_base text_file { path: \"k.txt\" }\nin = input cli { to: kb }");
    assert_eq!(codes(&r), vec!["invalid-route"]);
}

#[test]
fn errors_in_one_declaration_do_not_hide_the_next() {
    let src = "a = llm openai {\n  api_key: \"k\"\n  model: gpt 4\n}\nb = llm ollama { model = }\nc = llm ollama {}\nd = llm mock { reply: \"x\" \"y\" }\n";
    let r = no_env(src);
    let c = codes(&r);
    assert!(c.len() >= 4, "{}", r.render_text());
    let lines: Vec<u32> = r
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.span.line)
        .collect();
    for line in [3, 5, 6, 7] {
        assert!(
            lines.contains(&line),
            "no error on line {line}: {}",
            r.render_text()
        );
    }
}

#[test]
fn decomposer_is_an_alias_with_a_warning_and_an_implicit_model() {
    let src = "e = api functions { path: \"f.py\" }\nd = decomposer llm { api_key: $OPENAI_API_KEY, tools: [e] }\nin = input command_line { to: d }";
    let r = no_env(src);
    assert_eq!(codes(&r), vec!["implicit-model", "renamed-kind"]);
    let c = ok(&r);
    let m = c.component("d__model").unwrap();
    assert_eq!((m.kind, m.type_name.as_str()), (Kind::Llm, "openai"));
    assert_eq!(
        c.component("d")
            .unwrap()
            .prop("model")
            .and_then(Value::as_ref_name),
        Some("d__model")
    );
    assert_eq!(c.start_order, ["e", "d__model", "d", "in"]);
}

#[test]
fn unquoted_paths_say_to_quote_them() {
    let r = no_env("k = knowledge_base text_file { path: ./notes/x.txt }\nf = api functions { path: ../tools/x.py }");
    assert_eq!(codes(&r), vec!["unquoted-path", "unquoted-path"]);
    assert_eq!(
        r.diagnostics[0].help.as_deref(),
        Some("quote it: \"./notes/x.txt\"")
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for depth in [65usize, 10_000, 200_000] {
        let src = format!(
            "a = llm mock {{ x: {}{} }}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let r = no_env(&src);
        assert!(codes(&r).contains(&"nesting-too-deep"), "depth {depth}");
    }
    let src = format!(
        "a = llm mock {{ x: {}1{} }}",
        "{ k: ".repeat(63),
        " }".repeat(63)
    );
    ok(&no_env(&src));
}

#[test]
fn huge_input_is_refused() {
    let src = "#".repeat(MAX_FILE_BYTES + 1);
    assert_eq!(codes(&no_env(&src)), vec!["file-too-large"]);
}

#[test]
fn common_keys_fill_typed_fields() {
    let src = r#"
o = output webhook {
    url: "http://127.0.0.1:9/x"
    streaming: false
    timeout: 2.5
    session_policy: reject
    circuit_breaker: { failure_threshold: 2, reset_timeout_s: 1, success_threshold: 1, call_timeout_s: 3 }
    hooks: [
        { event: "input.received", log: "debug" },
        { event: "*", command: ["python3", "h.py"] },
        { event: "agent.thought", webhook: "http://x" },
        { event: "tool.call", script_path: "h.py", function_name: "f" },
    ]
    pipes: [{ event: "input.received", script_path: "p.py", function_name: "g" }]
}
"#;
    let r = no_env(src);
    let c = ok(&r);
    let o = c.component("o").unwrap();
    assert_eq!(o.streaming, Some(false));
    assert_eq!(o.timeout, Some(Duration::from_millis(2500)));
    assert_eq!(o.session_policy, SessionPolicy::Reject);
    assert_eq!(o.circuit_breaker.failure_threshold, 2);
    assert_eq!(o.circuit_breaker.call_timeout, Duration::from_secs(3));
    assert_eq!(o.hooks.len(), 4);
    assert_eq!(
        o.hooks[0].action,
        HookAction::Log {
            level: LogLevel::Debug
        }
    );
    assert_eq!(
        o.hooks[1].action,
        HookAction::Command {
            argv: vec!["python3".into(), "h.py".into()]
        }
    );
    assert_eq!(o.pipes.len(), 1);
    assert!(
        o.props
            .keys()
            .all(|k| k == "url" || k == "headers" || k == "retries"),
        "{:?}",
        o.props.keys()
    );
}

#[test]
fn bad_hooks_are_reported() {
    let src = "o = output console { hooks: [{ event: \"x.y\", log: \"info\" }, { event: \"input.received\" }, { log: \"info\" }, { event: \"*\", log: \"info\", webhook: \"u\" }] }";
    let r = no_env(src);
    assert_eq!(
        codes(&r),
        vec![
            "unknown-event",
            "invalid-hook",
            "invalid-hook",
            "invalid-hook"
        ]
    );
}

#[test]
fn mock_replies_are_validated() {
    let good = r#"m = llm mock { replies: ["a", { text: "b", delay_ms: 5 }, { error: "rate_limited" }, { panic: "boom" }, { tool: "search", inputs: { q: "x" } }] }"#;
    ok(&no_env(good));
    let bad = r#"m = llm mock { replies: [{ error: "nope" }, 3, { text: "x", extra: 1 }] }"#;
    assert_eq!(codes(&no_env(bad)), vec!["invalid-value"; 3]);
}

#[test]
fn explicit_routes_and_inference_rules() {
    let src = "in = input cli {}\nm = llm mock {}\nout = output console {}";
    let c = no_env(src).config.unwrap();
    let r: Vec<(&str, &str)> = c
        .routes
        .iter()
        .map(|r| (r.from.as_str(), r.to.as_str()))
        .collect();
    assert_eq!(r, vec![("in", "m"), ("m", "out")]);
    let src = "in = input cli { to: [a, out] }\nm = llm mock {}\na = agent llm { model: m }\nout = output console {}";
    let c = no_env(src).config.unwrap();
    let r: Vec<(&str, &str, bool)> = c
        .routes
        .iter()
        .map(|r| (r.from.as_str(), r.to.as_str(), r.inferred))
        .collect();
    assert_eq!(
        r,
        vec![("in", "a", false), ("in", "out", false), ("a", "out", true)]
    );
}

#[test]
fn dotenv_is_loaded_without_overriding_the_environment() {
    let dir = std::env::temp_dir().join(format!("ww-dotenv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(".env"),
        "WW_DOTENV_ONLY_VAR=from-file\nPATH=from-file\n",
    )
    .unwrap();
    let ww = dir.join("main.ww");
    std::fs::write(
        &ww,
        "m = llm ollama { model: $WW_DOTENV_ONLY_VAR, base_url: $PATH }",
    )
    .unwrap();
    let r = check_file(&ww, &CheckOptions::default());
    let c = ok(&r);
    let m = c.component("m").unwrap();
    assert_eq!(m.prop_str("model"), Some("from-file"));
    assert_eq!(
        m.prop_str("base_url"),
        std::env::var("PATH").ok().as_deref()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn read_errors_are_diagnostics() {
    let r = check_file(
        Path::new("/nonexistent/dir/main.ww"),
        &CheckOptions::default(),
    );
    assert_eq!(codes(&r), vec!["read-error"]);
    assert!(r.render_text().contains("cannot read"));
}

#[test]
fn json_report_has_diagnostics_and_summary() {
    let r = no_env("m = llm mock {}\nin = input cli { to: m, colour: 1 }");
    let j = r.to_json();
    assert_eq!(j["ok"], true);
    assert_eq!(j["warnings"], 1);
    assert_eq!(j["diagnostics"][0]["code"], "unknown-key");
    assert_eq!(j["diagnostics"][0]["line"], 2);
    assert_eq!(j["summary"]["components"], 2);
    let r = no_env("m = llm nope {}");
    assert_eq!(r.to_json()["ok"], false);
    assert!(r.to_json()["summary"].is_null());
}

#[test]
fn syntax_errors_are_reported_with_help() {
    for (src, code) in [
        ("a = llm mock { reply: \"x }", "unterminated-string"),
        ("a = llm mock { reply: \"\\q\" }", "invalid-string"),
        ("a = llm mock {", "unclosed-delimiter"),
        ("a = llm mock { reply: @ }", "unexpected-character"),
        ("a llm mock {}", "unexpected-token"),
        (
            "a = llm mock { n: 99999999999999999999 }",
            "number-out-of-range",
        ),
        ("a = llm mock { reply: $ }", "invalid-variable"),
        ("a = llm mock { reply: gpt-4o }", "unquoted-text"),
    ] {
        let r = no_env(src);
        assert!(codes(&r).contains(&code), "{src}: {:?}", codes(&r));
        assert!(r.diagnostics.iter().all(|d| d.help.is_some()));
    }
}

#[test]
fn garbage_gives_a_bounded_number_of_diagnostics() {
    let src = "@ x y ] } = :\n".repeat(100_000);
    let r = no_env(&src);
    assert!(
        r.diagnostics.len() <= 2 * parse::MAX_SYNTAX_ERRORS + 1,
        "{}",
        r.diagnostics.len()
    );
    assert_eq!(r.diagnostics.last().unwrap().code, "too-many-errors");
    assert!(r.render_text().contains("more syntax errors are not shown"));
}

#[test]
fn thousands_of_problems_are_capped() {
    let mut src = String::from("m = llm mock {\n");
    for i in 0..5000 {
        src.push_str(&format!("  k{i}: 1\n"));
    }
    src.push_str("}\n");
    for i in 0..3000 {
        src.push_str(&format!("a{i} = agent llm {{ model: nope{i} }}\n"));
    }
    let r = no_env(&src);
    assert!(r.diagnostics.len() <= 1001, "{}", r.diagnostics.len());
    assert_eq!(r.diagnostics.last().unwrap().code, "too-many-errors");
}

#[test]
fn openai_key_is_required_only_for_the_providers_own_service() {
    let local = with_env(
        r#"m = llm openai { base_url: "http://127.0.0.1:8080/v1", max_retries: 0, idle_timeout: 2.5 }"#,
        &[],
    );
    let c = ok(&local).component("m").unwrap();
    assert!(c.prop("api_key").is_none());
    assert_eq!(c.prop("max_retries"), Some(&Value::Int(0)));
    let hosted = with_env(r#"m = llm openai { }"#, &[]);
    assert_eq!(codes(&hosted), vec!["missing-key"]);
    let unset = with_env(r#"m = llm openai { api_key: $NOT_SET_ANYWHERE }"#, &[]);
    assert_eq!(codes(&unset), vec!["unset-variable"]);
    assert!(unset.has_errors());
}

#[test]
fn tools_take_a_description_for_the_agents_that_use_them() {
    let r = no_env(
        r#"
writer = llm mock { description: "writes prose" }
fetch = api web { url: "http://127.0.0.1:9/", description: "fetches pages" }
bot = agent llm { model: writer, tools: [writer, fetch], description: "answers" }
"#,
    );
    let cfg = ok(&r);
    assert!(r.diagnostics.is_empty(), "{}", r.render_text());
    assert_eq!(
        cfg.component("fetch").unwrap().prop_str("description"),
        Some("fetches pages")
    );
    let wrong = no_env(r#"w = llm mock { description: 3 }"#);
    assert!(wrong.has_errors(), "{}", wrong.render_text());
}

#[test]
fn custom_tool_is_read_as_api_functions_with_a_warning() {
    let r = no_env("t = custom tool { path: \"tools.py\" }\n");
    let c = ok(&r);
    let t = c.component("t").unwrap();
    assert_eq!((t.kind, t.type_name.as_str()), (Kind::Api, "functions"));
    assert_eq!(codes(&r), vec!["renamed-type"]);
    assert!(r.render_text().contains("write `api functions`"));
}

#[test]
fn an_mcp_server_named_only_by_registry_is_an_error_that_says_what_to_give() {
    let r = no_env("gh = mcp server { server: \"github/mcp-server\" }\n");
    assert!(r.has_errors());
    assert_eq!(codes(&r), vec!["unsupported-value"]);
    assert!(r.render_text().contains("`command` or `url`"));
    let ok_stdio = no_env("t = mcp server { command: [\"python3\", \"-m\", \"x\"] }\n");
    assert!(!ok_stdio.has_errors(), "{}", ok_stdio.render_text());
}

#[test]
fn every_kind_is_served_so_none_is_named_partly_supported() {
    let r = no_env(
        "vm = vm server { components: [m] }\nm = llm mock {}\ni = input api { port: 9000 }\nw = output webhook { url: \"http://127.0.0.1:1/h\" }\n",
    );
    assert!(!r.has_errors(), "{}", r.render_text());
    let partly: Vec<&str> = r
        .diagnostics
        .iter()
        .filter(|d| d.code == "partly-supported")
        .map(|d| d.message.as_str())
        .collect();
    // `vm server` places components on the nodes of a cluster (`serve --bus … --vm vm`).
    assert!(partly.is_empty(), "{partly:?}");
    // `input api` opens its own port under `serve` (src/input_api): served in full, no warning.
    assert!(
        !partly.iter().any(|m| m.contains("`i` (input api)")),
        "{partly:?}"
    );
    // `output webhook` POSTs each answer under `serve` (actors/src/component/webhook.rs).
    assert!(
        !partly.iter().any(|m| m.contains("`w` (output webhook)")),
        "{partly:?}"
    );
}

#[test]
fn tool_kinds_take_the_keys_design_names() {
    let r = no_env(
        r#"
e = llm openai { base_url: "http://127.0.0.1:1/v1" }
kb = knowledge_base chroma { file_to_embed: "docs", embedding: e, embedding_model: "m", url: "http://127.0.0.1:8000", collection: "c", client: "http" }
w = api web { url: "http://127.0.0.1:1", method: "POST", headers: { X: "y" } }
h = mcp server { url: "http://127.0.0.1:1/mcp", headers: { Authorization: "Bearer x" } }
"#,
    );
    assert!(r.diagnostics.is_empty(), "{}", r.render_text());
    let bad = no_env("w = api web { url: \"http://x\", method: \"FETCH\" }\n");
    assert!(bad.has_errors());
}
