//! The bounds and defaults of request fields as the document states them, each taken from the
//! constant the server's own check (or default) uses, so the two cannot drift: `document.rs`
//! writes them into the schemas, and `tests/api/bounds.rs` sends a value at and one past each
//! documented bound. (poem-openapi's `#[oai(validator)]` takes only literals and never runs
//! for bodies, which serde parses; so bounds live here rather than in attributes.)

use poem_openapi::types::ToJSON;
use serde_json::{Value, json};

use super::{
    params::{DEFAULT_PER_PAGE, MAX_PER_PAGE},
    reports::ExportFormat,
    ticket_scripts::DRY_RUN_BY_DEFAULT,
    tickets::INTERNAL_BY_DEFAULT,
};
use crate::domain::webhooks::signing;
use crate::domain::{
    actions,
    admin::ACTIVE_ON_CREATE,
    attachments, automations, bulk, canned_responses, departments, macros,
    paging::MAX_CURSOR,
    sla_policies, tags, ticket_actions,
    tickets::{
        self, Priority, TicketType, feed,
        list::{DEFAULT_DESCENDING, DEFAULT_SORT},
        search,
    },
    tokens,
    validate::{MAX_DESCRIPTION, MAX_EMAIL, MAX_NAME},
    webhooks,
};

/// A create schema and its update twin take the same bounds.
type Schemas = &'static [&'static str];

const TICKET: Schemas = &["CreateTicketRequest"];
const TOKEN: Schemas = &["CreateTokenRequest", "UpdateTokenRequest"];
const USER: Schemas = &["CreateUserRequest", "UpdateUserRequest"];
const DEPARTMENT: Schemas = &["CreateDepartmentRequest", "UpdateDepartmentRequest"];
const TAG: Schemas = &["CreateTagRequest", "UpdateTagRequest"];
const CANNED: Schemas = &["CreateCannedResponseRequest", "UpdateCannedResponseRequest"];
const MACRO: Schemas = &["CreateMacroRequest", "UpdateMacroRequest"];
const SLA_POLICY: Schemas = &["CreateSlaPolicyRequest", "UpdateSlaPolicyRequest"];
const ACTION: Schemas = &["CreateActionRequest", "UpdateActionRequest"];
const AUTOMATION: Schemas = &["CreateAutomationRequest", "UpdateAutomationRequest"];
const WEBHOOK: Schemas = &["CreateWebhookRequest", "UpdateWebhookRequest"];
/// The create bodies whose `is_active` may be left out.
const ACTIVE_CREATES: Schemas = &[
    "CreateUserRequest",
    "CreateDepartmentRequest",
    "CreateSlaPolicyRequest",
    "CreateActionRequest",
    "CreateAutomationRequest",
    "CreateWebhookRequest",
];

fn max_length(n: usize) -> Value {
    json!({ "maxLength": n })
}

fn max_items(n: usize) -> Value {
    json!({ "maxItems": n })
}

fn between(min: i64, max: i64) -> Value {
    json!({ "minimum": min, "maximum": max })
}

fn default(value: impl ToJSON) -> Value {
    json!({ "default": value.to_json() })
}

fn pattern(regex: &str) -> Value {
    json!({ "pattern": regex })
}

