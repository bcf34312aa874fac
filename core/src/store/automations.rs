//! Automations (a Rhai script run on a schedule or on an event) and the runs of the scheduled
//! ones, which keep each to once per ticket per period.

use sqlx::AnyConnection;

use super::records::record;
use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AutomationRow {
    pub id: i64,
    pub name: String,
    pub script: String,
    pub trigger_on: String,
    pub interval_minutes: Option<i64>,
    pub is_active: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

macro_rules! select_automations {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, script, trigger_on, interval_minutes, is_active, created_at, updated_at ",
            "FROM automations ",
            $tail
        )
    };
}

record!(AutomationRow {
    table: "automations",
    select: select_automations!(""),
    id: "id",
    writes: [
        name,
        script,
        trigger_on,
        interval_minutes,
        is_active,
        created_at,
        updated_at
    ],
    dependents: ["DELETE FROM automation_runs WHERE automation_id = ?",],
});

/// The active automations with the trigger `trigger` (`schedule` or an event name), by id.
pub async fn active(conn: &mut AnyConnection, trigger: &str) -> Result<Vec<AutomationRow>> {
    Ok(sqlx::query_as(select_automations!(
        "WHERE is_active = 1 AND trigger_on = ? ORDER BY id"
    ))
    .bind(trigger)
    .fetch_all(conn)
    .await?)
}

/// Up to `limit` open (not resolved or closed, not deleted) tickets with an id above `after`,
/// by id, that the automation has not yet run on in `period`: (id, reference).
pub async fn due_tickets(
    conn: &mut AnyConnection,
    automation_id: i64,
    period: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.reference FROM tickets t \
         WHERE t.id > ? AND t.deleted_at IS NULL AND t.status NOT IN ('resolved', 'closed') \
         AND NOT EXISTS (SELECT 1 FROM automation_runs r WHERE r.automation_id = ? \
           AND r.ticket_id = t.id AND r.period = ?) \
         ORDER BY t.id LIMIT ?",
    )
    .bind(after)
    .bind(automation_id)
    .bind(period)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Records that the automation applied to the ticket in `period`.
pub async fn record_run(
    conn: &mut AnyConnection,
    automation_id: i64,
    ticket_id: i64,
    period: i64,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO automation_runs (automation_id, ticket_id, period, created_at) \
         VALUES (?, ?, ?, ?)",
    )
    .bind(automation_id)
    .bind(ticket_id)
    .bind(period)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the runs recorded before `before`; returns how many.
pub async fn forget_runs(conn: &mut AnyConnection, before: Timestamp) -> Result<u64> {
    let result = sqlx::query("DELETE FROM automation_runs WHERE created_at < ?")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(result.rows_affected())
}
