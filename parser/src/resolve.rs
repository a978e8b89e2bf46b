//! Whole-file semantics: references checked, the implicit models of old agent files, the
//! dependency graph with cycle detection and a deterministic start order, and the routing table.
//!
//! Start order: a component starts after every declaration it references in its properties
//! (`model`, `tools`, `memory`, `knowledge_base`, `components`, any other name). `to:` is routing,
//! not a dependency: routes may form loops. Ties keep declaration order.
//!
//! Routes (DESIGN.md §4), for components without their own `to:` (a `to:` always wins):
//! - an `input` routes to the first `agent` declared, or, with no agent, to the first `llm`;
//! - an `agent` routes to every `output`;
//! - an `llm` routes to every `output` only when the file declares no `agent` (the llm is then
//!   the pipeline's brain, not a tool);
//! - anything else has no outgoing route and returns its result to whoever sent the request.
//!
//! `to:` targets must be an `agent`, `llm` or `output`: the kinds that take a message in the
//! pipeline. Tools (`api`, `mcp`, `knowledge_base`), `memory`, `input` and `vm` are not targets.

use crate::diagnostic::Diagnostic;
use crate::lower::Draft;
use crate::model::*;
use crate::schema::{self, ROUTE_TARGET_KINDS};
use crate::source::{LineIndex, Range};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// A declared name: its kind when supported (`None` when the declaration was rejected, so that
/// references to it do not cascade into more errors).
pub struct Declared {
    pub kind: Option<Kind>,
    pub type_name: String,
    pub name_range: Range,
}

/// Components (implicit models included), routes and start order of a file.
pub struct Resolved {
    pub components: Vec<Component>,
    pub routes: Vec<Route>,
    pub start_order: Vec<String>,
}

