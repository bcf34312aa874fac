//! The OpenAPI document as served and committed: poem-openapi's output, finished by rules that
//! hold for every schema, so the document tells the truth by construction rather than by hand
//! edits (contract §9.2).
//!
//! - **OpenAPI 3.1**, whose JSON Schema says "or null" in a way every tool reads alike
//!   (3.0's `nullable` beside a reference is ignored by some generators and an error to linters).
//! - **Null where the server sends or takes null.** Answers serialise an absent optional field
//!   as `null`, and request bodies (parsed by serde) take `null` for an optional field. So every
//!   property that is not `required` also takes `null`: `type: [T, "null"]`, or
//!   `anyOf: [{$ref}, {type: "null"}]` (one without a type takes any value already).
//! - **References that generators can read.** poem-openapi attaches a description to a
//!   referenced schema as `allOf: [{$ref}, {description}]`, which client generators reject for
//!   enums ("Cannot take allOf a non-object"); the description moves beside the reference.
//! - **Request examples show what a client sends.** A request example is written as the Rust
//!   value, whose unset fields would print as `null` (which for an update means "clear it");
//!   they are left out.
//! - **Headers every answer carries** are declared on every response: `X-Request-Id`; the
//!   rate-limit fields on every operation that takes a token; `Retry-After` on 429 and 503 (and
//!   on 409, where it is sent when waiting helps).
//! - **412 where `If-Match` is read.** Every operation that takes an `If-Match` header may answer
//!   412 `Precondition failed.`, in the error envelope every operation declares.
//! - **Bounds and defaults from the server's constants** (`api::bounds`).
//! - **Success answers' examples are real answers**: recorded from a server on the demo data by
//!   `tests/api/try_it.rs` into `openapi/examples.json`, which that test keeps true.
//! - **Domain names for envelopes.** poem-openapi names generic envelopes after their type
//!   (`Data_Ticket`, `Paged_TicketSummary`); clients see `TicketData`, `TicketSummaryPage`,
//!   `TicketWritten` and `TagList`.

use serde_json::{Map, Value, json};

/// The finished document, pretty-printed as poem-openapi prints it.
pub fn finish(generated: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<Value>(generated) else {
        return generated.to_string();
    };
    rename_envelopes(&mut doc);
    doc["openapi"] = json!("3.1.0");
    walk_schemas(&mut doc);
    super::bounds::apply(&mut doc);
    add_response_examples(&mut doc);
    drop_absent_fields_from_request_examples(&mut doc);
    declare_precondition_failures(&mut doc);
    declare_common_headers(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| generated.to_string())
}

/// `Data_X` → `XData`, `Data_list_X` → `XList`, `Written_X` → `XWritten`, `Paged_X` → `XPage`.
fn envelope_name(generated: &str) -> Option<String> {
    let (wrapper, inner) = generated.split_once('_')?;
    let (inner, suffix) = match (wrapper, inner.strip_prefix("list_")) {
        ("Data", Some(item)) => (item, "List"),
        ("Data", None) => (inner, "Data"),
        ("Written", None) => (inner, "Written"),
        ("Paged", None) => (inner, "Page"),
        _ => return None,
    };
    Some(format!("{inner}{suffix}"))
}

fn rename_envelopes(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    let renames: Vec<(String, String)> = schemas
        .keys()
        .filter_map(|name| Some((name.clone(), envelope_name(name)?)))
        .collect();
    for (old, new) in &renames {
        if let Some(mut schema) = schemas.remove(old) {
            if schema.get("title").is_some() {
                schema["title"] = json!(new);
            }
            schemas.insert(new.clone(), schema);
        }
    }
    let references: Map<String, Value> = renames
        .into_iter()
        .map(|(old, new)| {
            (
                format!("#/components/schemas/{old}"),
                json!(format!("#/components/schemas/{new}")),
            )
        })
        .collect();
    rewrite_refs(doc, &references);
    // Keep the schemas in name order, as generated.
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        let mut sorted: Vec<(String, Value)> = std::mem::take(schemas).into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        schemas.extend(sorted);
    }
}

fn rewrite_refs(value: &mut Value, references: &Map<String, Value>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                match (key.as_str(), child.as_str()) {
                    ("$ref", Some(target)) => {
                        if let Some(renamed) = references.get(target) {
                            *child = renamed.clone();
                        }
                    }
                    _ => rewrite_refs(child, references),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| rewrite_refs(item, references)),
        _ => {}
    }
}

