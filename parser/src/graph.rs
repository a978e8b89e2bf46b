//! `graph`: components and routes of a checked config as text, Graphviz dot, Mermaid or JSON.

use crate::model::{Config, Kind, Value};

/// Output formats of `woodwork-actors graph`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Text,
    Dot,
    Mermaid,
    Json,
}

impl GraphFormat {
    /// Parses `text`, `dot`, `mermaid` or `json`.
    pub fn parse(s: &str) -> Option<GraphFormat> {
        match s {
            "text" => Some(GraphFormat::Text),
            "dot" => Some(GraphFormat::Dot),
            "mermaid" => Some(GraphFormat::Mermaid),
            "json" => Some(GraphFormat::Json),
            _ => None,
        }
    }
}

/// Tool edges (agent → tool), shown dashed: they are calls, not routes.
fn tools(config: &Config) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    for c in config.components.iter().filter(|c| c.kind == Kind::Agent) {
        if let Some(Value::List(l)) = c.prop("tools") {
            for t in l.iter().filter_map(Value::as_ref_name) {
                out.push((c.name.as_str(), t.to_string()));
            }
        }
        if let Some(m) = c.prop("model").and_then(Value::as_ref_name) {
            out.push((c.name.as_str(), m.to_string()));
        }
    }
    out
}

/// Renders components, routes (explicit and inferred) and tool uses.
pub fn render(config: &Config, format: GraphFormat) -> String {
    match format {
        GraphFormat::Text => text(config),
        GraphFormat::Dot => dot(config),
        GraphFormat::Mermaid => mermaid(config),
        GraphFormat::Json => {
            let comps: Vec<serde_json::Value> = config
                .components
                .iter()
                .map(|c| serde_json::json!({"name": c.name, "kind": c.kind, "type": c.type_name, "line": c.span.line}))
                .collect();
            let uses: Vec<serde_json::Value> = tools(config)
                .into_iter()
                .map(|(a, t)| serde_json::json!({"from": a, "to": t}))
                .collect();
            let v = serde_json::json!({
                "components": comps,
                "routes": config.routes,
                "uses": uses,
                "start_order": config.start_order,
            });
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
    }
}

fn text(config: &Config) -> String {
    let mut out = String::from("components:\n");
    let w = config
        .components
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for c in &config.components {
        out.push_str(&format!("  {:<w$}  {} {}\n", c.name, c.kind, c.type_name));
    }
    out.push_str("routes:\n");
    if config.routes.is_empty() {
        out.push_str("  (none)\n");
    }
    for r in &config.routes {
        out.push_str(&format!(
            "  {} -> {}{}\n",
            r.from,
            r.to,
            if r.inferred { "  (inferred)" } else { "" }
        ));
    }
    let uses = tools(config);
    if !uses.is_empty() {
        out.push_str("uses:\n");
        for (a, t) in uses {
            out.push_str(&format!("  {a} uses {t}\n"));
        }
    }
    out
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn dot(config: &Config) -> String {
    let mut out = String::from("digraph woodwork {\n  rankdir=LR;\n  node [shape=box];\n");
    for c in &config.components {
        out.push_str(&format!(
            "  {} [label={}];\n",
            quote(&c.name),
            quote(&format!("{}\\n{} {}", c.name, c.kind, c.type_name))
        ));
    }
    for r in &config.routes {
        let style = if r.inferred {
            " [style=bold, color=gray40, label=\"inferred\"]"
        } else {
            ""
        };
        out.push_str(&format!(
            "  {} -> {}{};\n",
            quote(&r.from),
            quote(&r.to),
            style
        ));
    }
    for (a, t) in tools(config) {
        out.push_str(&format!(
            "  {} -> {} [style=dashed, arrowhead=open];\n",
            quote(a),
            quote(&t)
        ));
    }
    out.push_str("}\n");
    out
}

fn mermaid(config: &Config) -> String {
    // Ids get a prefix so names like `end` never collide with Mermaid keywords.
    let mut out = String::from("flowchart LR\n");
    for c in &config.components {
        out.push_str(&format!(
            "  n_{}[\"{}<br/>{} {}\"]\n",
            c.name, c.name, c.kind, c.type_name
        ));
    }
    for r in &config.routes {
        let arrow = if r.inferred { "-. inferred .->" } else { "-->" };
        out.push_str(&format!("  n_{} {arrow} n_{}\n", r.from, r.to));
    }
    for (a, t) in tools(config) {
        out.push_str(&format!("  n_{a} -.- n_{t}\n"));
    }
    out
}
