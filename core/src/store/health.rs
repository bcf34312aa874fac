//! What the operator's endpoints read: whether the database can serve (`GET /readyz`) and how
//! far the outbox's consumers lag (`GET /metrics`).

use sqlx::AnyConnection;

use super::{Dialect, MYSQL_MIGRATIONS, SQLITE_MIGRATIONS, Store};
use crate::{error::Result, time::Timestamp};

/// The readiness checks by name, each `Ok` or why not, in a stable order.
pub type Checks = Vec<(&'static str, std::result::Result<(), String>)>;

/// Reachable (a connection within `database.acquire_timeout_ms` answers), writable (a write
/// statement is accepted: it matches no row, so nothing changes) and migrated (every migration
/// this build embeds has been applied).
pub async fn readiness(store: &Store) -> Checks {
    let mut conn = match store.conn().await {
        Ok(conn) => conn,
        Err(err) => {
            let why = format!("cannot reach the database: {}", describe(&err));
            return vec![
                ("database", Err(why.clone())),
                ("writable", Err(why.clone())),
                ("migrations", Err(why)),
            ];
        }
    };
    let database = sqlx::query("SELECT 1")
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(|err| err.to_string());
    // Any write statement needs the database writable (SQLite: a read-only file or directory;
    // MySQL: `read_only`), even one that matches no row.
    let writable =
        sqlx::query("UPDATE _sqlx_migrations SET description = description WHERE version = -1")
            .execute(&mut *conn)
            .await
            .map(drop)
            .map_err(|err| err.to_string());
    let migrations = migrations_current(&mut conn, store.dialect()).await;
    vec![
        ("database", database),
        ("writable", writable),
        ("migrations", migrations),
    ]
}

async fn migrations_current(
    conn: &mut AnyConnection,
    dialect: Dialect,
) -> std::result::Result<(), String> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
            .fetch_all(&mut *conn)
            .await
            .map_err(|err| err.to_string())?;
    let embedded = match dialect {
        Dialect::Sqlite => &SQLITE_MIGRATIONS,
        Dialect::MySql => &MYSQL_MIGRATIONS,
    };
    let missing: Vec<String> = embedded
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| m.version.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("migrations not applied: {}", missing.join(", ")))
    }
}

fn describe(err: &crate::error::Error) -> String {
    match err {
        crate::error::Error::Unavailable => "no connection within the acquire timeout".into(),
        other => other.to_string(),
    }
}

/// Per consumer of the outbox (webhooks, email): events after its cursor, and the age in
/// seconds (at `now`) of the oldest of them, 0 when none waits. Both read by primary key, so
/// a long backlog costs no scan.
pub async fn outbox_lag(store: &Store, now: Timestamp) -> Result<Vec<(&'static str, i64, i64)>> {
    let mut conn = store.conn().await?;
    let newest: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
        .fetch_one(&mut *conn)
        .await?;
    let mut lags = Vec::new();
    for (consumer, cursor) in [
        (
            "webhooks",
            "SELECT last_event_id FROM webhook_cursor WHERE id = 1",
        ),
        (
            "email",
            "SELECT last_event_id FROM email_cursor WHERE id = 1",
        ),
    ] {
        let after: i64 = sqlx::query_scalar(cursor)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or(newest);
        let oldest: Option<i64> =
            sqlx::query_scalar("SELECT created_at FROM events WHERE id > ? ORDER BY id LIMIT 1")
                .bind(after)
                .fetch_optional(&mut *conn)
                .await?;
        lags.push((
            consumer,
            (newest - after).max(0),
            oldest.map_or(0, |at| (now - at).max(0)),
        ));
    }
    Ok(lags)
}
