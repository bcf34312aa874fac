//! The document's "Try it" examples work (contract §9.2): on what `escalated seed --demo` makes,
//! every operation is called in turn with its documented request example (path parameters from
//! the demo data or from what an earlier call made) and must succeed. Its success answers are
//! the document's response examples: `openapi/examples.json`, which `api::document` puts into
//! the document, must equal what this run answers (rewrite it with
//! `ESCALATED_UPDATE_EXAMPLES=1 cargo test --test api try_it`, then regenerate the document).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use escalated::{config::Config, time::Timestamp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    both_databases,
    support::{DEMO_NOW, Reply, TestApp},
};

both_databases!(demo; documented_examples_succeed_on_the_demo_data);

/// Every operation of the document, in an order a newcomer could try them: reads of the demo
/// data, then each admin resource made, read and changed, then a ticket and everything done to
/// it, then the deliveries that made, then every removal.
pub const ORDER: &[&str] = &[
    "auth.validate",
    "agents.list",
    "departments.list",
    "tags.list",
    "macros.list",
    "canned_responses.list",
    "dashboard.show",
    "realtime.config",
    "tickets.list",
    "tickets.changes",
    "reports.summary",
    "reports.export",
    "admin_users.create",
    "admin_users.list",
    "admin_users.show",
    "admin_users.update",
    "admin_tokens.create",
    "admin_tokens.list",
    "admin_tokens.update",
    "admin_departments.create",
    "admin_departments.list",
    "admin_departments.show",
    "admin_departments.update",
    "admin_tags.create",
    "admin_tags.list",
    "admin_tags.show",
    "admin_tags.update",
    "admin_canned_responses.create",
    "admin_canned_responses.list",
    "admin_canned_responses.show",
    "admin_canned_responses.update",
    "admin_macros.create",
    "admin_macros.list",
    "admin_macros.show",
    "admin_macros.update",
    "admin_sla_policies.create",
    "admin_sla_policies.list",
    "admin_sla_policies.show",
    "admin_sla_policies.update",
    "admin_automations.create",
    "admin_automations.list",
    "admin_automations.show",
    "admin_automations.update",
    "admin_actions.create",
    "admin_actions.list",
    "admin_actions.show",
    "admin_webhooks.create",
    "admin_webhooks.list",
    "admin_webhooks.show",
    "admin_webhooks.update",
    "attachments.upload",
    "attachments.download",
    "tickets.store",
    "tickets.create",
    "tickets.show",
    "tickets.apply_macro",
    "ticket_actions.list",
    "ticket_actions.run",
    "tickets.assign",
    "tickets.follow",
    "tickets.priority",
    "tickets.reply",
    "tickets.tags",
    "tickets.status",
    "tickets.bulk",
    "admin_email.deliveries",
    "admin_webhooks.deliveries",
    "admin_webhooks.redeliver",
    "admin_actions.update",
    "tickets.delete",
    "admin_webhooks.delete",
    "admin_actions.delete",
    "admin_automations.delete",
    "admin_sla_policies.delete",
    "admin_macros.delete",
    "admin_canned_responses.delete",
    "admin_tags.delete",
    "admin_departments.delete",
    "admin_tokens.delete",
    "admin_users.delete",
];

/// Operations this run does not call, and why.
pub const NOT_RUN: &[(&str, &str)] = &[
    // (Its 200 and 304 are; a range of a file is not asked for.)
    ("attachments.download 206", "a range request"),
    (
        "email.inbound",
        "takes a raw message and the inbound shared secret, not a token",
    ),
    ("realtime.events", "an event stream, which does not end"),
];

/// Operations whose answers depend on when the webhook worker ran (its attempts so far):
/// their examples are real answers too, but not compared.
const TIMED: &[&str] = &["admin_webhooks.deliveries", "admin_webhooks.redeliver"];

pub fn document() -> Value {
    serde_json::from_str(&escalated::api::spec_json(&Config::default().api.prefix)).unwrap()
}

/// Each operation of the document: id → (method, path template, operation).
pub fn operations(doc: &Value) -> BTreeMap<String, (Method, String, Value)> {
    let mut found = BTreeMap::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap().to_string();
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            found.insert(id, (method, template.clone(), operation.clone()));
        }
    }
    found
}

