//! Who is calling and what they may do: bearer tokens resolved from memory, the contract's
//! ability and role checks, and per-token / per-IP rate limits. The HTTP middleware that
//! applies all of it, in the contract's order, before any endpoint runs is `api::guard`.

pub mod access;
pub mod cache;
pub mod rate_limit;

use crate::domain::{
    abilities::{Ability, AbilitySet},
    roles::Role,
};

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub token_id: i64,
    pub token_name: String,
    /// The names as stored on the token (`agent`, `*`, ...).
    pub ability_names: Vec<String>,
    pub abilities: AbilitySet,
    pub token_expires_at: Option<i64>,
    pub token_last_used_at: Option<i64>,
}

impl Principal {
    pub fn can(&self, ability: Ability) -> bool {
        self.abilities.allows(ability)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl Principal {
    /// The caller as the domain sees them.
    pub fn actor(&self) -> crate::domain::roles::Actor {
        crate::domain::roles::Actor {
            user_id: self.user_id,
            role: self.role,
        }
    }
}
