//! The typed per-type specs: schema defaults applied, secrets kept as secrets, references as
//! names, and every accepted corpus file's components readable as specs; the event-name table
//! that `check` and the runtime share.

use std::collections::HashMap;
use std::path::Path;
use woodwork_parser::schema::defaults;
use woodwork_parser::spec::{Spec, SpecError};
use woodwork_parser::*;

fn config(src: &str, vars: &[(&str, &str)]) -> Config {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let report = check_source(
        Path::new("main.ww"),
        src,
        &CheckOptions {
            resolve_env: true,
            env: Some(env),
        },
    );
    assert!(!report.has_errors(), "{}", report.render_text());
    report.config.expect("accepted")
}

fn spec(c: &Config, name: &str) -> Spec {
    c.component(name).expect("declared").spec().expect("spec")
}

#[test]
fn provider_defaults_come_from_the_schema() {
    let c = config(
        r#"
        c = llm claude { api_key: $K }
        h = llm hugging_face { api_key: $K }
        o = llm openai { api_key: $K }
        l = llm ollama { model: "llama3.2" }
        "#,
        &[("K", "sk-secret")],
    );
    let Spec::Claude(p) = spec(&c, "c") else {
        panic!("not claude")
    };
    assert_eq!(p.model.as_deref(), Some(defaults::CLAUDE_MODEL));
    assert_eq!(p.max_tokens, Some(defaults::CLAUDE_MAX_TOKENS as u64));
    assert_eq!(p.base_url, defaults::CLAUDE_BASE_URL);
    assert_eq!(p.api_key.as_ref().map(Secret::expose), Some("sk-secret"));
    assert!(!format!("{p:?}").contains("sk-secret"));
    let Spec::HuggingFace(p) = spec(&c, "h") else {
        panic!("not hugging_face")
    };
    assert_eq!(p.model.as_deref(), Some(defaults::HUGGING_FACE_MODEL));
    assert_eq!(p.base_url, defaults::HUGGING_FACE_BASE_URL);
    let Spec::OpenAi(p) = spec(&c, "o") else {
        panic!("not openai")
    };
    assert_eq!(p.model.as_deref(), Some(defaults::OPENAI_MODEL));
    assert_eq!(p.base_url, defaults::OPENAI_BASE_URL);
    assert_eq!(p.max_tokens, None);
    let Spec::Ollama(p) = spec(&c, "l") else {
        panic!("not ollama")
    };
    assert_eq!(p.base_url, defaults::OLLAMA_BASE_URL);
}

#[test]
fn tools_knowledge_and_memory_are_typed_with_references_as_names() {
    let c = config(
        r#"
        m = memory short_term { max_bytes: 100 }
        e = llm openai { api_key: "k" }
        kb = knowledge_base chroma { embedding: e }
        t = knowledge_base text_file { path: "notes.txt" }
        f = api functions { path: "f.py" }
        w = api web { url: "http://x", headers: { Authorization: $TOKEN } }
        s = mcp server { command: ["uvx", "time"] }
        a = agent llm { model: e, tools: [f, w], memory: m }
        "#,
        &[("TOKEN", "Bearer t0k")],
    );
    assert!(matches!(
        spec(&c, "m"),
        Spec::ShortTermMemory(s) if s.max_bytes == 100 && s.max_turns == defaults::SHORT_TERM_MAX_TURNS as u64
    ));
    let Spec::Chroma(k) = spec(&c, "kb") else {
        panic!("not chroma")
    };
    assert_eq!(k.embedding.as_deref(), Some("e"));
    assert_eq!(
        k.embedding_model.as_deref(),
        Some(defaults::EMBEDDING_MODEL)
    );
    assert!(matches!(spec(&c, "t"), Spec::TextFile(t) if t.path == "notes.txt"));
    assert!(matches!(spec(&c, "f"), Spec::ApiFunctions(f) if f.python == defaults::PYTHON));
    let Spec::ApiWeb(w) = spec(&c, "w") else {
        panic!("not web")
    };
    assert_eq!(w.method.as_deref(), Some("GET"));
    assert_eq!(w.headers.len(), 1);
    assert_eq!(w.headers[0].1.expose(), "Bearer t0k");
    assert!(
        matches!(spec(&c, "s"), Spec::Mcp(m) if m.command == ["uvx", "time"] && m.url.is_none())
    );
    let Spec::Agent(a) = spec(&c, "a") else {
        panic!("not agent")
    };
    assert_eq!(a.model.as_deref(), Some("e"));
    assert_eq!(a.tools, ["f", "w"]);
    assert_eq!(a.memory.as_deref(), Some("m"));
    assert_eq!(a.max_steps, Some(25));
    assert!(!a.planning);
}

#[test]
fn a_hand_built_component_gets_defaults_and_typed_errors_without_values() {
    let mut c = Component::new("x".into(), Kind::Llm, "claude".into(), Span::default());
    let Ok(Spec::Claude(p)) = c.spec() else {
        panic!("not claude")
    };
    assert_eq!(p.model.as_deref(), Some(defaults::CLAUDE_MODEL));
    assert_eq!(p.api_key, None);
    c.props
        .insert("temperature".into(), Value::Str("hot".into()));
    let e = c.spec().unwrap_err();
    assert!(matches!(e, SpecError::WrongType { .. }));
    assert_eq!(
        e.to_string(),
        "llm \"x\" (type claude, line 0): `temperature` must be a number, not a string"
    );
    c.props.remove("temperature");
    c.props.insert(
        "api_key".into(),
        Value::Unresolved(UnresolvedEnv {
            var: "MY_KEY".into(),
            default: None,
        }),
    );
    assert!(matches!(c.spec(), Err(SpecError::Unresolved { var, .. }) if var == "MY_KEY"));
}

#[test]
fn every_accepted_corpus_file_reads_as_specs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "ww") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("read");
        let opts = CheckOptions {
            resolve_env: false,
            env: None,
        };
        let Some(config) = check_source(&path, &source, &opts).config else {
            continue;
        };
        for c in &config.components {
            match c.spec() {
                Ok(_) | Err(SpecError::Unresolved { .. }) => checked += 1,
                Err(e) => panic!("{}: {e}", path.display()),
            }
        }
    }
    assert!(checked > 0);
}

#[test]
fn hook_event_names_are_the_shared_table_plus_the_wildcard() {
    assert_eq!(schema::EVENTS[0], events::WILDCARD);
    assert_eq!(&schema::EVENTS[1..], &events::EVENT_NAMES[..]);
    for (i, name) in events::EVENT_NAMES.iter().enumerate() {
        assert_eq!(events::index_of(name), Some(i));
    }
    assert_eq!(events::index_of("agent.thinking"), None);
}

#[test]
fn values_left_unread_by_no_env_are_not_spec_errors_at_check() {
    let report = check_source(
        Path::new("main.ww"),
        r#"
        o = llm openai { api_key: $K, temperature: $T, max_tokens: $N }
        m = memory short_term { max_turns: $TURNS }
        "#,
        &CheckOptions {
            resolve_env: false,
            env: None,
        },
    );
    assert!(!report.has_errors(), "{}", report.render_text());
    let config = report.config.expect("accepted");
    for c in &config.components {
        assert!(
            matches!(c.spec(), Err(SpecError::Unresolved { .. })),
            "{}",
            c.name
        );
    }
}
