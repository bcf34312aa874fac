//! First start: an empty database gets an admin and a one-time admin token, so a newcomer can
//! call the API at once.

use super::{
    tokens::{self, Expiry, NewTokenInput},
    users::{self, NewUser},
};
use crate::{error::Result, store::Store};

pub const ADMIN_EMAIL: &str = "admin@example.com";

/// Creates the admin and returns the plain token, or `None` when users already exist.
pub async fn first_admin(store: &Store) -> Result<Option<String>> {
    if users::count(store).await? > 0 {
        return Ok(None);
    }
    let admin = users::create(
        store,
        NewUser {
            name: "Administrator".into(),
            email: ADMIN_EMAIL.into(),
            role: "admin".into(),
            is_active: Some(true),
        },
    )
    .await?;
    let (_, plain) = tokens::create(
        store,
        NewTokenInput {
            user_id: admin.id,
            name: "Bootstrap admin token".into(),
            abilities: vec!["*".into()],
            expiry: Expiry::default(),
            rate_limit: None,
        },
    )
    .await?;
    tracing::info!(email = ADMIN_EMAIL, "created the first admin user");
    Ok(Some(plain))
}
