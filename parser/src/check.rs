//! `check`: source text to a [`CheckReport`] — parse, classify, lower, resolve.

use crate::ast::Top;
use crate::classify::{classify, Class};
use crate::diagnostic::Diagnostic;
use crate::env::EnvSource;
use crate::lower::lower;
use crate::model::{Config, Span};
use crate::resolve::{resolve, Declared};
use crate::source::LineIndex;
use crate::system::{is_deployment, System, SystemLowerer};
use crate::{CheckOptions, CheckReport};
use std::collections::HashMap;
use std::path::Path;

/// Largest file `check` reads (bytes): far above any real config, small enough to stay fast.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// Most diagnostics reported for one file; hostile input cannot make `check` print (or keep)
/// millions of them.
pub const MAX_DIAGNOSTICS: usize = 1000;

/// See [`crate::check_source`].
pub fn check_source(path: &Path, source: &str, opts: &CheckOptions) -> CheckReport {
    let report = |diagnostics: Vec<Diagnostic>, config: Option<Config>| CheckReport {
        config,
        diagnostics,
        path: path.to_path_buf(),
        source: source.to_string(),
    };
    if source.len() > MAX_FILE_BYTES {
        let d = Diagnostic::error(
            "file-too-large",
            Span {
                start: 0,
                end: 0,
                line: 1,
                col: 1,
            },
            format!(
                "the file is {} bytes; the limit is {} bytes",
                source.len(),
                MAX_FILE_BYTES
            ),
        )
        .help("split the system into several files, or check that this is the right file");
        return report(vec![d], None);
    }
    let env_source = if opts.resolve_env {
        Some(match &opts.env {
            Some(map) => EnvSource::from_map(map.clone()),
            None => EnvSource::process_with_dotenv(path),
        })
    } else {
        None
    };
    let idx = LineIndex::new(source);
    let (mut file, mut diags) = crate::parse::parse(source, &idx);

    // Names: duplicates and reserved words.
    let count = file.members.len();
    let mut declared: HashMap<String, Declared> = HashMap::with_capacity(count);
    let mut names: Vec<String> = Vec::with_capacity(count);
    let mut drafts = Vec::with_capacity(count);
    let mut system = System::default();
    for top in crate::ast::items_mut(&mut file.members) {
        let mut sys = SystemLowerer {
            idx: &idx,
            env: env_source.as_ref(),
            diags: &mut diags,
        };
        let decl = match top {
            Top::Setting(entry) => {
                sys.setting(&mut system, entry);
                continue;
            }
            Top::Decl(decl) if is_deployment(decl) => {
                sys.deployment(&mut system, decl);
                continue;
            }
            Top::Decl(decl) => decl,
        };
        let name = &decl.name.text;
        if ["true", "false", "null"]
            .iter()
            .any(|r| name.eq_ignore_ascii_case(r))
        {
            diags.push(
                Diagnostic::error(
                    "reserved-name",
                    idx.span(decl.name.range),
                    format!("`{name}` cannot name a declaration"),
                )
                .primary("reserved word")
                .help("`true`, `false` and `null` are values, so a reference to this name could never be written; rename it"),
            );
        }
        let class = classify(decl, &idx, &mut diags);
        if let Some(first) = declared.get(name) {
            diags.push(
                Diagnostic::error(
                    "duplicate-name",
                    idx.span(decl.name.range),
                    format!("`{name}` is declared twice"),
                )
                .primary("declared again here")
                .label(idx.span(first.name_range), "first declared here")
                .help("give each declaration its own name"),
            );
            continue;
        }
        let (kind, type_name) = match &class {
            Class::Supported(s) => (Some(s.kind), s.type_name.to_string()),
            Class::Rejected => (None, decl.type_name.text.clone()),
        };
        declared.insert(
            name.clone(),
            Declared {
                kind,
                type_name,
                name_range: decl.name.range,
            },
        );
        names.push(name.clone());
        // Past the diagnostic limit, declarations are still named (for references) but not lowered.
        if let (Class::Supported(schema), true) = (class, diags.len() <= MAX_DIAGNOSTICS) {
            drafts.push(lower(decl, schema, &idx, env_source.as_ref(), &mut diags));
        }
    }
    let resolved = resolve(drafts, &declared, &names, &idx, &mut diags);
    shorthand_scripts(path, source, &resolved.components, &system, &mut diags);
    if !diags.iter().any(Diagnostic::is_error) {
        crate::spec::check_specs(&resolved.components, &mut diags);
    }
    diags.sort_by_key(|d| (d.span.start, d.severity));
    if diags.len() > MAX_DIAGNOSTICS {
        let dropped = diags.len() - MAX_DIAGNOSTICS;
        diags.truncate(MAX_DIAGNOSTICS);
        diags.push(
            Diagnostic::error(
                "too-many-errors",
                idx.span(crate::source::Range::new(source.len(), source.len())),
                format!("{dropped} more diagnostics are not shown"),
            )
            .help("fix the problems above and check again"),
        );
    }
    let has_errors = diags.iter().any(Diagnostic::is_error);
    let config = (!has_errors).then(|| Config {
        path: path.to_path_buf(),
        components: resolved.components,
        routes: resolved.routes,
        start_order: resolved.start_order,
        hooks: system.hooks,
        pipes: system.pipes,
        deployment: system.deployment,
    });
    report(diags, config)
}

