//! JSON to what a script sees: `ticket` and `user` are Rhai object maps made from JSON, so
//! their shape is written down once, by the domain (`domain::tickets::script_view`, documented
//! in docs/scripting.md).

use rhai::{Dynamic, Map};
use serde_json::Value;

/// JSON to a Rhai value: objects become maps, numbers integers when they are whole.
pub fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Array(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect()),
        Value::Object(_) => Dynamic::from_map(to_map(value)),
    }
}

/// A JSON object to a Rhai map (anything else is an empty map).
pub fn to_map(value: &Value) -> Map {
    value
        .as_object()
        .map(|object| {
            object
                .iter()
                .map(|(k, v)| (k.as_str().into(), to_dynamic(v)))
                .collect()
        })
        .unwrap_or_default()
}