/// The example of the JSON request body `operation` documents, if it takes one.
pub fn request_example(doc: &Value, operation: &Value) -> Option<Value> {
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    let name = schema["$ref"].as_str()?.rsplit('/').next()?;
    Some(doc["components"]["schemas"][name]["example"].clone())
}

/// What earlier calls made and answered, from which later calls take their path parameters.
#[derive(Default)]
pub struct Made {
    /// Collection path (`/admin/tags`) → the `data` of the resource last made in it.
    made: BTreeMap<String, Value>,
    /// Operation id → its answer.
    pub answers: BTreeMap<String, Value>,
}

impl Made {
    /// `template` with its parameters filled in (`Err`: what is missing).
    pub fn path(&self, template: &str, operation: &Value) -> Result<String, String> {
        let mut path = String::new();
        let mut collection = String::new();
        for segment in template.split('/').filter(|s| !s.is_empty()) {
            let value = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                None => {
                    if path == collection {
                        collection = format!("{collection}/{segment}");
                    }
                    segment.to_string()
                }
                Some(name) => self.parameter(name, &collection, operation)?,
            };
            path = format!("{path}/{value}");
        }
        Ok(path)
    }

    fn parameter(&self, name: &str, collection: &str, operation: &Value) -> Result<String, String> {
        let text = |value: &Value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let missing = |what: &str| format!("no {what} before {}", operation["operationId"]);
        let found = |value: Option<&Value>, what: &str| {
            value
                .filter(|v| !v.is_null())
                .map(text)
                .ok_or_else(|| missing(what))
        };
        match name {
            "key" => found(self.made.get("/admin/actions").map(|a| &a["key"]), "action"),
            "delivery_id" => found(
                self.answers
                    .get("admin_webhooks.deliveries")
                    .map(|a| &a["data"][0]["id"]),
                "webhook delivery",
            ),
            "id" | "reference" => found(self.made.get(collection).map(|m| &m[name]), collection),
            // An enum (the report kind): its first value.
            _ => {
                let parameter = operation["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == name)
                    .unwrap();
                let schema = &parameter["schema"];
                let values = match schema["$ref"].as_str() {
                    Some(reference) => {
                        let name = reference.rsplit('/').next().unwrap();
                        document()["components"]["schemas"][name]["enum"].clone()
                    }
                    None => schema["enum"].clone(),
                };
                found(values.get(0), name)
            }
        }
    }

    /// Notes a successful answer; a resource made by a POST to a collection is kept.
    pub fn note(&mut self, id: &str, template: &str, method: &Method, status: u16, body: &Value) {
        if *method == Method::POST && status == 201 && !template.contains('{') {
            let collection = template.strip_suffix("/create").unwrap_or(template);
            self.made
                .insert(collection.to_string(), body["data"].clone());
        }
        self.answers.insert(id.to_string(), body.clone());
    }
}

/// Calls `id` with its documented example (`Err`: an earlier call did not make what it needs).
pub async fn call(app: &TestApp, doc: &Value, made: &Made, id: &str) -> Result<Reply, String> {
    let operations = operations(doc);
    let (method, template, operation) = &operations[id];
    let path = made.path(template, operation)?;
    let token = app.admin_token.clone();
    if id == "attachments.upload" {
        let log = b"2026-11-28T10:15:00Z printer-3 ERROR paper jam in tray 2\n";
        return Ok(crate::attachments::upload(app, &token, "printer.log", log).await);
    }
    let body = request_example(doc, operation);
    Ok(app.call(method.clone(), &path, Some(&token), body).await)
}

/// The committed response examples: operation id → status → media type → body.
pub fn examples_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/examples.json")
}