/// (schemas, property, keywords to add to the property's schema).
pub fn fields() -> Vec<(Schemas, &'static str, Value)> {
    let max_hours = sla_policies::hours_json(sla_policies::MAX_HOURS);
    let hours = json!({ "exclusiveMinimum": 0, "maximum": max_hours });
    vec![
        (TICKET, "subject", max_length(tickets::MAX_SUBJECT)),
        (TICKET, "description", max_length(tickets::MAX_BODY)),
        (TICKET, "tags", max_items(tickets::MAX_TAGS)),
        (
            TICKET,
            "attachment_ids",
            max_items(attachments::MAX_PER_MESSAGE),
        ),
        (TICKET, "priority", default(Priority::default())),
        (TICKET, "ticket_type", default(TicketType::default())),
        (&["RequesterRequest"], "name", max_length(MAX_NAME)),
        (&["RequesterRequest"], "email", max_length(MAX_EMAIL)),
        (&["ReplyRequest"], "body", max_length(tickets::MAX_BODY)),
        (
            &["ReplyRequest"],
            "attachment_ids",
            max_items(attachments::MAX_PER_MESSAGE),
        ),
        (&["TagsRequest"], "tag_ids", max_items(tickets::MAX_TAGS)),
        (TOKEN, "name", max_length(MAX_NAME)),
        (TOKEN, "rate_limit", between(1, tokens::MAX_RATE_LIMIT)),
        (
            &["CreateTokenRequest"],
            "expires_in_days",
            between(1, tokens::MAX_EXPIRES_IN_DAYS),
        ),
        (USER, "name", max_length(MAX_NAME)),
        (USER, "email", max_length(MAX_EMAIL)),
        (DEPARTMENT, "name", max_length(MAX_NAME)),
        (DEPARTMENT, "description", max_length(MAX_DESCRIPTION)),
        (DEPARTMENT, "agent_ids", max_items(departments::MAX_AGENTS)),
        (TAG, "name", max_length(tags::MAX_NAME)),
        (&["CreateTagRequest"], "color", default(tags::DEFAULT_COLOR)),
        (TAG, "color", pattern(tags::COLOR_PATTERN)),
        (ACTIVE_CREATES, "is_active", default(ACTIVE_ON_CREATE)),
        (
            &["ReplyRequest"],
            "is_internal_note",
            default(INTERNAL_BY_DEFAULT),
        ),
        (
            &["ApplyMacroRequest"],
            "dry_run",
            default(DRY_RUN_BY_DEFAULT),
        ),
        (CANNED, "title", max_length(canned_responses::MAX_TITLE)),
        (CANNED, "body", max_length(canned_responses::MAX_BODY)),
        (
            CANNED,
            "category",
            max_length(canned_responses::MAX_CATEGORY),
        ),
        (MACRO, "name", max_length(MAX_NAME)),
        (MACRO, "description", max_length(MAX_DESCRIPTION)),
        (MACRO, "actions", max_items(actions::MAX_ACTIONS)),
        (MACRO, "script", max_length(macros::MAX_SCRIPT)),
        (
            MACRO,
            "order",
            between(-macros::MAX_ORDER, macros::MAX_ORDER),
        ),
        (SLA_POLICY, "name", max_length(MAX_NAME)),
        (SLA_POLICY, "description", max_length(MAX_DESCRIPTION)),
        (&["SlaHours"], "low", hours.clone()),
        (&["SlaHours"], "medium", hours.clone()),
        (&["SlaHours"], "high", hours.clone()),
        (&["SlaHours"], "urgent", hours.clone()),
        (&["SlaHours"], "critical", hours),
        (
            ACTION,
            "key",
            json!({ "minLength": 1, "maxLength": ticket_actions::MAX_KEY }),
        ),
        (ACTION, "label", max_length(ticket_actions::MAX_LABEL)),
        (ACTION, "script", max_length(ticket_actions::MAX_SCRIPT)),
        (AUTOMATION, "name", max_length(MAX_NAME)),
        (AUTOMATION, "script", max_length(automations::MAX_SCRIPT)),
        (
            AUTOMATION,
            "interval_minutes",
            between(1, automations::MAX_INTERVAL),
        ),
        (
            WEBHOOK,
            "url",
            max_length(crate::domain::webhooks::destination::MAX_URL),
        ),
        (WEBHOOK, "events", max_items(webhooks::MAX_EVENTS)),
        (WEBHOOK, "secret", pattern(&signing::secret_pattern())),
        (
            &["BulkRequest"],
            "operations",
            json!({ "minItems": 1, "maxItems": bulk::MAX_OPERATIONS }),
        ),
        (&["BulkOperation"], "add_tags", max_items(tickets::MAX_TAGS)),
        (
            &["BulkOperation"],
            "remove_tags",
            max_items(tickets::MAX_TAGS),
        ),
    ]
}

/// (operation id, or `None` for every operation; query parameter; keywords for its schema).
pub fn query() -> Vec<(Option<&'static str>, &'static str, Value)> {
    let per_page = |max| json!({ "minimum": 1, "maximum": max, "default": DEFAULT_PER_PAGE });
    vec![
        (None, "page", json!({ "minimum": 1, "default": 1 })),
        (None, "cursor", max_length(MAX_CURSOR)),
        (
            Some("tickets.list"),
            "sort_by",
            default(DEFAULT_SORT.name()),
        ),
        (
            Some("tickets.list"),
            "sort_dir",
            default(if DEFAULT_DESCENDING { "desc" } else { "asc" }),
        ),
        (
            Some("reports.export"),
            "format",
            default(ExportFormat::default()),
        ),
        (
            Some("tickets.changes"),
            "per_page",
            per_page(feed::MAX_PER_PAGE),
        ),
        (None, "per_page", per_page(MAX_PER_PAGE)),
        (
            Some("tickets.list"),
            "search",
            max_length(search::MAX_SEARCH),
        ),
    ]
}

/// (operation id, query parameter, a sentence added to its description): bounds a schema
/// keyword cannot state.
pub fn query_notes() -> Vec<(&'static str, &'static str, String)> {
    vec![(
        "tickets.list",
        "search",
        format!(
            "At most {} characters and {} words (else 422); longer words count by their first {} \
             characters.",
            search::MAX_SEARCH,
            search::MAX_WORDS,
            search::MAX_WORD_CHARS
        ),
    )]
}

/// Adds the bounds to `doc` (OpenAPI 3.1, as poem-openapi generated it).
pub fn apply(doc: &mut Value) {
    for (schemas, property, keywords) in fields() {
        for schema in schemas {
            let at = format!("/components/schemas/{schema}/properties/{property}");
            if let Some(target) = doc.pointer_mut(&at) {
                merge(target, &keywords);
            }
        }
    }
    let rules = query();
    let notes = query_notes();
    for operation in super::document::operations_mut(doc) {
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let parameters = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut);
        for parameter in parameters.into_iter().flatten() {
            if parameter["in"] != "query" {
                continue;
            }
            let name = parameter["name"].as_str().unwrap_or_default().to_string();
            // The first rule that names this operation, else the one for every operation.
            if let Some((.., keywords)) = rules
                .iter()
                .find(|(only, param, _)| *param == name && only.is_none_or(|o| o == id))
            {
                merge(&mut parameter["schema"], keywords);
            }
            for (.., note) in notes
                .iter()
                .filter(|(op, param, _)| *op == id && *param == name)
            {
                let text = parameter["description"].as_str().unwrap_or_default();
                let described = format!("{text} {note}").trim().to_string();
                parameter["description"] = json!(described);
            }
        }
    }
}

fn merge(target: &mut Value, keywords: &Value) {
    if let (Some(target), Some(keywords)) = (target.as_object_mut(), keywords.as_object()) {
        for (key, value) in keywords {
            target.insert(key.clone(), value.clone());
        }
    }
}
