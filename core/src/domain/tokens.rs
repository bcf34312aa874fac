//! API tokens: 256 random bits behind a recognisable prefix, stored only as their SHA-256.
//! A slow password hash would buy nothing here: the secret is random, not chosen by a person.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{abilities, roles::Role, validate};
use crate::{
    error::{Error, FieldErrors, Result},
    store::{
        Store,
        keyset::{Slice, Window},
        tokens::{self as db, NewToken, TokenRow},
        users,
    },
    time::{self, Timestamp},
};

/// Every token starts with this, so secret scanners and people can recognise one.
pub const TOKEN_PREFIX: &str = "esc_";
/// Largest `rate_limit` (requests per minute) a token may have.
pub const MAX_RATE_LIMIT: i64 = 100_000;
/// Longest `expires_in_days`.
pub const MAX_EXPIRES_IN_DAYS: i64 = 365;

/// Returns `(plain, hash)`: the plain token is shown once, the hash is stored.
pub fn generate() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let plain = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&plain);
    (plain, hash)
}

pub fn hash(plain: &str) -> String {
    hex::encode(Sha256::digest(plain.as_bytes()))
}

/// A token as listed: never the secret.
#[derive(Debug, Clone)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub user_id: i64,
    pub user_name: String,
    pub user_email: String,
    pub user_role: Role,
    pub user_is_active: bool,
    pub abilities: Vec<String>,
    pub rate_limit: Option<i64>,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub created_at: Timestamp,
}

impl Token {
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

impl From<TokenRow> for Token {
    fn from(row: TokenRow) -> Self {
        Token {
            id: row.id,
            name: row.name,
            user_id: row.user_id,
            user_name: row.user_name,
            user_email: row.user_email,
            user_role: Role::parse(&row.user_role).unwrap_or(Role::Customer),
            user_is_active: row.user_is_active != 0,
            abilities: split_abilities(&row.abilities),
            rate_limit: row.rate_limit,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            last_used_ip: row.last_used_ip,
            created_at: row.created_at,
        }
    }
}

fn split_abilities(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// When a new token expires.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expiry {
    pub at: Option<Timestamp>,
    pub in_days: Option<i64>,
}

#[derive(Debug)]
pub struct NewTokenInput {
    pub user_id: i64,
    pub name: String,
    pub abilities: Vec<String>,
    pub expiry: Expiry,
    pub rate_limit: Option<i64>,
}

/// A change to a token; the outer `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct TokenChanges {
    pub name: Option<String>,
    pub abilities: Option<Vec<String>>,
    pub expires_at: Option<Option<Timestamp>>,
    pub rate_limit: Option<Option<i64>>,
}

fn check_abilities(errors: &mut FieldErrors, names: &[String]) -> Option<String> {
    if names.is_empty() {
        errors.add("abilities", validate::required("abilities"));
        return None;
    }
    match abilities::normalize_names(names) {
        Ok(clean) => Some(clean.join(",")),
        Err(unknown) => {
            errors.add(
                "abilities",
                format!(
                    "Unknown ability '{unknown}'. Known: {}.",
                    abilities::ABILITY_NAMES.join(", ")
                ),
            );
            None
        }
    }
}

fn check_rate_limit(errors: &mut FieldErrors, limit: Option<i64>) {
    if let Some(limit) = limit {
        errors.check(
            "rate_limit",
            validate::range("rate_limit", limit, 1, MAX_RATE_LIMIT),
        );
    }
}

