//! Every bound the document states is the bound the server checks (contract §9.2), found in
//! the document itself, so a bound added to `api::bounds` is tested without a change here: for
//! each `maxLength`, `minLength`, `maxItems`, `minimum`, `exclusiveMinimum` and `maximum` of a
//! request field or query parameter, a value past the bound is refused with 422 naming the
//! field, and a value at the bound is not refused for that field (it may be refused for
//! another, such as a name already taken by the call before). A `pattern` is tried with the
//! documented value (taken) and the same value with a character it cannot end with
//! (refused). Each documented `default` is what the server does when the field is left out.

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::{
    both_databases,
    support::{Reply, TestApp},
    try_it::{self, Made, ORDER},
};

both_databases!(demo; documented_bounds_are_the_checked_ones);
both_databases!(documented_defaults_are_what_an_omitted_field_means);

/// A request field's schema, followed through `$ref`, `allOf` and `anyOf` (with `null`).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    for combinator in ["allOf", "anyOf"] {
        if let Some(parts) = schema[combinator].as_array()
            && let Some(part) = parts.iter().find(|p| p["type"] != "null")
            && part.get("$ref").is_some()
        {
            return resolve(doc, part);
        }
    }
    schema
}

/// `text` (an example's value) made exactly `length` characters long with `fill`, still what
/// the field takes: an address grows at the front, a script by a comment, anything else at the
/// end.
fn sized(field: &str, text: &str, length: usize, fill: char) -> String {
    let pad = |n: usize| fill.to_string().repeat(n);
    if text.chars().count() > length {
        return pad(length);
    }
    let missing = length - text.chars().count();
    if text.contains('@') {
        format!("{}{text}", pad(missing))
    } else if field == "script" && missing >= 3 {
        format!("{text}\n//{}", pad(missing - 3))
    } else {
        format!("{text}{}", pad(missing))
    }
}

/// (description, value, refused?) for each bound of `schema`; `example` is the field's
/// documented value, if any. Texts are filled with a letter of their own per call, so a value
/// made at the bound (a name, an address) is not taken by the one made before.
fn cases(field: &str, schema: &Value, example: Option<&Value>) -> Vec<(String, Value, bool)> {
    static CALLS: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let sized = |field: &str, text: &str, length: usize| {
        sized(field, text, length, char::from(b'a' + call % 26))
    };
    let mut cases = Vec::new();
    let placeholder = match field {
        f if f.ends_with("email") => "x@example.com",
        "script" => "",
        "url" => "https://example.com/",
        _ => "x",
    };
    let text = example.and_then(Value::as_str).unwrap_or(placeholder);
    if let Some(max) = schema["maxLength"].as_u64() {
        let max = max as usize;
        cases.push((
            format!("{max} characters"),
            json!(sized(field, text, max)),
            false,
        ));
        cases.push((
            format!("{} characters", max + 1),
            json!(sized(field, text, max + 1)),
            true,
        ));
    }
    if let Some(min) = schema["minLength"].as_u64() {
        let min = min as usize;
        cases.push((
            format!("{min} characters"),
            json!(sized(field, text, min)),
            false,
        ));
        if min > 0 {
            let short = sized(field, text, min - 1);
            cases.push((format!("{} characters", min - 1), json!(short), true));
        }
    }
    if let Some(max) = schema["maxItems"].as_u64() {
        let max = max as usize;
        let first = example.and_then(|e| e.as_array()?.first().cloned());
        // At the bound only with a documented item to repeat (a list of ids that must exist).
        if let Some(item) = &first {
            cases.push((format!("{max} items"), json!(vec![item; max]), false));
        }
        let item = first.unwrap_or(json!(1));
        cases.push((
            format!("{} items", max + 1),
            json!(vec![item; max + 1]),
            true,
        ));
    }
    let number = |n: &Value| {
        n.as_i64()
            .map(Value::from)
            .or_else(|| n.as_f64().map(Value::from))
    };
    let plus = |n: &Value, by: i64| match n.as_i64() {
        Some(n) => json!(n + by),
        None => json!(n.as_f64().unwrap() + by as f64),
    };
    if let Some(max) = number(&schema["maximum"]) {
        cases.push((format!("{max}"), max.clone(), false));
        cases.push((format!("{}", plus(&max, 1)), plus(&max, 1), true));
    }
    if let Some(min) = number(&schema["minimum"]) {
        cases.push((format!("{min}"), min.clone(), false));
        cases.push((format!("{}", plus(&min, -1)), plus(&min, -1), true));
    }
    if let Some(min) = number(&schema["exclusiveMinimum"]) {
        cases.push((format!("{min}"), min, true));
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        let regex = regex::Regex::new(pattern).unwrap();
        // Only from a value the pattern takes (the documented one, where there is one).
        if let Some(text) = Some(text).filter(|t| regex.is_match(t)) {
            let broken = format!("{text}!");
            assert!(
                !regex.is_match(&broken),
                "{field}: {pattern} takes {broken}"
            );
            cases.push((format!("{text:?}"), json!(text), false));
            cases.push((format!("{broken:?}"), json!(broken), true));
        }
    }
    cases
}