/// An answer as the document shows it, the same on every run: lists cut to their first two
/// items (the meta still counts them all; a text to its first three lines), secrets masked,
/// and times read from the system clock rather than the server's (admin records and tokens are
/// stamped so) shown as if the run started at the demo's moment, whole days kept (a token
/// expiring in 90 days still does). Times in `sent` (the request examples' own, such as a
/// token's new expiry) are fixed dates, kept as they are.
fn as_example(value: &Value, started_at: Timestamp, sent: &BTreeSet<String>) -> Value {
    let as_example = |value: &Value| as_example(value, started_at, sent);
    // A text in an object is kept whole; a text answer (a CSV) is cut.
    let field = |text: &str| match escalated::time::parse_rfc3339(text) {
        Some(at) if text.contains('T') && at >= started_at && !sent.contains(text) => {
            json!(escalated::time::rfc3339(
                DEMO_NOW + (at - started_at) / 86_400 * 86_400
            ))
        }
        _ => json!(text),
    };
    match value {
        Value::String(text) => {
            let lines: Vec<&str> = text.lines().take(3).collect();
            json!(lines.join("\n") + if text.ends_with('\n') { "\n" } else { "" })
        }
        Value::Array(items) => Value::Array(items.iter().take(2).map(as_example).collect()),
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value.as_str()) {
                        ("plain_text_token" | "secret", Some(secret)) => {
                            let (kind, rest) =
                                secret.split_at(secret.find('_').map_or(0, |i| i + 1));
                            json!(format!("{kind}{}", "x".repeat(rest.len())))
                        }
                        (_, Some(text)) => field(text),
                        _ => as_example(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every time written in the schemas' examples (the request bodies the runs send).
fn request_times(value: &Value) -> BTreeSet<String> {
    match value {
        Value::String(text) if escalated::time::parse_rfc3339(text).is_some() => {
            BTreeSet::from([text.clone()])
        }
        Value::Array(items) => items.iter().flat_map(request_times).collect(),
        Value::Object(object) => object.values().flat_map(request_times).collect(),
        _ => BTreeSet::new(),
    }
}

async fn documented_examples_succeed_on_the_demo_data(app: TestApp) {
    let doc = document();
    let operations = operations(&doc);
    let listed: Vec<&str> = ORDER
        .iter()
        .chain(NOT_RUN.iter().map(|(id, _)| id))
        .copied()
        .collect();
    for id in operations.keys() {
        assert!(
            listed.contains(&id.as_str()),
            "{id} is neither run nor listed as not run: add it to ORDER"
        );
    }
    let sent = request_times(&doc["components"]["schemas"]);
    let mut made = Made::default();
    let mut examples: BTreeMap<String, BTreeMap<String, BTreeMap<String, Value>>> = BTreeMap::new();
    let mut failed = Vec::new();
    for id in ORDER {
        let reply = match call(&app, &doc, &made, id).await {
            Ok(reply) => reply,
            Err(missing) => {
                failed.push(missing);
                continue;
            }
        };
        let (status, body) = (reply.status, &reply.body);
        if !(200..300).contains(&status) {
            failed.push(format!("{id} answered {status}: {body}"));
            continue;
        }
        let (method, template, operation) = &operations[*id];
        made.note(id, template, method, status, body);
        // Under the documented media type the answer came as (a file: its one, any type).
        let answered = reply.header("content-type").unwrap_or_default();
        let essence = |media: &str| {
            media
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        let content = &operation["responses"][status.to_string()]["content"];
        let media = content.as_object().and_then(|c| {
            c.keys()
                .find(|m| essence(m) == essence(answered))
                .or_else(|| c.keys().find(|m| *m == "application/octet-stream"))
        });
        if let Some(media) = media {
            examples
                .entry(id.to_string())
                .or_default()
                .entry(status.to_string())
                .or_default()
                .insert(media.clone(), as_example(body, app.started_at, &sent));
        }
    }
    assert!(
        failed.is_empty(),
        "documented examples that fail on the demo data:\n{}",
        failed.join("\n")
    );
    // The same seed on the same clock answers the same; ids and orders may differ on MySQL
    // (its sequences and collation), so SQLite's answers are the document's.
    if app.backend == crate::support::Backend::Sqlite {
        let answered = serde_json::to_string_pretty(&examples).unwrap() + "\n";
        if std::env::var("ESCALATED_UPDATE_EXAMPLES").is_ok_and(|v| v == "1") {
            std::fs::write(examples_path(), &answered).unwrap();
        }
        let committed = std::fs::read_to_string(examples_path()).unwrap_or_default();
        let steady = |text: &str| {
            let mut examples: BTreeMap<String, Value> =
                serde_json::from_str(text).unwrap_or_default();
            examples.retain(|id, _| !TIMED.contains(&id.as_str()));
            examples
        };
        assert!(
            steady(&committed) == steady(&answered),
            "openapi/examples.json differs from what the demo answers; rewrite it with \
             `ESCALATED_UPDATE_EXAMPLES=1 cargo test --test api try_it`, then regenerate the \
             document"
        );
    }
}
