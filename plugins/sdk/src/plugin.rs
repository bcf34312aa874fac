//! `Plugin`: a plugin described in ordinary Rust — its manifest, its handlers and its event hook.

use serde_json::Value;

use crate::{
    host::Host,
    manifest::{EndpointSpec, Manifest},
    wire::{Event, Request, Response},
};

pub type Handler = Box<dyn Fn(&Host, Request) -> Response + Send + Sync>;
pub type EventHandler = Box<dyn Fn(&Host, Event) -> Result<(), String> + Send + Sync>;

/// A plugin: built once per library by the function given to `export_plugin!`.
pub struct Plugin {
    manifest: Manifest,
    handlers: Vec<Handler>,
    on_event: Option<EventHandler>,
}

impl Plugin {
    /// `slug` is `[a-z0-9-]`; `version` is the plugin's own. Accepts any server version until
    /// [`Plugin::host_versions`] says otherwise.
    pub fn new(slug: &str, name: &str, version: &str) -> Plugin {
        Plugin {
            manifest: Manifest {
                slug: slug.into(),
                name: name.into(),
                version: version.into(),
                description: String::new(),
                host_versions: "*".into(),
                endpoints: Vec::new(),
                events: Vec::new(),
            },
            handlers: Vec::new(),
            on_event: None,
        }
    }

    pub fn description(mut self, text: &str) -> Plugin {
        self.manifest.description = text.into();
        self
    }

    /// A semver requirement on the server version: `">=0.1, <1"`.
    pub fn host_versions(mut self, requirement: &str) -> Plugin {
        self.manifest.host_versions = requirement.into();
        self
    }

    pub fn endpoint(
        mut self,
        endpoint: Endpoint,
        handler: impl Fn(&Host, Request) -> Response + Send + Sync + 'static,
    ) -> Plugin {
        self.manifest.endpoints.push(endpoint.0);
        self.handlers.push(Box::new(handler));
        self
    }

    /// Delivers `events` to `handler`, one at a time and in order, off the request path.
    pub fn on_events(
        mut self,
        events: &[&str],
        handler: impl Fn(&Host, Event) -> Result<(), String> + Send + Sync + 'static,
    ) -> Plugin {
        self.manifest
            .events
            .extend(events.iter().map(|e| e.to_string()));
        self.on_event = Some(Box::new(handler));
        self
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub(crate) fn handle(&self, host: &Host, request: Request) -> Response {
        match self.handlers.get(request.endpoint) {
            Some(handler) => handler(host, request),
            None => Response::not_found("Endpoint"),
        }
    }

    pub(crate) fn event(&self, host: &Host, event: Event) -> Result<(), String> {
        match &self.on_event {
            Some(handler) => handler(host, event),
            None => Ok(()),
        }
    }
}

/// One endpoint's declaration: `Endpoint::get("/stats", "Rating statistics")`.
pub struct Endpoint(EndpointSpec);

impl Endpoint {
    /// Requires `tickets:read` for GET and `tickets:write` otherwise, as the core API does,
    /// unless [`Endpoint::ability`] says otherwise.
    pub fn new(method: &str, path: &str, summary: &str) -> Endpoint {
        let method = method.to_ascii_uppercase();
        let ability = if method == "GET" {
            "tickets:read"
        } else {
            "tickets:write"
        };
        Endpoint(EndpointSpec {
            method,
            path: path.into(),
            summary: summary.into(),
            description: String::new(),
            ability: Some(ability.into()),
            request_schema: None,
            response_schema: None,
            success_status: 200,
        })
    }

    /// Requires `tickets:read` unless [`Endpoint::ability`] says otherwise.
    pub fn get(path: &str, summary: &str) -> Endpoint {
        Endpoint::new("GET", path, summary)
    }

    /// Requires `tickets:write` unless [`Endpoint::ability`] says otherwise.
    pub fn post(path: &str, summary: &str) -> Endpoint {
        Endpoint::new("POST", path, summary)
    }

    pub fn description(mut self, text: &str) -> Endpoint {
        self.0.description = text.into();
        self
    }

    /// `tickets:read`, `tickets:write`, `tickets:delete`, `admin`, or `None` for any token.
    pub fn ability(mut self, ability: Option<&str>) -> Endpoint {
        self.0.ability = ability.map(str::to_string);
        self
    }

    pub fn request_schema(mut self, schema: Value) -> Endpoint {
        self.0.request_schema = Some(schema);
        self
    }

    pub fn response_schema(mut self, schema: Value) -> Endpoint {
        self.0.response_schema = Some(schema);
        self
    }

    pub fn success_status(mut self, status: u16) -> Endpoint {
        self.0.success_status = status;
        self
    }
}
