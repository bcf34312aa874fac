//! HTTP endpoints, thin: each parses its input, calls one domain operation and shapes the
//! envelope. The OpenAPI document is generated from these definitions.

pub mod admin_tokens;
pub mod auth;
pub mod body;
pub mod dashboard;
pub mod envelope;
pub mod errors;
pub mod params;
pub mod realtime;
pub mod security;
pub mod ticket_resources;
pub mod tickets;

use poem_openapi::{OpenApi, OpenApiService, Tags};

/// Groups of endpoints in the generated documentation.
#[derive(Tags)]
pub enum ApiTags {
    /// Token validation.
    Auth,
    /// Tickets, their conversation and changes.
    Tickets,
    /// The agent dashboard.
    Dashboard,
    /// The live event stream.
    Realtime,
    /// API tokens (admin).
    AdminTokens,
}

/// Every endpoint of the core API.
pub fn endpoints() -> impl OpenApi {
    (
        auth::AuthApi,
        tickets::TicketsApi,
        dashboard::DashboardApi,
        realtime::RealtimeApi,
        admin_tokens::AdminTokensApi,
    )
}

/// The OpenAPI service for `prefix` (the API prefix, e.g. `/support/api/v1`).
pub fn service(prefix: &str) -> OpenApiService<impl OpenApi, ()> {
    OpenApiService::new(endpoints(), "Escalated", env!("CARGO_PKG_VERSION"))
        .summary("A self-hosted helpdesk API")
        .description(include_str!("openapi_intro.md"))
        .server(prefix.to_string())
}

/// The OpenAPI document as JSON, as `GET {prefix}/openapi.json` serves it.
pub fn spec_json(prefix: &str) -> String {
    service(prefix).spec()
}