/// (name, type, description) of the headers the server adds to answers.
const REQUEST_ID: (&str, &str, &str) = (
    "X-Request-Id",
    "string",
    "The request's id (the client's own when it sent a sane one); the server's log lines of this request carry it.",
);
const RATE_LIMIT: [(&str, &str, &str); 5] = [
    (
        "X-RateLimit-Limit",
        "integer",
        "Requests allowed in the token's one-minute window.",
    ),
    (
        "X-RateLimit-Remaining",
        "integer",
        "Requests left in the current window.",
    ),
    (
        "X-RateLimit-Reset",
        "integer",
        "Seconds until the window starts again.",
    ),
    (
        "RateLimit-Policy",
        "string",
        "The window as an IETF RateLimit-Policy field: `\"default\";q=60;w=60`.",
    ),
    (
        "RateLimit",
        "string",
        "Where the client stands as an IETF RateLimit field: `\"default\";r=58;t=41`.",
    ),
];
const RETRY_AFTER: (&str, &str, &str) = (
    "Retry-After",
    "integer",
    "Seconds to wait before trying again.",
);

fn declare_common_headers(doc: &mut Value) {
    let mut components = Map::new();
    for (name, kind, description) in RATE_LIMIT.iter().chain([&REQUEST_ID, &RETRY_AFTER]) {
        components.insert(
            name.to_string(),
            json!({ "description": description, "required": true, "schema": { "type": kind } }),
        );
    }
    doc["components"]["headers"] = Value::Object(components);
    for operation in operations_mut(doc) {
        // Operations that take a token pass the rate limiter, which reports on every answer.
        let limited = operation["security"].as_array().is_some_and(|schemes| {
            schemes
                .iter()
                .any(|s| s.get(super::security::SCHEME).is_some())
        });
        let Some(responses) = operation["responses"].as_object_mut() else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            let mut names = vec![REQUEST_ID.0];
            if limited {
                names.extend(RATE_LIMIT.iter().map(|(name, ..)| *name));
            }
            if matches!(status.as_str(), "429" | "503") {
                names.push(RETRY_AFTER.0);
            }
            let headers = response
                .as_object_mut()
                .map(|r| r.entry("headers").or_insert_with(|| json!({})));
            if let Some(Value::Object(headers)) = headers {
                for name in names {
                    headers.entry(name).or_insert_with(
                        || json!({ "$ref": format!("#/components/headers/{name}") }),
                    );
                }
                if status == "409" {
                    // Sent while the first request is still running; not when its write
                    // committed and only its answer was lost (waiting would not help).
                    headers.entry(RETRY_AFTER.0).or_insert_with(|| {
                        json!({
                            "description": "Seconds to wait before trying again, while the first request with this key is still running.",
                            "schema": { "type": "integer" }
                        })
                    });
                }
            }
        }
    }
}

/// Every operation of the document (each method of each path).
pub(super) fn operations_mut(doc: &mut Value) -> impl Iterator<Item = &mut Value> {
    doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
}

/// The 412 of an operation that takes `If-Match`, in the same error envelope as its 422.
fn declare_precondition_failures(doc: &mut Value) {
    for operation in operations_mut(doc) {
        let conditional = operation["parameters"]
            .as_array()
            .is_some_and(|parameters| {
                parameters
                    .iter()
                    .any(|p| p["in"] == "header" && p["name"] == "If-Match")
            });
        let Some(responses) = operation["responses"].as_object_mut() else {
            continue;
        };
        let Some(content) = responses.get("422").map(|r| r["content"].clone()) else {
            continue;
        };
        if conditional {
            responses.insert(
                "412".into(),
                json!({
                    "description": "`If-Match` names a version that is no longer current (`Precondition failed.`, `code: precondition_failed`); nothing was changed.",
                    "content": content,
                }),
            );
        }
    }
}

/// Operation id → status → media type → the answer's body.
const RESPONSE_EXAMPLES: &str = include_str!("../../../openapi/examples.json");

fn add_response_examples(doc: &mut Value) {
    let Ok(Value::Object(examples)) = serde_json::from_str::<Value>(RESPONSE_EXAMPLES) else {
        return;
    };
    for operation in operations_mut(doc) {
        let Some(Value::Object(by_status)) = operation["operationId"]
            .as_str()
            .and_then(|id| examples.get(id))
        else {
            continue;
        };
        for (status, by_media) in by_status {
            for (media, example) in by_media.as_object().into_iter().flatten() {
                let media = media.replace('~', "~0").replace('/', "~1");
                let at = format!("/responses/{status}/content/{media}");
                if let Some(Value::Object(media)) = operation.pointer_mut(&at) {
                    media.insert("example".into(), example.clone());
                }
            }
        }
    }
}

fn drop_absent_fields_from_request_examples(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    for (name, schema) in schemas.iter_mut() {
        if name.ends_with("Request")
            && let Some(Value::Object(example)) = schema.get_mut("example")
        {
            example.retain(|_, value| !value.is_null());
        }
    }
}

