//! `fmt`: the canonical form, comments kept, idempotent.

use woodwork_parser::format_source;

#[test]
fn formats_to_the_canonical_form_keeping_comments() {
    let messy = r#"

# header comment
// second header line
model=llm   openai{api_key=$KEY,model:'gpt-4o'   # trailing
  temperature : 0.50


  tools:[a,b ,c,]
    nested: { b: TRUE, a: Null, deep: { x: [1, 2] } }
  replies: [
     # about the first reply
     {text: "hi", delay_ms: 5}, "plain"
  ]
  bus = redis { url: "redis://x" }
  esc: "tab\there \${not a var} ${HOME:-/root}"
}
# between
in = input cli {}"#;
    let want = r#"# header comment
// second header line
model = llm openai {
    api_key: $KEY
    model: "gpt-4o" # trailing
    temperature: 0.50

    tools: [a, b, c]
    nested: { b: true, a: null, deep: { x: [1, 2] } }
    replies: [
        # about the first reply
        { text: "hi", delay_ms: 5 },
        "plain",
    ]
    bus: redis {
        url: "redis://x"
    }
    esc: "tab\there \${not a var} ${HOME:-/root}"
}

# between
in = input cli {}
"#;
    let got = format_source(messy).unwrap();
    assert_eq!(got, want, "\n{got}");
    assert_eq!(format_source(&got).unwrap(), got);
}

#[test]
fn syntax_errors_stop_fmt() {
    let errs = format_source("a = llm mock { x: ./path }").unwrap_err();
    assert_eq!(errs[0].code, "unquoted-path");
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(format_source("").unwrap(), "");
    assert_eq!(
        format_source("\n\n# only\n\n\n// comments\n").unwrap(),
        "# only\n\n// comments\n"
    );
}
