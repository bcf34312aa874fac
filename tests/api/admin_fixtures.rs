//! Rows the admin tests need that no endpoint of theirs makes: tickets, written straight to the
//! database so these tests do not depend on the ticket API.

use crate::support::TestApp;

/// Inserts a bare ticket pointing at `department_id` / `sla_policy_id`; returns its id.
pub async fn insert_ticket(
    app: &TestApp,
    department_id: Option<i64>,
    sla_policy_id: Option<i64>,
) -> i64 {
    let store = app.store().await;
    let reference = format!("TST-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let requester: i64 = sqlx::query_scalar("SELECT MIN(id) FROM users")
        .fetch_one(store.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO tickets (reference, subject, description, status, priority, ticket_type, channel, \
         requester_id, department_id, sla_policy_id, created_at, updated_at) \
         VALUES (?, 'Printer on fire', 'It is.', 'open', 2, 'question', 'api', ?, ?, ?, 0, 0)",
    )
    .bind(&reference)
    .bind(requester)
    .bind(department_id)
    .bind(sla_policy_id)
    .execute(store.pool())
    .await
    .unwrap();
    let id = sqlx::query_scalar("SELECT id FROM tickets WHERE reference = ?")
        .bind(&reference)
        .fetch_one(store.pool())
        .await
        .unwrap();
    store.close().await;
    id
}

/// Links a tag to a ticket.
pub async fn tag_ticket(app: &TestApp, ticket_id: i64, tag_id: i64) {
    let store = app.store().await;
    sqlx::query("INSERT INTO ticket_tags (ticket_id, tag_id) VALUES (?, ?)")
        .bind(ticket_id)
        .bind(tag_id)
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;
}

/// `SELECT COUNT(*)` with one bound id.
pub async fn count(app: &TestApp, sql: &'static str, id: i64) -> i64 {
    let store = app.store().await;
    let n = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(store.pool())
        .await
        .unwrap();
    store.close().await;
    n
}
