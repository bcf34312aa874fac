//! Every answer a test receives is checked against the schema the OpenAPI document declares for
//! that operation and status (contract §9.2): a field the document does not declare, a `null`
//! where it is not `nullable`, a wrong type or enum value, a missing required field or an
//! undeclared status fails the test that made the request. So the document cannot drift from
//! what the server sends.
//!
//! A small checker for the JSON Schema subset of the document (OpenAPI 3.1): `$ref`, `allOf`,
//! `oneOf`/`anyOf`, `type` (one or a list), `format: date-time`, `enum`, `properties`,
//! `required`, `additionalProperties`, `items`.

use std::sync::OnceLock;

use escalated::config::Config;
use reqwest::{Method, header::HeaderMap};
use serde_json::{Map, Value};

fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let text = escalated::api::spec_json(&Config::default().api.prefix);
        serde_json::from_str(&text).expect("the generated document is JSON")
    })
}

/// Checks one answer; `path` is relative to the API prefix. Answers of paths or methods the
/// core document does not describe (plugins' endpoints, the framework's 404 and 405) pass.
#[track_caller]
pub fn check(method: &Method, path: &str, status: u16, headers: &HeaderMap, body: &Value) {
    let doc = document();
    let Some(operation) = operation(doc, method, path) else {
        return;
    };
    let responses = &operation["responses"];
    let Some(response) = responses
        .get(status.to_string())
        .or_else(|| responses.get("default"))
    else {
        panic!(
            "{method} {path} answered {status}, which the document does not declare \
             (it declares {:?}): {body}",
            responses.as_object().map(|r| r.keys().collect::<Vec<_>>())
        );
    };
    for (name, header) in response["headers"].as_object().into_iter().flatten() {
        let header = match header["$ref"].as_str() {
            Some(reference) => {
                &doc["components"]["headers"][reference.trim_start_matches("#/components/headers/")]
            }
            None => header,
        };
        assert!(
            header["required"] != Value::Bool(true) || headers.contains_key(name.as_str()),
            "{method} {path} answered {status} without the header {name} it declares"
        );
    }
    let Some(content) = response["content"].as_object() else {
        return;
    };
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.ends_with("json") {
        return;
    }
    let Some(schema) = content
        .iter()
        .find(|(declared, _)| declared.split(';').next().unwrap_or_default().trim() == media)
        .map(|(_, media_type)| &media_type["schema"])
    else {
        panic!("{method} {path} answered {status} as {media}, which the document does not declare");
    };
    let mut problems = Vec::new();
    validate(doc, schema, body, "$", &mut problems);
    assert!(
        problems.is_empty(),
        "{method} {path} answered {status} unlike its documented schema:\n  {}\nbody: {body}",
        problems.join("\n  ")
    );
}

/// What in `value` is unlike `schema` (a schema of the core document), e.g. an example's.
pub fn problems(schema: &Value, value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    validate(document(), schema, value, "$", &mut problems);
    problems
}

/// The operation whose path template matches `path` best (literal segments beat parameters:
/// `/tickets/create` over `/tickets/{reference}`).
fn operation<'a>(doc: &'a Value, method: &Method, path: &str) -> Option<&'a Value> {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let method = method.as_str().to_ascii_lowercase();
    doc["paths"]
        .as_object()?
        .iter()
        .filter_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, item))
        })
        .max_by_key(|(literal, _)| *literal)
        .and_then(|(_, item)| item.get(&method))
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            validate(doc, part, value, at, problems);
        }
    }
    for combinator in ["oneOf", "anyOf"] {
        if let Some(options) = schema[combinator].as_array() {
            let fits = options.iter().any(|option| {
                let mut found = Vec::new();
                validate(doc, option, value, at, &mut found);
                found.is_empty()
            });
            if !fits {
                problems.push(format!("{at}: {value} fits none of {combinator}"));
            }
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        problems.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => return,
    };
    let fits = |kind: &str| match kind {
        "null" => value.is_null(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    };
    if !kinds.iter().any(|kind| fits(kind)) {
        problems.push(format!(
            "{at}: {value} is not of type {}",
            kinds.join(" or ")
        ));
        return;
    }
    match value {
        Value::Object(object) => validate_object(doc, schema, object, at, problems),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                validate(doc, &schema["items"], item, &format!("{at}[{i}]"), problems);
            }
        }
        Value::String(text)
            if schema["format"] == "date-time"
                && chrono::DateTime::parse_from_rfc3339(text).is_err() =>
        {
            problems.push(format!("{at}: {text:?} is not a date-time"));
        }
        _ => {}
    }
}

