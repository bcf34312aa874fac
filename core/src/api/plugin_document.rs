//! Plugin endpoints in the served OpenAPI document: the generated core document with each
//! plugin's paths added (its schemas, bearer security, the error responses of every endpoint,
//! tagged with the plugin's name). The committed `openapi/escalated.json` stays core-only.

use serde_json::{Map, Value, json};

use super::{errors::ERROR_STATUSES, security::SCHEME};
use crate::{
    domain::abilities::Ability,
    plugins::{LoadedPlugin, PluginHost, check::Route},
};

const JSON: &str = "application/json; charset=utf-8";

/// `core` with the plugins' endpoints; `core` itself when no plugin is loaded.
pub fn merge(core: &str, host: &PluginHost) -> String {
    if host.plugins().is_empty() {
        return core.to_string();
    }
    let Ok(mut doc) = serde_json::from_str::<Value>(core) else {
        return core.to_string();
    };
    for plugin in host.plugins() {
        add_plugin(&mut doc, plugin);
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| core.to_string())
}

fn add_plugin(doc: &mut Value, plugin: &LoadedPlugin) {
    let manifest = &plugin.manifest;
    if let Some(tags) = doc["tags"].as_array_mut() {
        tags.push(json!({ "name": manifest.name, "description": manifest.description }));
    } else {
        doc["tags"] = json!([{ "name": manifest.name, "description": manifest.description }]);
    }
    if !doc["paths"].is_object() {
        doc["paths"] = json!({});
    }
    for route in &plugin.routes {
        let path = format!("/plugins/{}{}", manifest.slug, route.openapi_path());
        let method = route.method.as_str().to_ascii_lowercase();
        let operation = operation(plugin, route);
        let entry = &mut doc["paths"][&path];
        if !entry.is_object() {
            *entry = json!({});
        }
        entry[method] = operation;
    }
}

fn requirement_text(ability: Option<Ability>) -> String {
    match ability {
        None => "Requires any valid token.".into(),
        Some(a @ (Ability::Admin | Ability::TicketsDelete)) => {
            format!("Requires the `{a}` ability and an admin owner.")
        }
        Some(a) => format!("Requires the `{a}` ability."),
    }
}

fn operation(plugin: &LoadedPlugin, route: &Route) -> Value {
    let slug = &plugin.manifest.slug;
    let spec = &plugin.manifest.endpoints[route.index];
    let mut description = spec.description.trim().to_string();
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(&requirement_text(route.ability));
    let parameters: Vec<Value> = route
        .param_names()
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    let data = spec.response_schema.clone().unwrap_or_else(|| json!({}));
    let mut responses = Map::new();
    responses.insert(
        spec.success_status.to_string(),
        json!({
            "description": "",
            "content": { JSON: { "schema": {
                "type": "object",
                "properties": { "data": data, "message": { "type": "string" } },
                "required": ["data"]
            } } }
        }),
    );
    for (status, text) in ERROR_STATUSES {
        responses.insert(
            status.to_string(),
            json!({
                "description": text,
                "content": { JSON: { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
            }),
        );
    }
    let mut operation = json!({
        "tags": [plugin.manifest.name],
        "summary": spec.summary,
        "description": description,
        "parameters": parameters,
        "responses": responses,
        "security": [{ SCHEME: [] }],
        "operationId": operation_id(slug, route, &spec.path),
    });
    if let Some(schema) = &spec.request_schema {
        operation["requestBody"] = json!({
            "content": { "application/json": { "schema": schema } },
            "required": true
        });
    }
    operation
}

/// `plugins.csat.get_ratings_by_ticket` for `GET /ratings/:ticket`.
fn operation_id(slug: &str, route: &Route, path: &str) -> String {
    let words: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix(':') {
            Some(name) => format!("by_{name}"),
            None => s.replace(['-', '.', '~'], "_"),
        })
        .collect();
    format!(
        "plugins.{slug}.{}_{}",
        route.method.as_str().to_ascii_lowercase(),
        words.join("_")
    )
}
