//! Webhook endpoints, their deliveries and attempts, and the fan-out cursor.

use sqlx::{Any, AnyConnection, QueryBuilder};

use super::{
    Dialect,
    delivery_queue::Queue,
    dialect::insert_ignore,
    keyset::{Slice, Window},
    push_in_list,
    records::record,
};
use crate::{error::Result, time::Timestamp};

/// The webhook deliveries' queue: its deliveries and its cursor.
pub const QUEUE: Queue = Queue {
    deliveries: "webhook_deliveries",
    cursor: "webhook_cursor",
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    /// A JSON array of event names (or `["*"]`).
    pub event_names: String,
    pub secret: String,
    pub is_active: i64,
    pub after_event_id: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

macro_rules! select_webhooks {
    ($tail:literal) => {
        concat!(
            "SELECT id, url, event_names, secret, is_active, after_event_id, created_at, ",
            "updated_at FROM webhooks ",
            $tail
        )
    };
}

record!(WebhookRow {
    table: "webhooks",
    select: select_webhooks!(""),
    id: "id",
    writes: [
        url,
        event_names,
        secret,
        is_active,
        after_event_id,
        created_at,
        updated_at
    ],
    dependents: [
        "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = ?)",
        "DELETE FROM webhook_deliveries WHERE webhook_id = ?",
    ],
});

pub async fn active(conn: &mut AnyConnection) -> Result<Vec<WebhookRow>> {
    Ok(
        sqlx::query_as(select_webhooks!("WHERE is_active = 1 ORDER BY id"))
            .fetch_all(conn)
            .await?,
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub run_attempts: i64,
    pub response_status: Option<i64>,
    pub error: Option<String>,
    pub next_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

macro_rules! select_deliveries {
    ($tail:literal) => {
        concat!(
            "SELECT id, webhook_id, event_id, event_type, status, attempts, run_attempts, ",
            "response_status, error, next_attempt_at, delivered_at, created_at, updated_at ",
            "FROM webhook_deliveries ",
            $tail
        )
    };
}

pub async fn find_delivery(
    conn: &mut AnyConnection,
    webhook_id: i64,
    id: i64,
) -> Result<Option<DeliveryRow>> {
    Ok(
        sqlx::query_as(select_deliveries!("WHERE id = ? AND webhook_id = ?"))
            .bind(id)
            .bind(webhook_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// An endpoint's deliveries, newest first (see [`Window`]), with their total.
pub async fn delivery_page(
    conn: &mut AnyConnection,
    webhook_id: i64,
    window: &Window,
) -> Result<Slice<DeliveryRow>> {
    let mut q = QueryBuilder::<Any>::new(select_deliveries!("WHERE webhook_id = "));
    q.push_bind(webhook_id);
    window.push_condition(&mut q, Dialect::of_connection(conn), None, "id", true);
    q.push(" ORDER BY id DESC");
    window.push_limit(&mut q);
    let rows = q.build_query_as().fetch_all(&mut *conn).await?;
    let total = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?")
        .bind(webhook_id)
        .fetch_one(conn)
        .await?;
    Ok(Slice::cut(rows, window.limit(), total))
}

/// Queues a delivery; a second one for the same event and endpoint is ignored.
pub async fn insert_delivery(
    conn: &mut AnyConnection,
    webhook_id: i64,
    event_id: i64,
    event_type: &str,
    now: Timestamp,
) -> Result<()> {
    let sql = insert_ignore!(
        Dialect::of_connection(conn),
        "INTO webhook_deliveries (webhook_id, event_id, event_type, status, \
         next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)"
    );
    sqlx::query(sql)
        .bind(webhook_id)
        .bind(event_id)
        .bind(event_type)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Puts a delivery back in the queue for `at`, as a fresh run of attempts.
pub async fn requeue(conn: &mut AnyConnection, id: i64, at: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', run_attempts = 0, next_attempt_at = ?, \
         updated_at = ? WHERE id = ?",
    )
    .bind(at)
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery that is due, with what sending it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub run_attempts: i64,
    pub url: String,
    pub secret: String,
    pub is_active: i64,
    pub event_type: String,
    pub payload: String,
    pub event_created_at: Timestamp,
}

pub async fn due(conn: &mut AnyConnection, now: Timestamp, limit: i64) -> Result<Vec<DueDelivery>> {
    Ok(sqlx::query_as(
        "SELECT d.id, d.webhook_id, d.event_id, d.run_attempts, w.url, w.secret, w.is_active, \
         e.type AS event_type, e.payload, e.created_at AS event_created_at \
         FROM webhook_deliveries d \
         JOIN webhooks w ON w.id = d.webhook_id \
         JOIN events e ON e.id = d.event_id \
         WHERE d.status = 'pending' AND d.next_attempt_at <= ? \
         ORDER BY d.next_attempt_at, d.id LIMIT ?",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// The outcome of one attempt, as stored.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub response_status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub attempted_at: Timestamp,
    /// `delivered`, `pending` (retry at `next_attempt_at`) or `failed` (gave up).
    pub status: &'static str,
    pub next_attempt_at: Option<Timestamp>,
}

/// Logs an attempt of `delivery_id` and moves the delivery to its outcome.
pub async fn record_attempt(
    conn: &mut AnyConnection,
    delivery_id: i64,
    outcome: &Outcome,
) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, run_attempts = run_attempts + 1, \
         status = ?, response_status = ?, error = ?, next_attempt_at = ?, \
         delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, updated_at = ? \
         WHERE id = ?",
    )
    .bind(outcome.status)
    .bind(outcome.response_status)
    .bind(&outcome.error)
    .bind(outcome.next_attempt_at)
    .bind(outcome.status)
    .bind(outcome.attempted_at)
    .bind(outcome.attempted_at)
    .bind(delivery_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, response_status, error, duration_ms, \
         attempted_at) SELECT id, attempts, ?, ?, ?, ? FROM webhook_deliveries WHERE id = ?",
    )
    .bind(outcome.response_status)
    .bind(&outcome.error)
    .bind(outcome.duration_ms)
    .bind(outcome.attempted_at)
    .bind(delivery_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a delivery without an attempt (its endpoint was turned off meanwhile).
pub async fn give_up(
    conn: &mut AnyConnection,
    delivery_id: i64,
    error: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'failed', error = ?, next_attempt_at = NULL, \
         updated_at = ? WHERE id = ?",
    )
    .bind(error)
    .bind(now)
    .bind(delivery_id)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub delivery_id: i64,
    pub attempt: i64,
    pub response_status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub attempted_at: Timestamp,
}

/// The attempts of these deliveries, in order.
pub async fn attempts_of(
    conn: &mut AnyConnection,
    delivery_ids: &[i64],
) -> Result<Vec<AttemptRow>> {
    if delivery_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = QueryBuilder::<Any>::new(
        "SELECT delivery_id, attempt, response_status, error, duration_ms, attempted_at \
         FROM webhook_attempts WHERE delivery_id IN (",
    );
    push_in_list(&mut query, delivery_ids.iter().copied());
    query.push(") ORDER BY delivery_id, attempt");
    Ok(query.build_query_as().fetch_all(conn).await?)
}
