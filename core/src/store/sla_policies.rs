//! SLA policies. The hour maps and the business-hours schedule are stored as JSON text.

use sqlx::AnyConnection;

use super::records::record;
use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlaPolicyRow {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_default: i64,
    pub is_active: i64,
    pub first_response_hours: String,
    pub resolution_hours: String,
    pub business_hours: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

macro_rules! select_policies {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, description, is_default, is_active, first_response_hours, ",
            "resolution_hours, business_hours, created_at, updated_at FROM sla_policies ",
            $tail
        )
    };
}

record!(SlaPolicyRow {
    table: "sla_policies",
    select: select_policies!(""),
    id: "id",
    unique: "name",
    writes: [
        name,
        description,
        is_default,
        is_active,
        first_response_hours,
        resolution_hours,
        business_hours,
        created_at,
        updated_at
    ],
    dependents: [],
});

/// Takes the default flag off every policy but `keep_id`.
pub async fn clear_default_except(
    conn: &mut AnyConnection,
    keep_id: i64,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE sla_policies SET is_default = 0, updated_at = ? WHERE is_default = 1 AND id <> ?",
    )
    .bind(now)
    .bind(keep_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether any ticket, deleted ones included, carries the policy.
pub async fn used_by_tickets(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let used: Option<i64> =
        sqlx::query_scalar("SELECT id FROM tickets WHERE sla_policy_id = ? LIMIT 1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(used.is_some())
}
