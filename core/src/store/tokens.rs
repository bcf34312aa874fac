//! API tokens, stored only as the SHA-256 of the plain token.

use sqlx::{Any, AnyConnection, QueryBuilder};

use super::{
    Dialect, insert_returning_id,
    keyset::{Slice, Window},
};
use crate::{error::Result, time::Timestamp};

/// A token with the owner fields every use of it needs (one query, no second lookup).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub abilities: String,
    pub rate_limit: Option<i64>,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub created_at: Timestamp,
    pub user_name: String,
    pub user_email: String,
    pub user_role: String,
    pub user_is_active: i64,
}

/// The token query with the given tail, as one static string.
macro_rules! select_tokens {
    ($tail:literal) => {
        concat!(
            "SELECT t.id, t.user_id, t.name, t.abilities, t.rate_limit, t.expires_at, ",
            "t.last_used_at, t.last_used_ip, t.created_at, u.name AS user_name, ",
            "u.email AS user_email, u.role AS user_role, u.is_active AS user_is_active ",
            "FROM api_tokens t JOIN users u ON u.id = t.user_id ",
            $tail
        )
    };
}

pub async fn find_by_hash(conn: &mut AnyConnection, hash: &str) -> Result<Option<TokenRow>> {
    let sql = select_tokens!("WHERE t.token_hash = ?");
    Ok(sqlx::query_as(sql).bind(hash).fetch_optional(conn).await?)
}

pub async fn find(conn: &mut AnyConnection, id: i64) -> Result<Option<TokenRow>> {
    let sql = select_tokens!("WHERE t.id = ?");
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// A page of tokens by id (see [`Window`]), with the total.
pub async fn page(conn: &mut AnyConnection, window: &Window) -> Result<Slice<TokenRow>> {
    let mut q = QueryBuilder::<Any>::new(select_tokens!("WHERE 1 = 1"));
    window.push_condition(&mut q, Dialect::of_connection(conn), None, "t.id", false);
    q.push(" ORDER BY t.id");
    window.push_limit(&mut q);
    let rows = q.build_query_as().fetch_all(&mut *conn).await?;
    let total = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
        .fetch_one(conn)
        .await?;
    Ok(Slice::cut(rows, window.limit(), total))
}

pub struct NewToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub abilities: &'a str,
    pub rate_limit: Option<i64>,
    pub expires_at: Option<Timestamp>,
}

pub async fn insert(conn: &mut AnyConnection, token: &NewToken<'_>, now: Timestamp) -> Result<i64> {
    insert_returning_id(
        conn,
        "INSERT INTO api_tokens (user_id, name, token_hash, abilities, rate_limit, expires_at, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        |q| {
            q.bind(token.user_id)
                .bind(token.name)
                .bind(token.token_hash)
                .bind(token.abilities)
                .bind(token.rate_limit)
                .bind(token.expires_at)
                .bind(now)
                .bind(now)
        },
    )
    .await
}

pub async fn update(conn: &mut AnyConnection, row: &TokenRow, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE api_tokens SET name = ?, abilities = ?, rate_limit = ?, expires_at = ?, \
         updated_at = ? WHERE id = ?",
    )
    .bind(&row.name)
    .bind(&row.abilities)
    .bind(row.rate_limit)
    .bind(row.expires_at)
    .bind(now)
    .bind(row.id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let result = sqlx::query("DELETE FROM api_tokens WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Records a use; callers write this at most once a minute per token.
pub async fn touch(conn: &mut AnyConnection, id: i64, at: Timestamp, ip: &str) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = ?, last_used_ip = ? WHERE id = ?")
        .bind(at)
        .bind(ip)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
