//! The one-screen summary `check` prints for an accepted file.

use crate::model::{Config, Kind};
use std::collections::BTreeMap;

/// Names listed per (kind, type) line before "and N more".
const NAMES_SHOWN: usize = 6;
/// Route lines shown before "and N more".
const ROUTES_SHOWN: usize = 12;

/// Components grouped by (kind, type) in [`Kind::ALL`] order, names in declaration order.
fn groups(config: &Config) -> Vec<((Kind, &str), Vec<&str>)> {
    let mut map: BTreeMap<(usize, &str), (Kind, Vec<&str>)> = BTreeMap::new();
    for c in &config.components {
        let rank = Kind::ALL.iter().position(|k| *k == c.kind).unwrap_or(0);
        map.entry((rank, c.type_name.as_str()))
            .or_insert((c.kind, Vec::new()))
            .1
            .push(&c.name);
    }
    map.into_iter()
        .map(|((_, t), (k, names))| ((k, t), names))
        .collect()
}

/// Components by kind/type, routes and start order, bounded to one screen.
pub fn summary_text(config: &Config, file: &str, warnings: usize) -> String {
    let n = config.components.len();
    let mut out = format!(
        "{file}: ok — {n} component{}, {} route{}, {warnings} warning{}\n",
        s(n),
        config.routes.len(),
        s(config.routes.len()),
        s(warnings)
    );
    out.push_str("components:\n");
    let groups = groups(config);
    let width = groups
        .iter()
        .map(|((k, t), _)| k.as_str().len() + t.len() + 1)
        .max()
        .unwrap_or(0);
    for ((kind, ty), names) in &groups {
        let label = format!("{kind} {ty}");
        let mut list = names
            .iter()
            .take(NAMES_SHOWN)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if names.len() > NAMES_SHOWN {
            list.push_str(&format!(", … and {} more", names.len() - NAMES_SHOWN));
        }
        out.push_str(&format!("  {label:<width$}  {:>4}  {list}\n", names.len()));
    }
    out.push_str("routes:\n");
    if config.routes.is_empty() {
        out.push_str("  (none: results return to the caller)\n");
    }
    for r in config.routes.iter().take(ROUTES_SHOWN) {
        out.push_str(&format!(
            "  {} → {}{}\n",
            r.from,
            r.to,
            if r.inferred { "  (inferred)" } else { "" }
        ));
    }
    if config.routes.len() > ROUTES_SHOWN {
        out.push_str(&format!(
            "  … and {} more\n",
            config.routes.len() - ROUTES_SHOWN
        ));
    }
    let order = &config.start_order;
    let mut shown = order
        .iter()
        .take(12)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if order.len() > 12 {
        shown.push_str(&format!(", … ({} in all)", order.len()));
    }
    out.push_str(&format!("start order: {shown}\n"));
    if !config.hooks.is_empty() || !config.pipes.is_empty() {
        out.push_str(&format!(
            "global: {} hook{}, {} pipe{} (every component)\n",
            config.hooks.len(),
            s(config.hooks.len()),
            config.pipes.len(),
            s(config.pipes.len())
        ));
    }
    if let Some(d) = &config.deployment {
        out.push_str(&format!(
            "deployment: {}{}\n",
            d.target.as_str(),
            bus_text(d)
        ));
    }
    out
}

/// `, message bus redis (serve joins it: …)` for a deployment naming a broker.
fn bus_text(d: &crate::spec::Deployment) -> String {
    match &d.message_bus {
        None => String::new(),
        Some(b) => match b.kind {
            Some(crate::spec::BusKind::Memory) => ", message bus memory".into(),
            kind => format!(
                ", message bus {} (serve joins it unless --bus says otherwise)",
                kind.map_or("from an unread variable", |k| k.as_str())
            ),
        },
    }
}

/// The same summary as JSON (`check --format json`).
pub fn summary_json(config: &Config) -> serde_json::Value {
    let by_kind: Vec<serde_json::Value> = groups(config)
        .into_iter()
        .map(|((k, t), names)| serde_json::json!({"kind": k, "type": t, "count": names.len(), "names": names}))
        .collect();
    let mut v = serde_json::json!({
        "components": config.components.len(),
        "by_kind": by_kind,
        "routes": config.routes,
        "start_order": config.start_order,
    });
    if let serde_json::Value::Object(m) = &mut v {
        if !config.hooks.is_empty() || !config.pipes.is_empty() {
            m.insert("global_hooks".into(), config.hooks.len().into());
            m.insert("global_pipes".into(), config.pipes.len().into());
        }
        if let Some(d) = &config.deployment {
            m.insert(
                "deployment".into(),
                serde_json::json!({
                    "target": d.target,
                    "message_bus": d.message_bus.as_ref().map(|b| b.kind),
                }),
            );
        }
    }
    v
}

fn s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
