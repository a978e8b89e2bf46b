//! The functions a worker found in the file, as the model sees them: signatures it can copy,
//! the first paragraph of each docstring, and a JSON schema for providers with native tool calls.

use serde::Deserialize;
use serde_json::{json, Map, Value};

/// One parameter of a Python function, as reported by the worker's `inspect.signature`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ParamSpec {
    /// The keyword the agent's inputs must use.
    pub name: String,
    /// The annotation as written (`int`, `list[str]`, `Optional[int]`), shown to the model.
    #[serde(default)]
    pub annotation: Option<String>,
    /// JSON type the annotation asks for (`integer`, `string`, …), used to check and convert
    /// inputs; `None` when unannotated or not a basic type.
    #[serde(default, rename = "type")]
    pub json_type: Option<String>,
    /// `Optional[...]` / `X | None`: the argument may be null or left out.
    #[serde(default)]
    pub nullable: bool,
    /// The default as JSON text (or Python repr when not JSON), shown in the signature.
    #[serde(default)]
    pub default: Option<String>,
    /// Declared before `/`: the worker passes it positionally.
    #[serde(default)]
    pub positional_only: bool,
}

impl ParamSpec {
    /// Must the caller give it? (no default, not Optional)
    pub fn required(&self) -> bool {
        self.default.is_none() && !self.nullable
    }
}

/// One top-level public function of the file: an action of the tool.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct FunctionSpec {
    /// The action that calls it.
    pub name: String,
    /// Keyword parameters in declaration order (`*args` is left out: inputs cannot fill it).
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    /// First paragraph of the docstring, on one line.
    #[serde(default)]
    pub doc: String,
    /// Has `**kwargs`: argument names outside `params` are accepted.
    #[serde(default)]
    pub extra_kwargs: bool,
    /// `async def`: the worker runs it to completion with `asyncio.run`.
    #[serde(default)]
    pub is_async: bool,
}

impl FunctionSpec {
    /// `name(a: int, b: str = "x")`, the form error messages and the description show.
    pub fn signature(&self) -> String {
        let mut out = String::with_capacity(32);
        out.push_str(&self.name);
        out.push('(');
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&p.name);
            if let Some(a) = &p.annotation {
                out.push_str(": ");
                out.push_str(a);
            }
            if let Some(d) = &p.default {
                out.push_str(" = ");
                out.push_str(d);
            }
        }
        if self.extra_kwargs {
            if !self.params.is_empty() {
                out.push_str(", ");
            }
            out.push_str("**kwargs");
        }
        out.push(')');
        out
    }

    /// JSON schema of the inputs object, for providers that take tool schemas natively.
    pub fn input_schema(&self) -> Value {
        let mut props = Map::new();
        let mut required = Vec::new();
        for p in &self.params {
            let mut prop = Map::new();
            if let Some(t) = &p.json_type {
                prop.insert(
                    "type".into(),
                    if p.nullable && t != "null" {
                        json!([t, "null"])
                    } else {
                        json!(t)
                    },
                );
            }
            if let Some(d) = p
                .default
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
            {
                prop.insert("default".into(), d);
            }
            props.insert(p.name.clone(), Value::Object(prop));
            if p.required() {
                required.push(json!(p.name));
            }
        }
        json!({
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": self.extra_kwargs,
        })
    }
}

/// The description the model reads: one line per function plus the user's documentation.
pub fn describe(file: &str, functions: &[FunctionSpec], documentation: Option<&str>) -> String {
    let mut out = if functions.is_empty() {
        format!("Python functions from {file} (not loaded yet).")
    } else {
        format!(
            "Python functions from {file}. Call one with action = the function name and inputs = \
             a JSON object of its arguments:"
        )
    };
    for f in functions {
        out.push_str("\n- ");
        out.push_str(&f.signature());
        if !f.doc.is_empty() {
            out.push_str(": ");
            out.push_str(&f.doc);
        }
    }
    if let Some(doc) = documentation.map(str::trim).filter(|d| !d.is_empty()) {
        out.push_str("\n\n");
        out.push_str(doc);
    }
    out
}

/// The function an action names; with no action, the file's only function.
pub fn resolve<'a>(
    file: &str,
    functions: &'a [FunctionSpec],
    action: Option<&str>,
) -> Result<&'a FunctionSpec, String> {
    let names = || {
        functions
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match action.map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => functions.iter().find(|f| f.name == a).ok_or_else(|| {
            format!(
                "{file} has no function `{}`; call one of: {}",
                clip_chars(a, 100),
                names()
            )
        }),
        None => match functions {
            [only] => Ok(only),
            _ => Err(format!(
                "no action given and {file} has {} functions; set action to one of: {}",
                functions.len(),
                names()
            )),
        },
    }
}

/// At most `max` characters of `s` (model-controlled text echoed in errors stays short).
pub(crate) fn clip_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
