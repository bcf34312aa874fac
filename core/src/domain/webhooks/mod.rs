//! Outbound webhooks: endpoints that receive the events they subscribe to, signed with their
//! own secret (delivery is `crate::webhooks`). The secret is shown once, when the endpoint is
//! made; the delivery log keeps every attempt. Where an endpoint may point ([`destination`])
//! and how a delivery is signed ([`signing`]) are rules the admin API and the worker share.

pub mod destination;
pub mod signing;

use std::collections::HashMap;

use super::{
    admin::{self, AdminResource, Context, Database, admin_kind},
    events::is_event_name,
};
use crate::{
    error::{Error, FieldErrors, Result},
    store::{
        Store, events as outbox,
        keyset::{Slice, Window},
        records,
        webhooks::{self as db, AttemptRow, DeliveryRow, WebhookRow},
    },
    time::{self, Timestamp},
};

/// Subscribes to every event.
pub const ALL_EVENTS: &str = "*";
pub const MAX_EVENTS: usize = 50;

#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<WebhookRow> for Webhook {
    fn from(row: WebhookRow) -> Self {
        Webhook {
            id: row.id,
            url: row.url,
            events: decode_events(&row.event_names),
            is_active: row.is_active != 0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub fn decode_events(stored: &str) -> Vec<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// Whether an endpoint subscribed to `events` receives an event named `kind`.
pub fn subscribes(events: &[String], kind: &str) -> bool {
    events.iter().any(|e| e == ALL_EVENTS || e == kind)
}

/// The fields of an endpoint; `None` leaves a field alone (on create: its default).
#[derive(Debug, Default)]
pub struct WebhookInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub secret: Option<String>,
    pub is_active: Option<bool>,
}

/// Checks the input onto `row`. The URL check resolves its host, so it is async.
async fn apply(
    row: &mut WebhookRow,
    input: WebhookInput,
    creating: bool,
    allow_private: bool,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    match input.url {
        Some(url) => match destination::check(&url, allow_private).await {
            Ok(parsed) => row.url = parsed.to_string(),
            Err(refusal) => errors.add("url", refusal.to_string()),
        },
        None if creating => errors.add("url", super::validate::required("url")),
        None => {}
    }
    match input.events {
        Some(list) => {
            if let Some(list) = errors.check("events", parse_events(list)) {
                row.event_names = serde_json::to_string(&list)?;
            }
        }
        None if creating => errors.add("events", super::validate::required("events")),
        None => {}
    }
    if let Some(secret) = input.secret {
        let secret = secret.trim().to_string();
        if signing::decode_secret(&secret).is_some() {
            row.secret = secret;
        } else {
            errors.add(
                "secret",
                format!(
                    "The secret must be whsec_ followed by the base64 of {} to {} bytes.",
                    signing::MIN_KEY_BYTES,
                    signing::MAX_KEY_BYTES
                ),
            );
        }
    }
    errors.into_result()?;
    if let Some(active) = input.is_active {
        row.is_active = i64::from(active);
    }
    Ok(())
}

/// Known names (or `*`), at least one, each once, in the order given.
fn parse_events(list: Vec<String>) -> Result<Vec<String>, String> {
    if list.is_empty() {
        return Err("The events field must list at least one event.".into());
    }
    if list.len() > MAX_EVENTS {
        return Err(format!(
            "The events may not have more than {MAX_EVENTS} items."
        ));
    }
    let mut seen = Vec::new();
    for name in list {
        let name = name.trim().to_string();
        if name != ALL_EVENTS && !is_event_name(&name) {
            return Err(format!("Unknown event: {name}."));
        }
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    Ok(seen)
}

impl AdminResource for Webhook {
    // Created: with its secret (generated unless given), which is shown this once.
    admin_kind! {
        "Webhook": row WebhookRow, origin Database, input WebhookInput, created (Webhook, String)
    }

    /// Creates an endpoint; it receives the events published from now on.
    async fn create(cx: Context<'_>, input: WebhookInput) -> Result<(Webhook, String)> {
        let now = time::now();
        let mut row = WebhookRow {
            id: 0,
            url: String::new(),
            event_names: "[]".into(),
            secret: signing::generate_secret(),
            is_active: super::admin::ACTIVE_ON_CREATE.into(),
            after_event_id: 0,
            created_at: now,
            updated_at: now,
        };
        apply(&mut row, input, true, cx.allow_private).await?;
        let mut tx = cx.store.begin().await?;
        row.after_event_id = outbox::last_id(&mut tx).await?;
        let id = records::insert(&mut tx, &row).await?;
        let created = admin::reread::<Webhook>(&mut tx, id).await?;
        tx.commit().await?;
        let secret = created.secret.clone();
        Ok((created.into(), secret))
    }

    async fn update(cx: Context<'_>, id: i64, input: WebhookInput) -> Result<Webhook> {
        // 404 before validation, and the URL's lookup outside the transaction.
        let mut row = admin::row::<Webhook>(&mut *cx.store.conn().await?, id).await?;
        apply(&mut row, input, false, cx.allow_private).await?;
        row.updated_at = time::now();
        let mut tx = cx.store.begin().await?;
        admin::row::<Webhook>(&mut tx, id).await?;
        let updated = admin::update_and_read(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(updated)
    }
}

/// The `webhook-id` of a delivery: the same for every attempt of it, redeliveries included.
pub fn message_id(event_id: i64, webhook_id: i64) -> String {
    format!("msg_{event_id}_{webhook_id}")
}

/// A delivery of one event to one endpoint, with its attempts.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub row: DeliveryRow,
    pub attempts: Vec<AttemptRow>,
}

impl Delivery {
    pub fn message_id(&self) -> String {
        message_id(self.row.event_id, self.row.webhook_id)
    }
}

async fn with_attempts(store: &Store, rows: Vec<DeliveryRow>) -> Result<Vec<Delivery>> {
    let mut conn = store.conn().await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut by_delivery: HashMap<i64, Vec<AttemptRow>> = HashMap::new();
    for attempt in db::attempts_of(&mut conn, &ids).await? {
        by_delivery
            .entry(attempt.delivery_id)
            .or_default()
            .push(attempt);
    }
    Ok(rows
        .into_iter()
        .map(|row| Delivery {
            attempts: by_delivery.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// An endpoint's deliveries, newest first.
pub async fn deliveries(
    store: &Store,
    webhook_id: i64,
    window: &Window,
) -> Result<Slice<Delivery>> {
    let slice = {
        let mut conn = store.conn().await?;
        admin::row::<Webhook>(&mut conn, webhook_id).await?;
        db::delivery_page(&mut conn, webhook_id, window).await?
    };
    let items = with_attempts(store, slice.items).await?;
    Ok(Slice {
        items,
        total: slice.total,
        more: slice.more,
    })
}

/// Queues a fresh run of attempts for a delivery, due now, under the same `webhook-id`.
pub async fn redeliver(store: &Store, webhook_id: i64, delivery_id: i64) -> Result<Delivery> {
    let mut tx = store.begin().await?;
    admin::row::<Webhook>(&mut tx, webhook_id).await?;
    if db::find_delivery(&mut tx, webhook_id, delivery_id)
        .await?
        .is_none()
    {
        return Err(Error::not_found("Delivery"));
    }
    db::requeue(&mut tx, delivery_id, time::now()).await?;
    let row = db::find_delivery(&mut tx, webhook_id, delivery_id)
        .await?
        .ok_or_else(|| admin::vanished::<Webhook>(webhook_id))?;
    tx.commit().await?;
    Ok(with_attempts(store, vec![row]).await?.remove(0))
}