/// Checks references and routes, adds implicit models, orders and routes the components.
pub fn resolve(
    drafts: Vec<Draft>,
    declared: &HashMap<String, Declared>,
    decl_names: &[String],
    idx: &LineIndex,
    diags: &mut Vec<Diagnostic>,
) -> Resolved {
    // "Did you mean" compares against every name: done for the first few unknown names only, so a
    // file with thousands of them stays fast.
    let mut suggestions_left = 50usize;
    let mut candidates = move || {
        suggestions_left = suggestions_left.saturating_sub(1);
        let names: &[String] = if suggestions_left > 0 {
            decl_names
        } else {
            &[]
        };
        names.iter().map(String::as_str)
    };
    let mut drafts = drafts;
    // 1. references
    for d in &mut drafts {
        let mut ok_refs = Vec::new();
        for r in std::mem::take(&mut d.refs) {
            match declared.get(&r.name) {
                None => diags.push(unknown_ref(idx, &r.name, r.range, candidates())),
                Some(target) => {
                    if let (Some(kind), Some(allowed)) = (target.kind, r.allowed) {
                        if !allowed.contains(&kind) {
                            diags.push(
                                Diagnostic::error(
                                    "wrong-kind",
                                    idx.span(r.range),
                                    format!(
                                        "`{}` expects {}, but `{}` is `{} {}`",
                                        r.key,
                                        r.expected.clone().unwrap_or_default(),
                                        r.name,
                                        kind,
                                        target.type_name
                                    ),
                                )
                                .primary(format!("`{kind} {}`", target.type_name))
                                .label(idx.span(target.name_range), "declared here")
                                .help(wrong_kind_help(&r.key, allowed)),
                            );
                            continue;
                        }
                    }
                    ok_refs.push(r);
                }
            }
        }
        d.refs = ok_refs;
        for (name, range) in &d.to {
            match declared.get(name) {
                None => diags.push(unknown_ref(idx, name, *range, candidates())),
                Some(Declared {
                    kind: Some(kind),
                    type_name,
                    name_range,
                }) if !ROUTE_TARGET_KINDS.contains(kind) => {
                    diags.push(
                        Diagnostic::error(
                            "invalid-route",
                            idx.span(*range),
                            format!("`{}` cannot route to `{name}`: a `{kind} {type_name}` does not take routed messages", d.comp.name),
                        )
                        .primary("not a route target")
                        .label(idx.span(*name_range), "declared here")
                        .help("`to:` targets are agents, llms and outputs; give tools to an agent with `tools: [...]`"),
                    );
                }
                Some(_) => {}
            }
        }
    }

    // 2. implicit models of old agent files
    let taken: std::collections::HashSet<String> = decl_names.iter().cloned().collect();
    let mut components: Vec<Component> = Vec::with_capacity(drafts.len());
    // Per component: the names it depends on, with where each was written.
    let mut deps: Vec<Vec<(String, Range)>> = Vec::with_capacity(drafts.len());
    for d in drafts {
        let mut comp = d.comp;
        if let Some(api_key) = d.implicit_model {
            let mut name = format!("{}__model", comp.name);
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{}__model{n}", comp.name);
                n += 1;
            }
            diags.push(
                Diagnostic::warning(
                    "implicit-model",
                    idx.span(d.name_range),
                    format!("`{}` has no `model:`; an `llm openai` named `{name}` is made from its `api_key`", comp.name),
                )
                .primary("no `model:`")
                .help(format!(
                    "declare the model and point at it: `my_llm = llm openai {{ api_key: $OPENAI_API_KEY }}` and `model: my_llm` in `{}`",
                    comp.name
                )),
            );
            let mut props = std::collections::BTreeMap::new();
            props.insert("api_key".to_string(), api_key);
            if let Some(s) = schema::lookup(Kind::Llm, "openai") {
                for k in s.keys {
                    if let schema::Default::Str(v) = k.default {
                        props.insert(k.name.to_string(), Value::Str(v.to_string()));
                    }
                }
            }
            comp.props
                .insert("model".into(), Value::Ref(RefName { name: name.clone() }));
            components.push(Component {
                props,
                ..Component::new(name.clone(), Kind::Llm, "openai".into(), comp.span)
            });
            deps.push(Vec::new());
            let mut my_deps: Vec<(String, Range)> =
                d.refs.into_iter().map(|r| (r.name, r.range)).collect();
            my_deps.push((name, d.name_range));
            deps.push(my_deps);
        } else {
            deps.push(d.refs.into_iter().map(|r| (r.name, r.range)).collect());
        }
        comp.to = d.to.iter().map(|(n, _)| n.clone()).collect();
        components.push(comp);
    }

    // 3. dependency graph, cycles, start order
    let index: HashMap<&str, usize> = components
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let n = components.len();
    let mut preds: Vec<Vec<(usize, Range)>> = vec![Vec::new(); n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for (name, range) in ds {
            if let Some(&t) = index.get(name.as_str()) {
                if !preds[i].iter().any(|(p, _)| *p == t) {
                    preds[i].push((t, *range));
                    succs[t].push(i);
                }
            }
        }
    }
    let mut indeg: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut heap: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| indeg[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = heap.pop() {
        order.push(i);
        for &s in &succs[i] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                heap.push(Reverse(s));
            }
        }
    }
    if order.len() < n {
        report_cycles(&components, &preds, &indeg, idx, diags);
    }
    let start_order = order.iter().map(|&i| components[i].name.clone()).collect();

    // 4. routes
    let first_agent = components
        .iter()
        .find(|c| c.kind == Kind::Agent)
        .map(|c| c.name.clone());
    let first_llm = components
        .iter()
        .find(|c| c.kind == Kind::Llm)
        .map(|c| c.name.clone());
    let outputs: Vec<String> = components
        .iter()
        .filter(|c| c.kind == Kind::Output)
        .map(|c| c.name.clone())
        .collect();
    let mut routes = Vec::new();
    for c in &components {
        if !c.to.is_empty() {
            for t in &c.to {
                if index.contains_key(t.as_str()) {
                    routes.push(Route {
                        from: c.name.clone(),
                        to: t.clone(),
                        inferred: false,
                    });
                }
            }
            continue;
        }
        let inferred: Vec<String> = match c.kind {
            Kind::Input => first_agent
                .clone()
                .or_else(|| first_llm.clone())
                .into_iter()
                .collect(),
            Kind::Agent => outputs.clone(),
            Kind::Llm if first_agent.is_none() => outputs.clone(),
            _ => Vec::new(),
        };
        for t in inferred {
            routes.push(Route {
                from: c.name.clone(),
                to: t,
                inferred: true,
            });
        }
    }
    Resolved {
        components,
        routes,
        start_order,
    }
}