/// The bounded fields of a body schema as dotted paths, with their schemas and example values,
/// nested objects included.
fn bounded_fields(
    doc: &Value,
    schema: &Value,
    example: &Value,
    at: &str,
    found: &mut Vec<(String, Value, Option<Value>)>,
) {
    let schema = resolve(doc, schema);
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let path = if at.is_empty() {
            name.clone()
        } else {
            format!("{at}.{name}")
        };
        let value = example.get(name);
        let resolved = resolve(doc, property);
        // Inside an object the example gives (a partial one would fail on what it lacks).
        if let Some(nested @ Value::Object(_)) = value
            && resolved["properties"].is_object()
        {
            bounded_fields(doc, resolved, nested, &path, found);
        }
        let keywords = [
            "maxLength",
            "minLength",
            "maxItems",
            "maximum",
            "minimum",
            "pattern",
        ];
        if keywords.iter().any(|k| property.get(*k).is_some())
            || property.get("exclusiveMinimum").is_some()
        {
            found.push((path, property.clone(), value.cloned()));
        }
    }
}

/// `body` with the field at the dotted `path` set to `value` (objects on the way are made).
fn with_field(body: &Value, path: &str, value: Value) -> Value {
    let mut body = body.clone();
    let mut here = &mut body;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        if !here[*part].is_object() {
            here[*part] = Value::Object(Map::new());
        }
        here = &mut here[*part];
    }
    here[parts[parts.len() - 1]] = value;
    body
}

/// Whether a 422 names `field` or the object holding it.
fn names(body: &Value, field: &str) -> bool {
    let errors = body["errors"].as_object().cloned().unwrap_or_default();
    errors.keys().any(|key| {
        key == field
            || field.starts_with(&format!("{key}."))
            || key.starts_with(&format!("{field}."))
    })
}

async fn documented_bounds_are_the_checked_ones(app: TestApp) {
    let doc = try_it::document();
    let operations = try_it::operations(&doc);
    let token = app.admin_token.clone();
    let mut made = Made::default();
    let mut tried = 0;
    for id in ORDER {
        // The documented call first: it makes what later calls address.
        let reply = try_it::call(&app, &doc, &made, id).await.unwrap();
        assert!(
            reply.status < 300,
            "{id} answered {}: {}",
            reply.status,
            reply.body
        );
        let (method, template, operation) = &operations[*id];
        made.note(id, template, method, reply.status, &reply.body);
        let path = made.path(template, operation).unwrap();
        if let Some(example) = try_it::request_example(&doc, operation) {
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            // A field an update's example leaves out takes its create twin's example value.
            let mut values = example.clone();
            let name = schema["$ref"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap();
            let twin = &doc["components"]["schemas"][name.replace("Update", "Create")]["example"];
            for (field, value) in twin.as_object().into_iter().flatten() {
                values
                    .as_object_mut()
                    .unwrap()
                    .entry(field)
                    .or_insert(value.clone());
            }
            let mut fields = Vec::new();
            bounded_fields(&doc, schema, &values, "", &mut fields);
            for (field, property, value) in fields {
                // An update takes any one field alone (with the example's others it could
                // conflict: a macro's actions beside its script).
                let top = field.split('.').next().unwrap();
                let base = match (example.get(top), values.get(top)) {
                    (None, Some(twin)) if name.starts_with("Update") => json!({ top: twin }),
                    (None, None) if name.starts_with("Update") => json!({}),
                    _ => example.clone(),
                };
                for (what, value, refused) in cases(&field, &property, value.as_ref()) {
                    let body = with_field(&base, &field, value);
                    let reply = app
                        .call(method.clone(), &path, Some(&token), Some(body))
                        .await;
                    let named = reply.status == 422 && names(&reply.body, &field);
                    assert_eq!(
                        named, refused,
                        "{id}: `{field}` of {what} answered {}: {}",
                        reply.status, reply.body
                    );
                    tried += 1;
                }
            }
        }
        if *method != Method::GET {
            continue;
        }
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            if parameter["in"] != "query" {
                continue;
            }
            let name = parameter["name"].as_str().unwrap();
            for (what, value, refused) in cases(name, &parameter["schema"], None) {
                // A cursor is opaque: one of any length the list did not give is refused.
                if name == "cursor" && !refused {
                    continue;
                }
                let value = match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                let reply = app.get(&format!("{path}?{name}={value}"), &token).await;
                let named = reply.status == 422 && names(&reply.body, name);
                assert_eq!(
                    named, refused,
                    "{id}: `{name}` of {what} answered {}: {}",
                    reply.status, reply.body
                );
                assert!(
                    refused || reply.status == 200,
                    "{id}?{name}={what}: {}",
                    reply.status
                );
                tried += 1;
            }
        }
    }
    assert!(tried > 100, "{tried} bounds tried");
}