/// Applies the property rules to every object schema, wherever it appears.
fn walk_schemas(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = object.get("properties") {
                let required: Vec<String> = object
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|names| {
                        names
                            .iter()
                            .filter_map(|n| n.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut properties = properties.clone();
                for (name, property) in properties.iter_mut() {
                    finish_property(property, !required.contains(name));
                }
                object.insert("properties".into(), Value::Object(properties));
            }
            for (key, child) in object.iter_mut() {
                // Examples are values, not schemas.
                if key != "example" && key != "examples" {
                    walk_schemas(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk_schemas),
        _ => {}
    }
}

fn finish_property(property: &mut Value, optional: bool) {
    let Some(object) = property.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(parts)) = object.get("allOf") {
        // poem-openapi's `[{$ref}, {description}]`: the reference alone, the rest beside it.
        if let [reference @ Value::Object(r), Value::Object(rest)] = parts.as_slice()
            && r.contains_key("$ref")
        {
            let reference = reference.clone();
            let rest = rest.clone();
            object.remove("allOf");
            object.insert("$ref".into(), reference["$ref"].clone());
            for (key, value) in rest {
                object.entry(key).or_insert(value);
            }
        }
    }
    if !optional {
        if let Some(reference) = object.remove("$ref") {
            if object.is_empty() {
                object.insert("$ref".into(), reference);
            } else {
                // Beside a description, the reference is the one member of `allOf`, which
                // every generator reads as the referenced type itself.
                object.insert("allOf".into(), json!([{ "$ref": reference }]));
            }
        }
        return;
    }
    // Null is one more accepted value: a type list for a plain type (and `null` among an
    // enum's values), `anyOf` with `null` for a reference.
    if let Some(reference) = object.remove("$ref") {
        object.insert(
            "anyOf".into(),
            json!([{ "$ref": reference }, { "type": "null" }]),
        );
    } else if let Some(Value::String(kind)) = object.get("type").cloned() {
        object.insert("type".into(), json!([kind, "null"]));
        if let Some(Value::Array(values)) = object.get_mut("enum") {
            values.push(Value::Null);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_get_domain_names() {
        assert_eq!(envelope_name("Data_Ticket").unwrap(), "TicketData");
        assert_eq!(envelope_name("Data_list_Tag").unwrap(), "TagList");
        assert_eq!(envelope_name("Written_Reply").unwrap(), "ReplyWritten");
        assert_eq!(
            envelope_name("Paged_TicketSummary").unwrap(),
            "TicketSummaryPage"
        );
        assert_eq!(envelope_name("Ticket"), None);
        assert_eq!(envelope_name("Snake_Case"), None);
    }

    #[test]
    fn optional_properties_take_null_and_references_are_readable() {
        let generated = json!({
            "components": {"schemas": {
                "Data_Thing": {"type": "object", "title": "Data_Thing", "required": ["data"],
                    "properties": {"data": {"$ref": "#/components/schemas/Thing"}}},
                "Thing": {"type": "object", "required": ["id", "shape"], "properties": {
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "shape": {"description": "Its shape.", "allOf": [
                        {"$ref": "#/components/schemas/Level"}, {"description": "Its shape."}]},
                    "id": {"type": "integer"},
                    "note": {"type": "string"},
                    "owner": {"$ref": "#/components/schemas/Owner"},
                    "level": {"description": "How bad.", "allOf": [
                        {"$ref": "#/components/schemas/Level"}, {"description": "How bad."}]}
                }, "example": {"id": 1, "note": null}},
                "Owner": {"type": "object", "properties": {}},
                "Level": {"type": "string", "enum": ["low", "high"]}
            }},
            "paths": {"/t": {"get": {"responses": {"200": {"content": {"application/json":
                {"schema": {"$ref": "#/components/schemas/Data_Thing"}}}}}}}}
        });
        let finished: Value = serde_json::from_str(&finish(&generated.to_string())).unwrap();
        let schemas = &finished["components"]["schemas"];
        assert!(schemas.get("Data_Thing").is_none());
        assert_eq!(schemas["ThingData"]["title"], "ThingData");
        assert_eq!(
            schemas["ThingData"]["properties"]["data"],
            json!({"$ref": "#/components/schemas/Thing"})
        );
        assert_eq!(
            finished["paths"]["/t"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                ["$ref"],
            "#/components/schemas/ThingData"
        );
        let thing = &schemas["Thing"]["properties"];
        assert_eq!(thing["id"], json!({"type": "integer"}));
        assert_eq!(finished["openapi"], "3.1.0");
        assert_eq!(thing["note"], json!({"type": ["string", "null"]}));
        assert_eq!(
            thing["owner"],
            json!({"anyOf": [{"$ref": "#/components/schemas/Owner"}, {"type": "null"}]})
        );
        assert_eq!(
            thing["level"],
            json!({"description": "How bad.",
                "anyOf": [{"$ref": "#/components/schemas/Level"}, {"type": "null"}]})
        );
        assert_eq!(
            thing["kind"],
            json!({"type": ["string", "null"], "enum": ["a", "b", null]})
        );
        assert_eq!(
            thing["shape"],
            json!({"description": "Its shape.", "allOf": [{"$ref": "#/components/schemas/Level"}]})
        );
        assert_eq!(schemas["Thing"]["example"], json!({"id": 1, "note": null}));
    }
}