/// Creates a token for an active agent or admin; returns it with its plain secret.
pub async fn create(store: &Store, input: NewTokenInput) -> Result<(Token, String)> {
    let now = time::now();
    let mut errors = FieldErrors::new();
    let name = errors.check(
        "name",
        validate::line("name", &input.name, validate::MAX_NAME),
    );
    let abilities = check_abilities(&mut errors, &input.abilities);
    check_rate_limit(&mut errors, input.rate_limit);
    let expires_at = match (input.expiry.at, input.expiry.in_days) {
        (Some(_), Some(_)) => {
            errors.add(
                "expires_at",
                "Give either expires_at or expires_in_days, not both.",
            );
            None
        }
        (Some(at), None) if at <= now => {
            errors.add("expires_at", "The expires at must be a date in the future.");
            None
        }
        (Some(at), None) => Some(at),
        (None, Some(days)) => errors
            .check(
                "expires_in_days",
                validate::range("expires_in_days", days, 1, MAX_EXPIRES_IN_DAYS),
            )
            .map(|days| now + days * 86_400),
        (None, None) => None,
    };
    let mut tx = store.begin().await?;
    match users::find(&mut tx, input.user_id).await? {
        None => errors.add("user_id", validate::invalid("user_id")),
        Some(user) if !Role::parse(&user.role).is_some_and(Role::is_staff) => errors.add(
            "user_id",
            "Tokens can only be created for agents and admins.",
        ),
        Some(user) if user.is_active == 0 => errors.add("user_id", "The user is deactivated."),
        Some(_) => {}
    }
    errors.into_result()?;
    let (plain, hash) = generate();
    let id = db::insert(
        &mut tx,
        &NewToken {
            user_id: input.user_id,
            name: name.as_deref().unwrap_or_default(),
            token_hash: &hash,
            abilities: abilities.as_deref().unwrap_or_default(),
            rate_limit: input.rate_limit,
            expires_at,
        },
        now,
    )
    .await?;
    let row = db::find(&mut tx, id).await?.ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "token {id} vanished inside its transaction"
        ))
    })?;
    tx.commit().await?;
    Ok((row.into(), plain))
}

pub async fn update(store: &Store, id: i64, changes: TokenChanges) -> Result<Token> {
    let mut tx = store.begin().await?;
    let mut row = db::find(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("Token"))?;
    let mut errors = FieldErrors::new();
    if let Some(name) = &changes.name
        && let Some(name) = errors.check("name", validate::line("name", name, validate::MAX_NAME))
    {
        row.name = name;
    }
    if let Some(names) = &changes.abilities
        && let Some(stored) = check_abilities(&mut errors, names)
    {
        row.abilities = stored;
    }
    if let Some(limit) = changes.rate_limit {
        check_rate_limit(&mut errors, limit);
        row.rate_limit = limit;
    }
    // A past date is allowed here: it expires the token at once.
    if let Some(expires_at) = changes.expires_at {
        row.expires_at = expires_at;
    }
    errors.into_result()?;
    db::update(&mut tx, &row, time::now()).await?;
    tx.commit().await?;
    Ok(row.into())
}

pub async fn revoke(store: &Store, id: i64) -> Result<()> {
    let mut tx = store.begin().await?;
    if !db::delete(&mut tx, id).await? {
        return Err(Error::not_found("Token"));
    }
    tx.commit().await
}

/// A page of tokens by id (see [`Window`]).
pub async fn page(store: &Store, window: &Window) -> Result<Slice<Token>> {
    let mut conn = store.conn().await?;
    Ok(db::page(&mut conn, window).await?.map(Token::from))
}

pub async fn find(store: &Store, id: i64) -> Result<Token> {
    let mut conn = store.conn().await?;
    db::find(&mut conn, id)
        .await?
        .map(Token::from)
        .ok_or_else(|| Error::not_found("Token"))
}

/// The token a plain secret names, with its owner; `None` when no such token exists.
pub async fn find_by_plain(store: &Store, plain: &str) -> Result<Option<Token>> {
    let mut conn = store.conn().await?;
    Ok(db::find_by_hash(&mut conn, &hash(plain))
        .await?
        .map(Token::from))
}

/// Records a use of a token (the caller limits this to once a minute).
pub async fn record_use(store: &Store, id: i64, at: Timestamp, ip: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    db::touch(&mut tx, id, at, ip).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let (a, hash_a) = generate();
        let (b, _) = generate();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(hash_a, hash(&a));
        assert_eq!(hash_a.len(), 64);
    }
}
