//! Which (kind, type) a declaration is: canonical names, aliases, the short form, renamed and
//! unsupported Python-engine kinds.

use crate::ast::Decl;
use crate::diagnostic::Diagnostic;
use crate::model::Kind;
use crate::schema::{self, TypeSchema};
use crate::source::LineIndex;

/// The outcome for one declaration.
pub enum Class {
    Supported(&'static TypeSchema),
    /// Recognised but rejected, or unknown: already reported.
    Rejected,
}

/// Resolves a declaration's (kind, type), reporting unknown, ambiguous and unsupported ones.
pub fn classify(decl: &Decl, idx: &LineIndex, diags: &mut Vec<Diagnostic>) -> Class {
    let ty = decl.type_name.text.as_str();
    let Some(kind_ident) = &decl.kind else {
        return short_form(decl, idx, diags);
    };
    let kind_text = kind_ident.text.as_str();
    let head = idx.span(kind_ident.range.join(decl.type_name.range));
    if let Some(u) = schema::unsupported(kind_text, ty) {
        diags.push(
            Diagnostic::error(
                "unsupported-component",
                head,
                format!(
                    "`{kind_text} {ty}` is not supported by this runtime ({})",
                    u.why
                ),
            )
            .primary("not supported")
            .help(supported_help(Kind::parse(kind_text))),
        );
        return Class::Rejected;
    }
    if let Some(r) = schema::renamed_type(kind_text, ty) {
        diags.push(
            Diagnostic::warning(
                "renamed-type",
                head,
                format!(
                    "`{kind_text} {ty}` is the old name of `{} {}`",
                    r.kind, r.type_name
                ),
            )
            .primary(format!("read as `{} {}`", r.kind, r.type_name))
            .help(format!("write `{} {}`", r.kind, r.type_name)),
        );
        return Class::Supported(r);
    }
    let kind = match Kind::parse(kind_text) {
        Some(k) => k,
        None => match schema::KIND_ALIASES.iter().find(|(a, _)| *a == kind_text) {
            Some((old, k)) => {
                diags.push(
                    Diagnostic::warning(
                        "renamed-kind",
                        idx.span(kind_ident.range),
                        format!("`{old}` was renamed to `{}`", k.as_str()),
                    )
                    .primary(format!("read as `{}`", k.as_str()))
                    .help(format!("write `{} {ty}`", k.as_str())),
                );
                *k
            }
            None => {
                let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                let mut help = format!("supported kinds: {}", schema::quote_list(&kinds));
                if let Some(s) = crate::suggest::did_you_mean(kind_text, kinds.iter().copied()) {
                    help = format!("did you mean `{s}`? {help}");
                }
                diags.push(
                    Diagnostic::error(
                        "unknown-kind",
                        idx.span(kind_ident.range),
                        format!("unknown component kind `{kind_text}`"),
                    )
                    .primary("unknown kind")
                    .help(help),
                );
                return Class::Rejected;
            }
        },
    };
    match schema::lookup(kind, ty) {
        Some(s) => Class::Supported(s),
        None => {
            let types = schema::types_of(kind);
            let mut help = format!("`{kind}` types: {}", schema::quote_list(&types));
            if let Some(s) = crate::suggest::did_you_mean(ty, types.iter().copied()) {
                help = format!("did you mean `{s}`? {help}");
            }
            diags.push(
                Diagnostic::error(
                    "unknown-type",
                    idx.span(decl.type_name.range),
                    format!("`{ty}` is not a type of `{kind}`"),
                )
                .primary("unknown type")
                .help(help),
            );
            Class::Rejected
        }
    }
}

fn supported_help(kind: Option<Kind>) -> String {
    match kind {
        Some(k) => format!(
            "remove this declaration and every reference to it; supported `{k}` types: {}",
            schema::quote_list(&schema::types_of(k))
        ),
        None => "remove this declaration and every reference to it (see `woodwork-actors check` docs for the supported kinds)".into(),
    }
}

/// `name = type { … }`: the type must name exactly one kind; a name that is itself a kind settles
/// an ambiguous type (`input = cli {}` is `input command_line`).
fn short_form(decl: &Decl, idx: &LineIndex, diags: &mut Vec<Diagnostic>) -> Class {
    let ty = decl.type_name.text.as_str();
    let span = idx.span(decl.type_name.range);
    let candidates = schema::by_type(ty);
    match candidates.as_slice() {
        [one] => return Class::Supported(one),
        [] => {}
        many => {
            if let Some(s) = many.iter().find(|s| s.kind.as_str() == decl.name.text) {
                return Class::Supported(s);
            }
            let options: Vec<String> = many.iter().map(|s| format!("`{} {ty}`", s.kind)).collect();
            diags.push(
                Diagnostic::error(
                    "ambiguous-type",
                    span,
                    format!("`{ty}` is a type of several kinds"),
                )
                .primary("which kind?")
                .help(format!("write the kind too: {}", options.join(" or "))),
            );
            return Class::Rejected;
        }
    }
    if let Some(kind) = Kind::parse(ty) {
        diags.push(
            Diagnostic::error(
                "missing-type",
                span,
                format!("`{ty}` is a kind; the type is missing"),
            )
            .primary("kind without a type")
            .help(format!(
                "write `{} = {ty} <type> {{ … }}` with a type of {}",
                decl.name.text,
                schema::quote_list(&schema::types_of(kind))
            )),
        );
        return Class::Rejected;
    }
    if let Some(u) = schema::UNSUPPORTED.iter().find(|u| u.type_name == Some(ty)) {
        diags.push(
            Diagnostic::error(
                "unsupported-component",
                span,
                format!(
                    "`{} {ty}` is not supported by this runtime ({})",
                    u.kind, u.why
                ),
            )
            .primary("not supported")
            .help(supported_help(Kind::parse(u.kind))),
        );
        return Class::Rejected;
    }
    let all: Vec<&str> = schema::SCHEMAS.iter().map(|s| s.type_name).collect();
    let mut help = "write `name = kind type { … }`, e.g. `model = llm openai { … }`".to_string();
    if let Some(s) = crate::suggest::did_you_mean(ty, all.iter().copied()) {
        help = format!("did you mean `{s}`? {help}");
    }
    diags.push(
        Diagnostic::error(
            "unknown-type",
            span,
            format!("unknown component type `{ty}`"),
        )
        .primary("unknown type")
        .help(help),
    );
    Class::Rejected
}
