//! Checking an agent's inputs against a function's signature before the worker sees them, so a
//! wrong call comes back as an error the model can act on ("missing argument `b` for add(a: int,
//! b: int)") instead of a Python traceback, and the numeric strings models often send for
//! `int`/`float`/`bool` parameters still work.

use super::catalog::{clip_chars, FunctionSpec, ParamSpec};
use crate::shown::json_kind as kind;
use serde_json::{Map, Number, Value};

/// The keyword arguments to send: `inputs` checked against `spec`, basic types converted where
/// the annotation asks for them (`"3"` → 3 for `int`, `"2.5"` → 2.5 for `float`, `"true"` →
/// true for `bool`, numbers → text for `str`), omitted `Optional` parameters filled with null.
pub fn prepare(spec: &FunctionSpec, inputs: &Value) -> Result<Map<String, Value>, String> {
    let mut kwargs = match inputs {
        Value::Null => Map::new(),
        Value::Object(m) => m.clone(),
        other => {
            return Err(format!(
                "inputs for {} must be a JSON object of keyword arguments (like {}), not {}",
                spec.signature(),
                example(spec),
                kind(other)
            ))
        }
    };
    if !spec.extra_kwargs {
        let unknown: Vec<String> = kwargs
            .keys()
            .filter(|k| !spec.params.iter().any(|p| &p.name == *k))
            .map(|k| format!("`{}`", clip_chars(k, 60)))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "unknown argument{} {} for {}",
                plural(unknown.len()),
                unknown.join(", "),
                spec.signature()
            ));
        }
    }
    let missing: Vec<String> = spec
        .params
        .iter()
        .filter(|p| p.required() && !kwargs.contains_key(&p.name))
        .map(|p| format!("`{}`", p.name))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing argument{} {} for {}",
            plural(missing.len()),
            missing.join(", "),
            spec.signature()
        ));
    }
    for p in &spec.params {
        match kwargs.get_mut(&p.name) {
            Some(v) => convert(spec, p, v)?,
            None if p.nullable && p.default.is_none() => {
                kwargs.insert(p.name.clone(), Value::Null);
            }
            None => {}
        }
    }
    Ok(kwargs)
}

/// Converts `v` in place to the parameter's JSON type, or says why it cannot.
fn convert(spec: &FunctionSpec, p: &ParamSpec, v: &mut Value) -> Result<(), String> {
    let Some(t) = p.json_type.as_deref() else {
        return Ok(());
    };
    if v.is_null() {
        return if p.nullable || p.default.as_deref() == Some("null") {
            Ok(())
        } else {
            Err(mismatch(spec, p, v))
        };
    }
    let converted = match (t, &*v) {
        ("integer", Value::Number(n)) if n.is_i64() || n.is_u64() => return Ok(()),
        ("integer", Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| Value::from(f as i64)),
        ("integer", Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        ("number", Value::Number(_)) => return Ok(()),
        ("number", Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number),
        ("boolean", Value::Bool(_)) => return Ok(()),
        ("boolean", Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        ("string", Value::String(_)) => return Ok(()),
        ("string", Value::Number(n)) => Some(Value::String(n.to_string())),
        ("string", Value::Bool(b)) => Some(Value::String(b.to_string())),
        ("array", Value::Array(_)) | ("object", Value::Object(_)) => return Ok(()),
        ("array" | "object" | "integer" | "number" | "boolean" | "string", _) => None,
        _ => return Ok(()), // "null" or a type we do not check: Python decides
    };
    match converted {
        Some(c) => {
            *v = c;
            Ok(())
        }
        None => Err(mismatch(spec, p, v)),
    }
}

fn mismatch(spec: &FunctionSpec, p: &ParamSpec, v: &Value) -> String {
    let want = match p.json_type.as_deref() {
        Some("integer") => "an integer",
        Some("number") => "a number",
        Some("boolean") => "true or false",
        Some("string") => "a string",
        Some("array") => "a JSON array",
        Some("object") => "a JSON object",
        _ => "another type",
    };
    format!(
        "argument `{}` of {} must be {want}, got {}",
        p.name,
        spec.signature(),
        clip_chars(&v.to_string(), 80)
    )
}

fn example(spec: &FunctionSpec) -> String {
    let names: Vec<String> = spec
        .params
        .iter()
        .take(3)
        .map(|p| format!("\"{}\": …", p.name))
        .collect();
    format!("{{{}}}", names.join(", "))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> FunctionSpec {
        serde_json::from_value(json!({
            "name": "f",
            "params": [
                {"name": "a", "annotation": "int", "type": "integer"},
                {"name": "x", "annotation": "float", "type": "number", "default": "1.0"},
                {"name": "flag", "annotation": "bool", "type": "boolean", "default": "false"},
                {"name": "s", "annotation": "Optional[str]", "type": "string", "nullable": true},
            ]
        }))
        .unwrap()
    }

    #[test]
    fn numeric_strings_become_numbers_and_missing_optionals_null() {
        let kw = prepare(&spec(), &json!({"a": "3", "x": "2.5", "flag": "TRUE"})).unwrap();
        assert_eq!(kw["a"], json!(3));
        assert_eq!(kw["x"], json!(2.5));
        assert_eq!(kw["flag"], json!(true));
        assert_eq!(kw["s"], Value::Null);
        let kw = prepare(&spec(), &json!({"a": 4.0, "s": 12})).unwrap();
        assert_eq!(kw["a"], json!(4));
        assert_eq!(kw["s"], json!("12"));
    }

    #[test]
    fn wrong_types_name_the_argument_and_signature() {
        let e = prepare(&spec(), &json!({"a": "three"})).unwrap_err();
        assert!(e.contains("argument `a` of f(a: int"), "{e}");
        assert!(e.contains("must be an integer"), "{e}");
        let e = prepare(&spec(), &json!({"a": null})).unwrap_err();
        assert!(e.contains("got null"), "{e}");
        let e = prepare(&spec(), &json!({"a": 1, "flag": "maybe"})).unwrap_err();
        assert!(e.contains("true or false"), "{e}");
    }
}
