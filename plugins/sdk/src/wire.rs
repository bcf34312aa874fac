//! The JSON messages of `handle` and `on_event`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One HTTP request to a plugin endpoint, after the host authenticated and authorised it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The index of the endpoint in the manifest's `endpoints`.
    pub endpoint: usize,
    pub method: String,
    /// The path below the plugin root as requested: `/ratings/ESC-00001`.
    pub path: String,
    /// The `:name` segments of the endpoint's path, decoded.
    #[serde(default)]
    pub path_params: BTreeMap<String, String>,
    /// The query string, decoded; of a repeated name the last value.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// The JSON body; `null` when the request had none.
    #[serde(default)]
    pub body: Value,
    /// The owner of the token.
    pub user: User,
    /// The token's ability names as stored (`agent`, `*`, `tickets:read`, ...).
    #[serde(default)]
    pub abilities: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// `admin` or `agent`.
    pub role: String,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.path_params.get(name).map(String::as_str)
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }
}

/// A plugin's answer. The host wraps it in the API's envelope: a 2xx answers
/// `{"data": body, "message"?}`, anything else `{"message", "errors"?}` (the body is ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub status: u16,
    #[serde(default)]
    pub body: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Per-field messages of a 422.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
}

impl Response {
    /// 200 with `data`.
    pub fn ok(body: Value) -> Response {
        Response {
            status: 200,
            body,
            message: None,
            errors: None,
        }
    }

    /// 201 with `data` and `message` (`Rating recorded.`).
    pub fn created(body: Value, message: &str) -> Response {
        Response {
            status: 201,
            ..Response::ok(body)
        }
        .with_message(message)
    }

    pub fn with_message(mut self, message: &str) -> Response {
        self.message = Some(message.to_string());
        self
    }

    /// An error with its message for the client (`Rating not found.`).
    pub fn error(status: u16, message: &str) -> Response {
        Response {
            status,
            body: Value::Null,
            message: Some(message.to_string()),
            errors: None,
        }
    }

    pub fn not_found(what: &str) -> Response {
        Response::error(404, &format!("{what} not found."))
    }

    /// 422 `Validation failed.` with one message per field.
    pub fn invalid<K: Into<String>, V: Into<String>>(
        errors: impl IntoIterator<Item = (K, V)>,
    ) -> Response {
        Response {
            errors: Some(
                errors
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
            ..Response::error(422, "Validation failed.")
        }
    }

    /// 500; the host logs `detail`, the client sees `Server error.`
    pub fn internal(detail: &str) -> Response {
        Response {
            body: json!({ "detail": detail }),
            ..Response::error(500, "Server error.")
        }
    }
}

/// An event delivered to `on_event`: the event's name and its JSON, as the live stream sends it
/// (`{"id", "type", "created_at", "data"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub name: String,
    #[serde(default)]
    pub payload: Value,
}