fn unknown_ref<'a>(
    idx: &LineIndex,
    name: &str,
    range: Range,
    candidates: impl Iterator<Item = &'a str>,
) -> Diagnostic {
    let d = Diagnostic::error(
        "unknown-reference",
        idx.span(range),
        format!("unknown reference `{name}`"),
    );
    let quoted = idx.text(range).starts_with(['"', '\'']);
    match crate::suggest::did_you_mean(name, candidates) {
        Some(s) if quoted => d
            .primary(format!("did you mean `{s}`?"))
            .help(format!("no declaration is named `{name}`; a quoted name here refers to a declaration: write \"{s}\", or declare `{name} = kind type {{ … }}`")),
        None if quoted => d
            .primary("not declared")
            .help(format!("a quoted name here refers to a declaration; declare it (`{name} = kind type {{ … }}`)")),
        Some(s) => d
            .primary(format!("did you mean `{s}`?"))
            .help(format!("no declaration is named `{name}`; write `{s}`, declare `{name} = kind type {{ … }}`, or quote it if you meant the text \"{name}\"")),
        None => d
            .primary("not declared")
            .help(format!("declare it (`{name} = kind type {{ … }}`), or quote it if you meant the text \"{name}\"")),
    }
}

fn wrong_kind_help(key: &str, allowed: &[Kind]) -> String {
    let kinds: Vec<&str> = allowed.iter().map(|k| k.as_str()).collect();
    match key {
        "tools" => format!(
            "tools are declarations of kind {}",
            schema::quote_list(&kinds)
        ),
        _ => format!(
            "`{key}` must name a declaration of kind {}",
            schema::quote_list(&kinds)
        ),
    }
}

/// Reports each reference cycle among the components left over by the topological sort.
fn report_cycles(
    comps: &[Component],
    preds: &[Vec<(usize, Range)>],
    indeg: &[usize],
    idx: &LineIndex,
    diags: &mut Vec<Diagnostic>,
) {
    let n = comps.len();
    let mut reported = vec![false; n];
    let mut count = 0;
    for start in 0..n {
        if indeg[start] == 0 || reported[start] || count >= 10 {
            continue;
        }
        // Walk predecessors among the leftovers until a node repeats: that loop is a cycle.
        let mut pos_in_path: HashMap<usize, usize> = HashMap::new();
        let mut path: Vec<(usize, Range)> = Vec::new();
        let mut cur = start;
        let cycle_from = loop {
            if let Some(&at) = pos_in_path.get(&cur) {
                break Some(at);
            }
            if reported[cur] {
                break None;
            }
            pos_in_path.insert(cur, path.len());
            let Some(&(p, r)) = preds[cur].iter().find(|(p, _)| indeg[*p] > 0) else {
                break None;
            };
            path.push((cur, r));
            cur = p;
        };
        let Some(from) = cycle_from else { continue };
        // path[k] = (node, range of its reference to path[k+1].node); reverse to dependency order.
        let cycle = &path[from..];
        for (node, _) in cycle {
            reported[*node] = true;
        }
        count += 1;
        let names: Vec<&str> = cycle.iter().map(|(i, _)| comps[*i].name.as_str()).collect();
        let mut shown: Vec<&str> = names.clone();
        shown.push(names[0]);
        let (first_node, first_range) = cycle[0];
        let mut d = Diagnostic::error(
            "reference-cycle",
            idx.span(first_range),
            format!("reference cycle: {}", shown.join(" → ")),
        )
        .primary(format!("`{}` needs `{}`", comps[first_node].name, shown[1]));
        for (k, (node, range)) in cycle.iter().enumerate().skip(1) {
            d = d.label(
                idx.span(*range),
                format!("`{}` needs `{}`", comps[*node].name, shown[k + 1]),
            );
        }
        diags.push(d.help("components start after what they reference, so a cycle can never start; remove one of these references"));
    }
}