fn validate_object(
    doc: &Value,
    schema: &Value,
    object: &Map<String, Value>,
    at: &str,
    problems: &mut Vec<String>,
) {
    let empty = Map::new();
    let properties = schema["properties"].as_object().unwrap_or(&empty);
    for name in schema["required"].as_array().into_iter().flatten() {
        if let Some(name) = name.as_str()
            && !object.contains_key(name)
        {
            problems.push(format!("{at}: the required field `{name}` is missing"));
        }
    }
    let additional = &schema["additionalProperties"];
    for (name, value) in object {
        let here = format!("{at}.{name}");
        match properties.get(name) {
            Some(property) => validate(doc, property, value, &here, problems),
            None if additional.is_object() => validate(doc, additional, value, &here, problems),
            // A free-form object (`{"type": "object"}` alone: a plugin's settings, a script's
            // result) takes anything.
            None if properties.is_empty() && additional.is_null() => {}
            None if *additional == Value::Bool(true) => {}
            None => problems.push(format!("{here}: a field the document does not declare")),
        }
    }
}

#[cfg(test)]
mod checks {
    use serde_json::json;

    use super::*;

    /// The checker itself: answers unlike their schema are caught, like ones pass.
    #[test]
    fn answers_unlike_their_schema_are_caught() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        for name in ["x-request-id", "x-ratelimit-limit", "x-ratelimit-remaining"] {
            headers.insert(name, "1".parse().unwrap());
        }
        for name in ["x-ratelimit-reset", "ratelimit-policy", "ratelimit"] {
            headers.insert(name, "1".parse().unwrap());
        }
        let answer = |path: &str, status: u16, body: &Value, headers: &HeaderMap| {
            std::panic::catch_unwind(|| check(&Method::GET, path, status, headers, body)).is_err()
        };
        let problems = |path: &str, status: u16, body: Value| answer(path, status, &body, &headers);
        let error = json!({"message": "Ticket not found.", "code": "not_found"});
        assert!(!problems("/tickets/ESC-00001", 404, error.clone()));
        // A code outside the enum, a field the document does not declare, a missing field.
        let mut wrong_code = error.clone();
        wrong_code["code"] = json!("gone");
        assert!(problems("/tickets/ESC-00001", 404, wrong_code));
        let mut extra = error.clone();
        extra["hint"] = json!("try again");
        assert!(problems("/tickets/ESC-00001", 404, extra));
        assert!(problems(
            "/tickets/ESC-00001",
            404,
            json!({"code": "not_found"})
        ));
        // A null where the schema takes none, a status the document does not declare.
        assert!(problems(
            "/tickets/ESC-00001",
            404,
            json!({"message": null, "code": "not_found"})
        ));
        assert!(problems("/tickets/ESC-00001", 418, error.clone()));
        // Where null is documented it passes: `errors` is optional.
        let mut with_null = error;
        with_null["errors"] = Value::Null;
        assert!(!problems("/tickets/ESC-00001", 404, with_null.clone()));
        // A header the document declares as always sent must be there.
        let mut without_request_id = headers.clone();
        without_request_id.remove("x-request-id");
        assert!(answer(
            "/tickets/ESC-00001",
            404,
            &with_null,
            &without_request_id
        ));
    }
}
