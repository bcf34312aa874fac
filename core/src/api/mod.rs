//! HTTP endpoints, thin: each parses its input, calls one domain operation and shapes the
//! envelope. The OpenAPI document is generated from these definitions.

pub mod admin;
pub mod admin_actions;
pub mod admin_automations;
pub mod admin_canned_responses;
pub mod admin_departments;
pub mod admin_email;
pub mod admin_macros;
pub mod admin_sla_policies;
pub mod admin_tags;
pub mod admin_tokens;
pub mod admin_users;
pub mod admin_webhooks;
pub mod attachments;
pub mod auth;
pub mod body;
pub mod bounds;
pub mod conditional;
pub mod conflicts;
pub mod dashboard;
pub mod date_time;
pub mod docs_page;
pub mod document;
pub mod envelope;
pub mod errors;
pub mod examples;
pub mod guard;
pub mod idempotency;
pub mod inbound_email;
pub mod multipart;
pub mod params;
pub mod plugin_document;
pub mod plugin_routes;
pub mod problem;
pub mod realtime;
pub mod removal;
pub mod reports;
pub mod resources;
mod scalar_type;
pub mod security;
pub mod ticket_bulk;
pub mod ticket_resources;
pub mod ticket_scripts;
pub mod ticket_writes;
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
    /// Users (admin).
    AdminUsers,
    /// Departments (admin).
    AdminDepartments,
    /// Tags (admin).
    AdminTags,
    /// Canned responses (admin).
    AdminCannedResponses,
    /// Macros (admin).
    AdminMacros,
    /// SLA policies (admin).
    AdminSlaPolicies,
    /// Outbound webhooks and their delivery log (admin).
    AdminWebhooks,
    /// Custom ticket actions (admin).
    AdminActions,
    /// Automations: scripts run on a schedule or on events (admin).
    AdminAutomations,
    /// Files: upload, then attach to a ticket or reply; download.
    Attachments,
    /// Figures and exports for managers (admin).
    Reports,
    /// Email: inbound messages and the delivery log of notifications.
    Email,
    /// Read-only lists for agents: agents, departments, tags, canned responses, macros.
    Resources,
}

/// Every endpoint of the core API.
pub fn endpoints() -> impl OpenApi {
    (
        auth::AuthApi,
        // A tuple implements OpenApi up to 16 members: nested here to make room.
        (
            tickets::TicketsApi,
            tickets::TicketApi,
            ticket_bulk::TicketBulkApi,
            attachments::AttachmentsApi,
            reports::ReportsApi,
        ),
        ticket_scripts::TicketScriptsApi,
        dashboard::DashboardApi,
        realtime::RealtimeApi,
        (
            admin_tokens::AdminTokensApi,
            admin_tokens::AdminTokenListApi,
        ),
        resources::ResourcesApi,
        admin_users::AdminUsersApi,
        admin_departments::AdminDepartmentsApi,
        admin_tags::AdminTagsApi,
        admin_canned_responses::AdminCannedResponsesApi,
        admin_macros::AdminMacrosApi,
        admin_sla_policies::AdminSlaPoliciesApi,
        (
            admin_webhooks::AdminWebhooksApi,
            admin_webhooks::AdminWebhookDeliveriesApi,
        ),
        admin_actions::AdminActionsApi,
        // A tuple implements OpenApi up to 16 members; later ones nest.
        (
            admin_automations::AdminAutomationsApi,
            inbound_email::InboundEmailApi,
            admin_email::AdminEmailApi,
        ),
    )
}

/// The OpenAPI service for `prefix` (the API prefix, e.g. `/support/api/v1`).
pub fn service(prefix: &str) -> OpenApiService<impl OpenApi, ()> {
    OpenApiService::new(endpoints(), "Escalated", env!("CARGO_PKG_VERSION"))
        .description(include_str!("openapi_intro.md"))
        .license(poem_openapi::LicenseObject::new("MIT").url("https://opensource.org/license/mit"))
        .server(prefix.to_string())
}

/// The OpenAPI document as JSON, as `GET {prefix}/openapi.json` serves it.
pub fn spec_json(prefix: &str) -> String {
    document::finish(&service(prefix).spec())
}
