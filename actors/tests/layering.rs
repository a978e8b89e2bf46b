//! Architecture test (issue #10): keeps the module cycles that were broken broken. It reads the
//! crate's sources (no build-time dependency) and fails naming the `use crate::…` line that brings
//! a cycle back. `scripts/module-graph.py` draws the whole graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules that must import one another without a cycle, lowest layer first: the cell
/// (a component's long-lived state) under the router that holds the cells, under the services
/// every actor shares, under the component actors, the supervisor and the runtime facade.
const LAYERED: &[&str] = &[
    "lifecycle",
    "cell",
    "router",
    "session",
    "services",
    "component",
    "supervisor",
    "runtime",
];

/// Imports that would put the component actors under what they are built on.
const FORBIDDEN: &[(&str, &str)] = &[
    ("cell", "component"),
    ("cell", "router"),
    ("cell", "services"),
    ("router", "component"),
    ("router", "services"),
    ("services", "component"),
];

/// One `crate::<module>` path in a source file.
#[derive(Debug, Clone)]
struct Import {
    from: String,
    to: String,
    at: String,
}

#[test]
fn the_cell_router_and_services_do_not_import_the_component_actors() {
    let found: Vec<String> = imports(&sources())
        .into_iter()
        .filter(|i| FORBIDDEN.contains(&(i.from.as_str(), i.to.as_str())))
        .map(|i| format!("{} imports crate::{} ({})", i.from, i.to, i.at))
        .collect();
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}

#[test]
fn no_cycle_among_the_layered_modules() {
    let all = imports(&sources());
    let layered: Vec<&Import> = all
        .iter()
        .filter(|i| LAYERED.contains(&i.from.as_str()) && LAYERED.contains(&i.to.as_str()))
        .collect();
    if let Some(cycle) = find_cycle(&layered) {
        let lines: Vec<String> = cycle
            .windows(2)
            .filter_map(|w| layered.iter().find(|i| i.from == w[0] && i.to == w[1]))
            .map(|i| format!("  {} -> {} ({})", i.from, i.to, i.at))
            .collect();
        panic!("module cycle {}:\n{}", cycle.join(" -> "), lines.join("\n"));
    }
}

#[test]
fn the_checker_sees_grouped_and_inline_paths_and_skips_comments() {
    let files = vec![
        (
            "router.rs".to_string(),
            "use crate::{bus::Address, component::ComponentCell};\n// crate::runtime\nfn f() { crate::cell::x(); }\n".to_string(),
        ),
        ("component/mod.rs".to_string(), "use crate::router::Router;\n".to_string()),
    ];
    let found = imports(&files);
    let edges: BTreeSet<(&str, &str)> = found
        .iter()
        .map(|i| (i.from.as_str(), i.to.as_str()))
        .collect();
    let want: BTreeSet<(&str, &str)> = [
        ("router", "bus"),
        ("router", "component"),
        ("router", "cell"),
        ("component", "router"),
    ]
    .into_iter()
    .collect();
    assert_eq!(edges, want);
    let refs: Vec<&Import> = found.iter().collect();
    let cycle = find_cycle(&refs).unwrap_or_default();
    assert_eq!(cycle.first(), cycle.last());
    assert!(cycle.contains(&"component".to_string()) && cycle.contains(&"router".to_string()));
}

/// Every `.rs` file under `src/`, as (path relative to `src/`, text).
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                let rel = path.strip_prefix(&root).unwrap_or(&path);
                out.push((rel.to_string_lossy().replace('\\', "/"), text));
            }
        }
    }
    assert!(!out.is_empty(), "no sources under {}", root.display());
    out
}

/// The `crate::` paths of each file, by top-level module (the file's own module left out).
fn imports(files: &[(String, String)]) -> Vec<Import> {
    let mut out = Vec::new();
    for (rel, text) in files {
        let from = rel
            .split('/')
            .next()
            .unwrap_or(rel)
            .trim_end_matches(".rs")
            .to_string();
        if from == "lib" {
            continue;
        }
        for (n, line) in code_lines(text).iter().enumerate() {
            for to in crate_paths(line) {
                if to != from {
                    out.push(Import {
                        from: from.clone(),
                        to,
                        at: format!("src/{rel}:{}", n + 1),
                    });
                }
            }
        }
    }
    out
}

/// Lines with `//` comments removed; a multi-line `use crate::{…}` group is joined onto its first
/// line (keeping the line count) so its members are seen together.
fn code_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or("").to_string())
        .collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].contains("crate::{") {
            let mut depth = depth_change(&lines[i]);
            let mut j = i + 1;
            while depth > 0 && j < lines.len() {
                depth += depth_change(&lines[j]);
                let moved = std::mem::take(&mut lines[j]);
                lines[i].push(' ');
                lines[i].push_str(&moved);
                j += 1;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    lines
}

fn depth_change(line: &str) -> i32 {
    line.chars()
        .map(|c| match c {
            '{' => 1,
            '}' => -1,
            _ => 0,
        })
        .sum()
}

/// The top-level modules named after `crate::` in one line: `crate::a::…` and the first segment of
/// each member of `crate::{a::…, b}`.
fn crate_paths(line: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let before = &rest[..at];
        rest = &rest[at + "crate::".len()..];
        if before.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut member = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => {
                        out.extend(first_ident(&member));
                        member.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                member.push(c);
            }
            out.extend(first_ident(&member));
        } else {
            out.extend(first_ident(rest));
        }
    }
    out
}

fn first_ident(s: &str) -> Option<String> {
    let ident: String = s
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!ident.is_empty()).then_some(ident)
}

/// A cycle in the import graph (first module repeated at the end), if there is one.
fn find_cycle(imports: &[&Import]) -> Option<Vec<String>> {
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for i in imports {
        edges.entry(&i.from).or_default().insert(&i.to);
    }
    let nodes: Vec<&str> = edges.keys().copied().collect();
    for start in nodes {
        let mut path = vec![start];
        if walk(&edges, start, &mut path) {
            return Some(path.into_iter().map(str::to_string).collect());
        }
    }
    None
}

/// Depth-first from the end of `path`; true (with `path` closed) when it gets back to `path[0]`.
fn walk<'a>(
    edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    at: &'a str,
    path: &mut Vec<&'a str>,
) -> bool {
    for &next in edges.get(at).into_iter().flatten() {
        if next == path[0] {
            path.push(next);
            return true;
        }
        if !path.contains(&next) {
            path.push(next);
            if walk(edges, next, path) {
                return true;
            }
            path.pop();
        }
    }
    false
}