/// The `"file.py::function"` shorthand names a file next to the `.ww` file: one that is not there
/// is an error now rather than a failed start (a missing function is found at start, when the
/// worker imports the file).
fn shorthand_scripts(
    path: &Path,
    source: &str,
    components: &[crate::model::Component],
    system: &System,
    diags: &mut Vec<Diagnostic>,
) {
    let base = path.parent().unwrap_or(Path::new("."));
    let specs = components
        .iter()
        .flat_map(|c| c.hooks.iter().chain(&c.pipes))
        .chain(system.hooks.iter().chain(&system.pipes));
    for spec in specs {
        let crate::model::HookAction::Python { script_path, .. } = &spec.action else {
            continue;
        };
        let written_as_string = source
            .get(spec.span.start..)
            .is_some_and(|rest| rest.starts_with(['"', '\'']));
        if !written_as_string {
            continue;
        }
        let full = base.join(script_path);
        if !full.is_file() {
            diags.push(
                Diagnostic::error(
                    "missing-file",
                    spec.span,
                    format!("hook script `{}` not found", script_path.display()),
                )
                .primary("no such file")
                .help(format!(
                    "relative paths start at the .ww file's folder (looked for {}); create the file or fix the path",
                    full.display()
                )),
            );
        }
    }
}

/// See [`crate::check_file`].
pub fn check_file(path: &Path, opts: &CheckOptions) -> CheckReport {
    let fail = |msg: String, help: &str| CheckReport {
        config: None,
        diagnostics: vec![Diagnostic::error(
            "read-error",
            Span {
                start: 0,
                end: 0,
                line: 1,
                col: 1,
            },
            msg,
        )
        .help(help)],
        path: path.to_path_buf(),
        source: String::new(),
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return fail(
                format!("{} is a directory", path.display()),
                "give the path of a `.ww` file",
            )
        }
        Ok(m) if m.len() > MAX_FILE_BYTES as u64 => {
            return fail(
                format!(
                    "{} is {} bytes; the limit is {} bytes",
                    path.display(),
                    m.len(),
                    MAX_FILE_BYTES
                ),
                "check that this is the right file",
            )
        }
        Ok(_) => {}
        Err(e) => {
            return fail(
                format!("cannot read {}: {e}", path.display()),
                "check the path and its permissions",
            )
        }
    }
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => check_source(path, &text, opts),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let idx = LineIndex::new(&text);
                let d = Diagnostic::error(
                    "invalid-utf8",
                    idx.span(crate::source::Range::new(at, at + 1)),
                    "the file is not valid UTF-8",
                )
                .primary("invalid byte")
                .help("save the file as UTF-8");
                CheckReport {
                    config: None,
                    diagnostics: vec![d],
                    path: path.to_path_buf(),
                    source: text,
                }
            }
        },
        Err(e) => fail(
            format!("cannot read {}: {e}", path.display()),
            "check the path and its permissions",
        ),
    }
}
