//! `/admin/webhooks`: outbound webhook endpoints, their delivery log and redelivery
//! (requires `admin`).

use poem::web::Data as State;
use poem_openapi::{Enum, Object, param::Path, payload::Json};
use serde::Deserialize;

use super::{
    ApiTags,
    admin::{admin_api, into_input},
    envelope::{Written, written},
    errors::ApiResult,
    params::paged_list,
    security::Caller,
};
use crate::{
    api::date_time::DateTime,
    app::AppState,
    domain::webhooks::{self, Delivery, Webhook, WebhookInput},
};

/// A webhook endpoint as listed; its secret is shown only in the create answer.
#[derive(Debug, Object)]
#[oai(rename = "Webhook")]
pub struct WebhookRecord {
    pub id: i64,
    pub url: String,
    /// The event names it receives; `["*"]` for all.
    pub events: Vec<String>,
    pub is_active: bool,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl From<Webhook> for WebhookRecord {
    fn from(w: Webhook) -> Self {
        WebhookRecord {
            id: w.id,
            url: w.url,
            events: w.events,
            is_active: w.is_active,
            created_at: DateTime(w.created_at),
            updated_at: DateTime(w.updated_at),
        }
    }
}

/// A new endpoint with its signing secret: shown this once only.
#[derive(Debug, Object)]
pub struct CreatedWebhook {
    #[oai(flatten)]
    pub webhook: WebhookRecord,
    /// `whsec_` and the base64 of the key; verify `webhook-signature` with it.
    pub secret: String,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateWebhookRequest {
    /// An http or https URL whose host resolves to public addresses only (unless
    /// `webhooks.allow_private`).
    pub url: String,
    /// Event names (see `GET /realtime/config`), or `["*"]` for all.
    pub events: Vec<String>,
    /// `whsec_` and the base64 of 24 to 32 random bytes; generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[derive(Debug, Default, Object, Deserialize)]
#[oai(example)]
#[serde(default)]
pub struct UpdateWebhookRequest {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// A new secret (rotation); it is not shown in the answer.
    pub secret: Option<String>,
    pub is_active: Option<bool>,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or a retry.
    Pending,
    /// An attempt got a 2xx answer.
    Delivered,
    /// Out of attempts (or the endpoint was turned off); redeliver to try again.
    Failed,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Object)]
pub struct DeliveryAttempt {
    /// 1 for the first attempt of the delivery, counting on across redeliveries.
    pub attempt: i64,
    /// The endpoint's HTTP status; `null` when there was no answer.
    pub response_status: Option<i64>,
    /// Why the attempt failed; `null` on success.
    pub error: Option<String>,
    pub duration_ms: i64,
    pub attempted_at: DateTime,
}

/// One event sent (or to be sent) to one endpoint.
#[derive(Debug, Object)]
#[oai(rename = "WebhookDelivery")]
pub struct DeliveryRecord {
    pub id: i64,
    /// The `webhook-id` header: the same for every attempt and redelivery.
    pub message_id: String,
    pub event_id: i64,
    pub event_type: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i64,
    /// The HTTP status of the last attempt.
    pub response_status: Option<i64>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime>,
    pub delivered_at: Option<DateTime>,
    pub created_at: DateTime,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<DeliveryAttempt>,
}

impl From<Delivery> for DeliveryRecord {
    fn from(d: Delivery) -> Self {
        let message_id = d.message_id();
        let row = d.row;
        DeliveryRecord {
            id: row.id,
            message_id,
            event_id: row.event_id,
            event_type: row.event_type,
            status: match row.status.as_str() {
                "delivered" => DeliveryStatus::Delivered,
                "failed" => DeliveryStatus::Failed,
                _ => DeliveryStatus::Pending,
            },
            attempts: row.attempts,
            response_status: row.response_status,
            error: row.error,
            next_attempt_at: row.next_attempt_at.map(DateTime),
            delivered_at: row.delivered_at.map(DateTime),
            created_at: DateTime(row.created_at),
            attempt_log: d
                .attempts
                .into_iter()
                .map(|a| DeliveryAttempt {
                    attempt: a.attempt,
                    response_status: a.response_status,
                    error: a.error,
                    duration_ms: a.duration_ms,
                    attempted_at: DateTime(a.attempted_at),
                })
                .collect(),
        }
    }
}

impl From<(Webhook, String)> for CreatedWebhook {
    fn from((webhook, secret): (Webhook, String)) -> Self {
        CreatedWebhook {
            webhook: webhook.into(),
            secret,
        }
    }
}

into_input! { CreateWebhookRequest => WebhookInput { url: Some, events: Some, secret, is_active } }

into_input! { UpdateWebhookRequest => WebhookInput { url, events, secret, is_active } }

admin_api! {
    AdminWebhooksApi for Webhook {
        tag: "ApiTags::AdminWebhooks",
        path: "/admin/webhooks",
        record: WebhookRecord,
        created: CreatedWebhook,
        create: CreateWebhookRequest,
        update: UpdateWebhookRequest,
        ids: ["admin_webhooks.list", "admin_webhooks.show", "admin_webhooks.create", "admin_webhooks.update", "admin_webhooks.delete"],
    }
    /// List webhooks
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page`
    /// 1..100), by id. Secrets are not shown.
    list;
    /// Show a webhook
    ///
    /// Requires the `admin` ability and an admin owner. The secret is not shown.
    show;
    /// Create a webhook
    ///
    /// Requires the `admin` ability and an admin owner. The answer carries the signing
    /// `secret`, shown this once only. The endpoint receives the events published from now on,
    /// signed per Standard Webhooks (see docs/events.md).
    create;
    /// Update a webhook
    ///
    /// Requires the `admin` ability and an admin owner. Fields left out stay as they are; a
    /// new `secret` replaces the old one at once.
    update;
    /// Delete a webhook
    ///
    /// Requires the `admin` ability and an admin owner. Its delivery log goes with it.
    delete;

    /// Redeliver
    ///
    /// Requires the `admin` ability and an admin owner. Queues a fresh run of attempts for
    /// the delivery, due now, with the same `webhook-id` (receivers can tell it is the same
    /// message). 404 `Delivery not found.` for a delivery of another webhook.
    #[oai(
        path = "/:id/deliveries/:delivery_id/redeliver",
        method = "post",
        operation_id = "admin_webhooks.redeliver"
    )]
    async fn redeliver(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
        delivery_id: Path<i64>,
    ) -> ApiResult<Json<Written<DeliveryRecord>>> {
        let queued = webhooks::redeliver(&state.store, id.0, delivery_id.0).await?;
        Ok(written(queued.into(), "Redelivery queued."))
    }
}

paged_list! {
    /// List a webhook's deliveries
    ///
    /// Requires the `admin` ability and an admin owner. Newest first, each with every
    /// attempt. Paginated (`page` or `cursor`, `per_page` 1..100).
    AdminWebhookDeliveriesApi (tag = "ApiTags::AdminWebhooks")
    deliveries: "/admin/webhooks/:id/deliveries" "admin_webhooks.deliveries", path id: i64
        => DeliveryRecord,
        list format!("webhook:{id}:deliveries"),
        read |state, window| webhooks::deliveries(&state.store, id, window),
        id |delivery: webhooks::Delivery| delivery.row.id;
}
