//! `/plugins/{slug}/...`: the endpoint that hands requests to plugins. The guard in front of it
//! has already authenticated the caller, checked the route's declared ability and charged the
//! rate limit; this turns the request into the plugin's JSON and its answer into the envelope.

use std::collections::BTreeMap;

use anyhow::anyhow;
use escalated_plugin_sdk::{Request as PluginRequest, Response as PluginResponse, User};
use poem::{Endpoint, Request, Response, http::StatusCode};
use serde_json::{Value, json};

use super::errors;
use crate::{
    app::AppState,
    auth::Principal,
    error::{Credentials, Error, FieldErrors},
    plugins::split_slug,
};

/// Mounted at `{prefix}/plugins`; sees paths below it (`/hello/greeting`).
pub struct PluginRoutes {
    state: AppState,
}

impl PluginRoutes {
    pub fn new(state: AppState) -> Self {
        PluginRoutes { state }
    }
}

impl Endpoint for PluginRoutes {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let path = req.uri().path().to_string();
        let host = &self.state.plugins;
        let not_found = || Error::NotFound("Not found.".into());
        let (slug, rest) = split_slug(&path).ok_or_else(not_found)?;
        let plugin = host.find(slug).ok_or_else(not_found)?.clone();
        let Some((route, path_params)) = plugin.route(req.method(), rest) else {
            if plugin.has_path(rest) {
                return Err(poem::Error::from_status(StatusCode::METHOD_NOT_ALLOWED));
            }
            return Err(not_found().into());
        };
        let index = route.index;
        let principal = req
            .data::<Principal>()
            .cloned()
            .ok_or(Error::Unauthenticated(Credentials::Missing))?;
        let query: BTreeMap<String, String> = req
            .params()
            .map_err(|_| Error::field("query", "The query string is not valid URL encoding."))?;
        let limit = self.state.config.server.max_body_bytes;
        let bytes = req.take_body().into_bytes_limit(limit).await?;
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| Error::InvalidJson)?
        };
        let request = PluginRequest {
            endpoint: index,
            method: req.method().to_string(),
            path: rest.to_string(),
            path_params,
            query,
            body,
            user: User {
                id: principal.user_id,
                name: principal.name,
                email: principal.email,
                role: principal.role.as_str().to_string(),
            },
            abilities: principal.ability_names,
        };
        let input = serde_json::to_vec(&request).map_err(Error::from)?;
        let what = format!("plugin {slug}: {} {rest}", req.method());
        let output = host
            .handle(&plugin, input)
            .await
            .map_err(|err| Error::Internal(anyhow!("{what} {err}")))?;
        Ok(render(&what, &output)?)
    }
}

/// The plugin's answer in the API's envelope.
fn render(what: &str, output: &[u8]) -> Result<Response, Error> {
    let answer: PluginResponse = serde_json::from_slice(output)
        .map_err(|err| Error::Internal(anyhow!("{what} answered unreadable JSON: {err}")))?;
    let status = StatusCode::from_u16(answer.status)
        .ok()
        .filter(|s| s.is_success() || s.is_client_error() || s.is_server_error())
        .ok_or_else(|| Error::Internal(anyhow!("{what} answered status {}", answer.status)))?;
    if status == StatusCode::NO_CONTENT {
        return Ok(Response::builder().status(status).finish());
    }
    if status.is_success() {
        let mut envelope = json!({ "data": answer.body });
        if let Some(message) = answer.message {
            envelope["message"] = json!(message);
        }
        return Ok(Response::builder()
            .status(status)
            .content_type("application/json; charset=utf-8")
            .body(envelope.to_string()));
    }
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        // As for the core API: the details go to the log, never to the client.
        return Err(Error::Internal(anyhow!(
            "{what} answered 500: {} {}",
            answer.message.unwrap_or_default(),
            answer.body
        )));
    }
    let mut fields = FieldErrors::new();
    for (field, message) in answer.errors.into_iter().flatten() {
        fields.add(field, message);
    }
    let message = answer.message.unwrap_or_else(|| match status {
        StatusCode::UNPROCESSABLE_ENTITY => "Validation failed.".into(),
        other => other.canonical_reason().unwrap_or("Error.").to_string() + ".",
    });
    Ok(errors::body(
        status,
        errors::ErrorCode::for_status(status),
        &message,
        (!fields.is_empty() || status == StatusCode::UNPROCESSABLE_ENTITY).then_some(&fields),
    ))
}
