//! What a plugin declares about itself: the JSON its `manifest` call returns.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `[a-z0-9-]`, 1..64 characters; the plugin's endpoints live under `/plugins/{slug}`.
    pub slug: String,
    /// For people; also the tag of its endpoints in the OpenAPI document.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    #[serde(default)]
    pub description: String,
    /// A semver requirement on the server version, e.g. `">=0.1, <1"`.
    pub host_versions: String,
    #[serde(default)]
    pub endpoints: Vec<EndpointSpec>,
    /// Event names (`ticket.status_changed`, ...) delivered to `on_event`.
    #[serde(default)]
    pub events: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointSpec {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// Relative to the plugin root, with `:name` segments: `/ratings/:ticket`.
    pub path: String,
    pub summary: String,
    #[serde(default)]
    pub description: String,
    /// `tickets:read`, `tickets:write`, `tickets:delete` or `admin`; `null`: any valid token.
    pub ability: Option<String>,
    /// JSON Schema of the body, self-contained (no `$ref`).
    #[serde(default)]
    pub request_schema: Option<Value>,
    /// JSON Schema of `data` in a successful answer, self-contained.
    #[serde(default)]
    pub response_schema: Option<Value>,
    /// The status of a successful answer, for the documentation (default 200).
    #[serde(default = "default_status")]
    pub success_status: u16,
}

fn default_status() -> u16 {
    200
}
