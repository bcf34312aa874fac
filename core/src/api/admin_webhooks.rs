//! `/admin/webhooks`: outbound webhook endpoints, their delivery log and redelivery
//! (requires `admin`).

use poem::web::Data as State;
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde::Deserialize;

use super::{
    ApiTags,
    body::{DeferredJson, JsonBody},
    envelope::{Created, Data, Paged, Written, created, data, written},
    errors::ApiResult,
    params::PageRequest,
    removal::{RemovalResult, removed},
    security::Caller,
};
use crate::{
    app::AppState,
    domain::{
        Removal,
        webhooks::{self, Delivery, Webhook, WebhookInput},
    },
    time::{rfc3339, rfc3339_opt},
};

pub struct AdminWebhooksApi;

/// A webhook endpoint as listed; its secret is shown only in the create answer.
#[derive(Debug, Object)]
pub struct WebhookRecord {
    pub id: i64,
    pub url: String,
    /// The event names it receives; `["*"]` for all.
    pub events: Vec<String>,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Webhook> for WebhookRecord {
    fn from(w: Webhook) -> Self {
        WebhookRecord {
            id: w.id,
            url: w.url,
            events: w.events,
            is_active: w.is_active,
            created_at: rfc3339(w.created_at),
            updated_at: rfc3339(w.updated_at),
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
    #[oai(validator(max_length = 2048))]
    pub url: String,
    /// Event names (see `GET /realtime/config`), or `["*"]` for all.
    #[oai(validator(max_items = 50))]
    pub events: Vec<String>,
    /// `whsec_` and the base64 of 24 to 32 random bytes; generated when absent.
    #[serde(default)]
    #[oai(validator(max_length = 255))]
    pub secret: Option<String>,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct UpdateWebhookRequest {
    #[serde(default)]
    #[oai(validator(max_length = 2048))]
    pub url: Option<String>,
    #[serde(default)]
    #[oai(validator(max_items = 50))]
    pub events: Option<Vec<String>>,
    /// A new secret (rotation); it is not shown in the answer.
    #[serde(default)]
    #[oai(validator(max_length = 255))]
    pub secret: Option<String>,
    #[serde(default)]
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
    pub attempted_at: String,
}

/// One event sent (or to be sent) to one endpoint.
#[derive(Debug, Object)]
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
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
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
            next_attempt_at: rfc3339_opt(row.next_attempt_at),
            delivered_at: rfc3339_opt(row.delivered_at),
            created_at: rfc3339(row.created_at),
            attempt_log: d
                .attempts
                .into_iter()
                .map(|a| DeliveryAttempt {
                    attempt: a.attempt,
                    response_status: a.response_status,
                    error: a.error,
                    duration_ms: a.duration_ms,
                    attempted_at: rfc3339(a.attempted_at),
                })
                .collect(),
        }
    }
}

#[OpenApi(tag = "ApiTags::AdminWebhooks")]
impl AdminWebhooksApi {
    /// List webhooks
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page`
    /// 1..100), by id. Secrets are not shown.
    #[oai(
        path = "/admin/webhooks",
        method = "get",
        operation_id = "webhooks.list"
    )]
    async fn list(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<WebhookRecord>>> {
        let request = PageRequest::parse(page.0, per_page.0)?;
        let (items, total) =
            webhooks::page(&state.store, request.limit(), request.offset()).await?;
        Ok(request.paged(items, total))
    }

    /// Show a webhook
    ///
    /// Requires the `admin` ability and an admin owner. The secret is not shown.
    #[oai(
        path = "/admin/webhooks/:id",
        method = "get",
        operation_id = "webhooks.show"
    )]
    async fn show(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Data<WebhookRecord>>> {
        Ok(data(webhooks::find(&state.store, id.0).await?.into()))
    }

    /// Create a webhook
    ///
    /// Requires the `admin` ability and an admin owner. The answer carries the signing
    /// `secret`, shown this once only. The endpoint receives the events published from now on,
    /// signed per Standard Webhooks (see docs/events.md).
    #[oai(
        path = "/admin/webhooks/create",
        method = "post",
        operation_id = "webhooks.create"
    )]
    async fn create(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        body: JsonBody<CreateWebhookRequest>,
    ) -> ApiResult<Created<CreatedWebhook>> {
        let body = body.0;
        let (webhook, secret) = webhooks::create(
            &state.store,
            WebhookInput {
                url: Some(body.url),
                events: Some(body.events),
                secret: body.secret,
                is_active: body.is_active,
            },
            state.config.webhooks.allow_private,
        )
        .await?;
        Ok(created(
            CreatedWebhook {
                webhook: webhook.into(),
                secret,
            },
            "Webhook created.",
        ))
    }

    /// Update a webhook
    ///
    /// Requires the `admin` ability and an admin owner. Fields left out stay as they are; a
    /// new `secret` replaces the old one at once.
    #[oai(
        path = "/admin/webhooks/:id/update",
        method = "patch",
        operation_id = "webhooks.update"
    )]
    async fn update(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
        body: DeferredJson<UpdateWebhookRequest>,
    ) -> ApiResult<Json<Written<WebhookRecord>>> {
        webhooks::find(&state.store, id.0).await?;
        let body = body.parse()?;
        let updated = webhooks::update(
            &state.store,
            id.0,
            WebhookInput {
                url: body.url,
                events: body.events,
                secret: body.secret,
                is_active: body.is_active,
            },
            state.config.webhooks.allow_private,
        )
        .await?;
        Ok(written(updated.into(), "Webhook updated."))
    }

    /// Delete a webhook
    ///
    /// Requires the `admin` ability and an admin owner. Its delivery log goes with it.
    #[oai(
        path = "/admin/webhooks/:id/delete",
        method = "delete",
        operation_id = "webhooks.delete"
    )]
    async fn delete(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Written<RemovalResult>>> {
        webhooks::delete(&state.store, id.0).await?;
        Ok(removed(id.0, Removal::Deleted, "Webhook deleted."))
    }

    /// List a webhook's deliveries
    ///
    /// Requires the `admin` ability and an admin owner. Newest first, each with every
    /// attempt. Paginated (`page`, `per_page` 1..100).
    #[oai(
        path = "/admin/webhooks/:id/deliveries",
        method = "get",
        operation_id = "webhooks.deliveries"
    )]
    async fn deliveries(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<DeliveryRecord>>> {
        let request = PageRequest::parse(page.0, per_page.0)?;
        let (items, total) =
            webhooks::deliveries(&state.store, id.0, request.limit(), request.offset()).await?;
        Ok(request.paged(items, total))
    }

    /// Redeliver
    ///
    /// Requires the `admin` ability and an admin owner. Queues a fresh run of attempts for
    /// the delivery, due now, with the same `webhook-id` (receivers can tell it is the same
    /// message). 404 `Delivery not found.` for a delivery of another webhook.
    #[oai(
        path = "/admin/webhooks/:id/deliveries/:delivery_id/redeliver",
        method = "post",
        operation_id = "webhooks.redeliver"
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