/// The `default` the document states for a request field (`Schema.field`) or a query
/// parameter (`operation?parameter`).
fn documented_default(doc: &Value, at: &str) -> Value {
    let found = if let Some((operation, parameter)) = at.split_once('?') {
        let operation = &try_it::operations(doc)[operation].2;
        let parameters = operation["parameters"].as_array().unwrap();
        let parameter = parameters.iter().find(|p| p["name"] == parameter).unwrap();
        parameter["schema"]["default"].clone()
    } else {
        let (schema, field) = at.split_once('.').unwrap();
        doc["components"]["schemas"][schema]["properties"][field]["default"].clone()
    };
    assert!(!found.is_null(), "no default documented for {at}");
    found
}

async fn documented_defaults_are_what_an_omitted_field_means(app: TestApp) {
    let doc = try_it::document();
    let default = |at: &str| documented_default(&doc, at);
    let token = app.admin_token.clone();

    let ticket = app.ticket(&token, "Defaults", json!({})).await;
    assert_eq!(ticket["priority"], default("CreateTicketRequest.priority"));
    assert_eq!(
        ticket["ticket_type"],
        default("CreateTicketRequest.ticket_type")
    );
    let reference = ticket["reference"].as_str().unwrap();
    let reply = app
        .post(
            &format!("/tickets/{reference}/reply"),
            &token,
            json!({ "body": "Is this public?" }),
        )
        .await
        .expect(201);
    assert_eq!(
        reply.data()["is_internal_note"],
        default("ReplyRequest.is_internal_note")
    );

    let tag = app
        .post("/admin/tags/create", &token, json!({ "name": "plain" }))
        .await
        .expect(201);
    assert_eq!(tag.data()["color"], default("CreateTagRequest.color"));
    let department = app
        .post(
            "/admin/departments/create",
            &token,
            json!({ "name": "Billing" }),
        )
        .await
        .expect(201);
    assert_eq!(
        department.data()["is_active"],
        default("CreateDepartmentRequest.is_active")
    );
    let user = app
        .post(
            "/admin/users/create",
            &token,
            json!({ "name": "Ann", "email": "ann@example.com", "role": "agent" }),
        )
        .await
        .expect(201);
    assert_eq!(
        user.data()["is_active"],
        default("CreateUserRequest.is_active")
    );

    // The list's order and the export's format: the same answer as with the defaults named.
    for _ in 0..3 {
        app.ticket(&token, "Another", json!({})).await;
    }
    let sort_by = default("tickets.list?sort_by");
    let sort_dir = default("tickets.list?sort_dir");
    let named = format!(
        "/tickets?sort_by={}&sort_dir={}",
        sort_by.as_str().unwrap(),
        sort_dir.as_str().unwrap()
    );
    let references = |reply: Reply| -> Vec<Value> {
        let rows = reply.expect(200).data().as_array().unwrap().clone();
        rows.iter().map(|t| t["reference"].clone()).collect()
    };
    let plain = references(app.get("/tickets", &token).await);
    assert_eq!(plain.len(), 4);
    assert_eq!(plain, references(app.get(&named, &token).await));

    let format = default("reports.export?format");
    let plain = app.get("/reports/export/tickets", &token).await.expect(200);
    let named = app
        .get(
            &format!(
                "/reports/export/tickets?format={}",
                format.as_str().unwrap()
            ),
            &token,
        )
        .await
        .expect(200);
    assert_eq!(plain.header("content-type"), named.header("content-type"));
}

/// Every bound `api::bounds` states is in the document (a renamed schema or field would
/// otherwise drop it silently).
#[test]
fn every_stated_bound_is_in_the_document() {
    let doc = try_it::document();
    for (schemas, property, keywords) in escalated::api::bounds::fields() {
        for schema in schemas {
            let documented = &doc["components"]["schemas"][*schema]["properties"][property];
            for (key, value) in keywords.as_object().unwrap() {
                assert_eq!(&documented[key], value, "{schema}.{property}: {key}");
            }
        }
    }
}
