//! Plugins' key/value entries: one row per (plugin, key), the value as JSON text.

use sqlx::AnyConnection;

use super::{Dialect, dialect::upsert};
use crate::{error::Result, time::Timestamp};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KvRow {
    pub kv_key: String,
    pub value: String,
}

pub async fn get(conn: &mut AnyConnection, plugin: &str, key: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM plugin_kv WHERE plugin = ? AND kv_key = ?")
            .bind(plugin)
            .bind(key)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn put(
    conn: &mut AnyConnection,
    plugin: &str,
    key: &str,
    value: &str,
    now: Timestamp,
) -> Result<()> {
    let sql = upsert!(
        Dialect::of_connection(conn),
        "INSERT INTO plugin_kv (plugin, kv_key, value, updated_at) VALUES (?, ?, ?, ?)",
        key: "plugin, kv_key",
        set: [value, updated_at]
    );
    sqlx::query(sql)
        .bind(plugin)
        .bind(key)
        .bind(value)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// True when a row was removed.
pub async fn delete(conn: &mut AnyConnection, plugin: &str, key: &str) -> Result<bool> {
    let result = sqlx::query("DELETE FROM plugin_kv WHERE plugin = ? AND kv_key = ?")
        .bind(plugin)
        .bind(key)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Up to `limit` entries whose key starts with `prefix` and sorts after `after`, in key order.
/// `prefix_chars` is the prefix's length in characters (SUBSTR counts characters on both).
pub async fn list(
    conn: &mut AnyConnection,
    plugin: &str,
    prefix: &str,
    prefix_chars: i64,
    after: &str,
    limit: i64,
) -> Result<Vec<KvRow>> {
    Ok(sqlx::query_as(
        "SELECT kv_key, value FROM plugin_kv \
         WHERE plugin = ? AND SUBSTR(kv_key, 1, ?) = ? AND kv_key > ? \
         ORDER BY kv_key LIMIT ?",
    )
    .bind(plugin)
    .bind(prefix_chars)
    .bind(prefix)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}
