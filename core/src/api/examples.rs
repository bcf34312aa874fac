//! Example bodies for every request, shown in the OpenAPI document and the docs page. Each is
//! written as the JSON a client sends and parsed into its type, so an example that no longer
//! fits its type fails the OpenAPI tests.

use poem_openapi::types::Example;
use serde_json::json;

use super::{
    admin_actions::{CreateActionRequest, UpdateActionRequest},
    admin_automations::{CreateAutomationRequest, UpdateAutomationRequest},
    admin_canned_responses::{CreateCannedResponseRequest, UpdateCannedResponseRequest},
    admin_departments::{CreateDepartmentRequest, UpdateDepartmentRequest},
    admin_macros::{CreateMacroRequest, UpdateMacroRequest},
    admin_sla_policies::{CreateSlaPolicyRequest, UpdateSlaPolicyRequest},
    admin_tags::{CreateTagRequest, UpdateTagRequest},
    admin_tokens::{CreateTokenRequest, UpdateTokenRequest},
    admin_users::{CreateUserRequest, UpdateUserRequest},
    admin_webhooks::{CreateWebhookRequest, UpdateWebhookRequest},
    ticket_bulk::BulkRequest,
    ticket_scripts::ApplyMacroRequest,
    tickets::{
        AssignRequest, CreateTicketRequest, PriorityRequest, ReplyRequest, StatusRequest,
        TagsRequest,
    },
};

macro_rules! examples {
    ($($ty:ty => $json:tt),* $(,)?) => {
        $(
            impl Example for $ty {
                fn example() -> Self {
                    serde_json::from_value(json!($json)).expect("the example fits its type")
                }
            }
        )*
    };
}

examples! {
    CreateTicketRequest => {
        "subject": "Printer on fire", "description": "Smoke is coming out of tray 2.",
        "priority": "urgent", "ticket_type": "incident", "department_id": 1, "tags": [1, 3],
        "requester": {"name": "Grace Hopper", "email": "grace@example.com"}
    },
    ReplyRequest => {"body": "Unplug it; a technician is on the way.", "is_internal_note": false},
    StatusRequest => {"status": "resolved"},
    PriorityRequest => {"priority": "high"},
    AssignRequest => {"agent_id": 7},
    TagsRequest => {"tag_ids": [1, 4]},
    ApplyMacroRequest => {"macro_id": 3, "dry_run": true},
    BulkRequest => {"operations": [
        {"reference": "ESC-00001", "status": "resolved"},
        {"reference": "ESC-00002", "priority": "high", "add_tags": [3], "agent_id": 4}
    ]},
    CreateTokenRequest => {
        "name": "Zapier integration", "user_id": 2, "abilities": ["tickets:read", "tickets:write"],
        "expires_in_days": 90, "rate_limit": 120
    },
    UpdateTokenRequest => {"abilities": ["tickets:read"], "expires_at": "2027-06-30T00:00:00Z"},
    CreateUserRequest => {"name": "Ada Lovelace", "email": "ada@example.com", "role": "agent"},
    UpdateUserRequest => {"role": "admin"},
    CreateDepartmentRequest => {
        "name": "Partnerships", "description": "Resellers and integrations.", "agent_ids": [2, 5]
    },
    UpdateDepartmentRequest => {"agent_ids": [2, 5, 7], "description": "Resellers, integrations and the marketplace."},
    CreateTagRequest => {"name": "churn-risk", "color": "#D97706"},
    UpdateTagRequest => {"color": "#DC2626"},
    CreateCannedResponseRequest => {
        "title": "Shipping delay", "body": "Your order ships within 2 business days; we are sorry for the wait.",
        "category": "Billing", "is_shared": true
    },
    UpdateCannedResponseRequest => {"is_shared": false},
    CreateMacroRequest => {
        "name": "Thank and resolve", "description": "Thank the customer and resolve.",
        "actions": [
            {"type": "add_reply", "value": "Glad we could help, {{requester.name}}!"},
            {"type": "set_status", "value": "resolved"}
        ]
    },
    UpdateMacroRequest => {"script": "if ticket.priority == \"low\" { set_priority(\"medium\"); }"},
    CreateSlaPolicyRequest => {
        "name": "Business", "is_default": false,
        "first_response_hours": {"low": 24, "medium": 8, "high": 4, "urgent": 2, "critical": 0.5},
        "resolution_hours": {"low": 72, "medium": 48, "high": 24, "urgent": 8, "critical": 4},
        "business_hours": {
            "timezone": "Europe/Paris",
            "schedule": {"monday": ["09:00", "17:00"], "tuesday": ["09:00", "17:00"],
                         "wednesday": ["09:00", "17:00"], "thursday": ["09:00", "17:00"],
                         "friday": ["09:00", "17:00"]},
            "holidays": ["2026-12-25"]
        }
    },
    UpdateSlaPolicyRequest => {"is_default": true},
    CreateActionRequest => {
        "key": "escalate-vip", "label": "Escalate VIP customer",
        "script": "fn visible(ticket, user) { ticket.tags.contains(\"vip\") }\nfn enabled(ticket, user) { ticket.status != \"escalated\" }\nfn run(ticket, user) { set_priority(\"urgent\"); set_status(\"escalated\"); }"
    },
    UpdateActionRequest => {"is_active": false},
    CreateAutomationRequest => {
        "name": "Urgent on outage", "trigger": "ticket.created",
        "script": "if ticket.subject.to_lower().contains(\"outage\") { set_priority(\"urgent\"); }"
    },
    UpdateAutomationRequest => {"is_active": false},
    CreateWebhookRequest => {
        "url": "https://example.com/webhooks/escalated", "events": ["ticket.created", "ticket.status_changed"]
    },
    UpdateWebhookRequest => {"events": ["*"]},
}
