//! Each plugin's key/value store: JSON values under keys of its own, invisible to other plugins.

use serde_json::Value;

use super::validate;
use crate::{
    error::{Error, Result},
    store::{Store, plugin_kv as db},
    time,
};

/// Fits MySQL's index limit (191 four-byte characters).
pub const KEY_MAX: usize = 191;
/// A value's JSON text, in bytes.
pub const VALUE_MAX_BYTES: usize = 1024 * 1024;
pub const LIST_MAX: i64 = 1000;

/// One page of [`list`]: the entries and, when there may be more, the key to continue after.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub entries: Vec<(String, Value)>,
    pub next: Option<String>,
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::field("key", validate::required("key")));
    }
    if key.chars().count() > KEY_MAX {
        return Err(Error::field("key", validate::too_long("key", KEY_MAX)));
    }
    Ok(())
}

fn decode(key: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|err| Error::Internal(anyhow::anyhow!("plugin_kv {key} is not JSON: {err}")))
}

pub async fn get(store: &Store, plugin: &str, key: &str) -> Result<Option<Value>> {
    check_key(key)?;
    let mut conn = store.conn().await?;
    match db::get(&mut conn, plugin, key).await? {
        Some(text) => Ok(Some(decode(key, &text)?)),
        None => Ok(None),
    }
}

pub async fn set(store: &Store, plugin: &str, key: &str, value: &Value) -> Result<()> {
    check_key(key)?;
    let text = value.to_string();
    if text.len() > VALUE_MAX_BYTES {
        return Err(Error::field(
            "value",
            format!("The value may not be larger than {VALUE_MAX_BYTES} bytes of JSON."),
        ));
    }
    let mut tx = store.begin().await?;
    db::put(&mut tx, plugin, key, &text, time::now()).await?;
    tx.commit().await
}

/// True when there was an entry to delete.
pub async fn delete(store: &Store, plugin: &str, key: &str) -> Result<bool> {
    check_key(key)?;
    let mut tx = store.begin().await?;
    let deleted = db::delete(&mut tx, plugin, key).await?;
    tx.commit().await?;
    Ok(deleted)
}

/// Entries whose key starts with `prefix`, in key order, `limit` (1..=1000) at a time, starting
/// after the key `after`.
pub async fn list(
    store: &Store,
    plugin: &str,
    prefix: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Page> {
    if !(1..=LIST_MAX).contains(&limit) {
        return Err(Error::field(
            "limit",
            format!("The limit must be between 1 and {LIST_MAX}."),
        ));
    }
    if prefix.chars().count() > KEY_MAX {
        return Err(Error::field(
            "prefix",
            validate::too_long("prefix", KEY_MAX),
        ));
    }
    let prefix_chars = prefix.chars().count() as i64;
    let mut conn = store.conn().await?;
    let rows = db::list(
        &mut conn,
        plugin,
        prefix,
        prefix_chars,
        after.unwrap_or(""),
        limit + 1,
    )
    .await?;
    let more = rows.len() as i64 > limit;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows.into_iter().take(limit as usize) {
        let value = decode(&row.kv_key, &row.value)?;
        entries.push((row.kv_key, value));
    }
    let next = more
        .then(|| entries.last().map(|(k, _)| k.clone()))
        .flatten();
    Ok(Page { entries, next })
}
