//! Parser speed on a generated 10,000-component file (~5 MB): lexing alone, parsing alone, the full
//! `check` (parse + validate + resolve, `--no-env`) and `fmt`. Criterion prints MiB/s.
//!
//! The file is also written to `$CARGO_TARGET_TMPDIR/bench-10k.ww` so the release binary can be
//! timed on it: `time target/release/woodwork-actors check --no-env <that file>`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::fmt::Write;
use std::path::Path;
use woodwork_parser::source::LineIndex;
use woodwork_parser::{check_source, format_source, lexer, parse, CheckOptions};

/// Components in the generated file (5 per unit).
const COMPONENTS: usize = 10_000;

/// A realistic mix: memory, model, tool, agent with hooks and supervision, knowledge base.
pub fn generate() -> String {
    let mut s = String::with_capacity(6 << 20);
    // A long system prompt per agent brings the file to ~500 bytes per component (~5 MB).
    let filler = "Answer in plain words, cite the tool you used, and never guess a number you could look up. ".repeat(14);
    for i in 0..COMPONENTS / 5 {
        write!(
            s,
            r#"# unit {i}: one agent with its model, memory, tool and knowledge base
mem{i} = memory short_term {{
    max_turns: 20
    max_bytes: 65536
}}

model{i} = llm openai {{
    api_key: $OPENAI_API_KEY
    model: "gpt-4o-mini"
    base_url: "${{OPENAI_BASE_URL:-https://api.openai.com/v1}}"
    temperature: 0.7
    max_tokens: 1024
    memory: mem{i} // the model keeps the conversation
    circuit_breaker: {{ failure_threshold: 5, reset_timeout_s: 60, success_threshold: 3, call_timeout_s: 30 }}
}}

tool{i} = api functions {{
    path: "tools/functions_{i}.py"
    documentation: "Functions for unit {i}: search the archive, fetch a document by id, and summarise it."
}}

agent{i} = agent llm {{
    model: model{i}
    tools: [tool{i}, kb{i}]
    planning: true
    max_steps: 12
    prompt: "You are agent number {i}.\n{filler}"
    hooks: [
        {{ event: "agent.thought", log: "debug" }},
        {{ event: "tool.call", script_path: "hooks.py", function_name: "on_tool_call" }},
    ]
    supervision: {{ strategy: "one_for_one", restart: "permanent", max_restarts: 5, within_s: 10 }}
    timeout: 120
}}

kb{i} = knowledge_base text_file {{
    path: "./knowledge/unit_{i}.txt"
}}

"#
        )
        .unwrap();
    }
    s.push_str("in = input api {\n    port: 8080\n    to: agent0\n}\n\nout = output console {}\n");
    s
}

fn bench(c: &mut Criterion) {
    let src = generate();
    if let Some(dir) = option_env!("CARGO_TARGET_TMPDIR") {
        let _ = std::fs::write(Path::new(dir).join("bench-10k.ww"), &src);
    }
    let opts = CheckOptions {
        resolve_env: false,
        env: None,
    };
    let report = check_source(Path::new("bench.ww"), &src, &opts);
    assert!(report.config.is_some(), "{}", report.render_text());
    println!(
        "generated file: {} bytes, {} components",
        src.len(),
        report.config.as_ref().map_or(0, |c| c.components.len())
    );

    let mut g = c.benchmark_group("parser_10k_components");
    g.throughput(Throughput::Bytes(src.len() as u64));
    g.sample_size(10);
    g.bench_function("lex", |b| b.iter(|| lexer::lex(black_box(&src))));
    g.bench_function("parse", |b| {
        b.iter(|| {
            let idx = LineIndex::new(black_box(&src));
            parse::parse(&src, &idx)
        })
    });
    g.bench_function("check_no_env", |b| {
        b.iter(|| check_source(Path::new("bench.ww"), black_box(&src), &opts))
    });
    g.bench_function("format", |b| b.iter(|| format_source(black_box(&src))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
