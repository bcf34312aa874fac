//! `POST /auth/validate`: who a token belongs to and what it may do.

use crate::api::date_time::DateTime;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    envelope::{Data, data},
    errors::ApiResult,
    security::Caller,
};

pub struct AuthApi;

#[derive(Debug, Object)]
pub struct ValidatedUser {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Object)]
pub struct ValidatedToken {
    pub id: i64,
    pub name: String,
    pub expires_at: Option<DateTime>,
    pub last_used_at: Option<DateTime>,
}

#[derive(Debug, Object)]
pub struct Validation {
    pub user: ValidatedUser,
    /// The ability names stored on the token (`agent`, `*`, `tickets:read`, ...).
    pub abilities: Vec<String>,
    pub role: String,
    pub token: ValidatedToken,
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// Validate a token
    ///
    /// Returns the token's owner, abilities and role. Any valid token of an active agent or
    /// admin may call it, whatever its abilities.
    #[oai(
        path = "/auth/validate",
        method = "post",
        operation_id = "auth.validate"
    )]
    async fn validate(&self, caller: Caller) -> ApiResult<Json<Data<Validation>>> {
        let p = caller.0;
        Ok(data(Validation {
            user: ValidatedUser {
                id: p.user_id,
                name: p.name,
                email: p.email,
                role: p.role.to_string(),
            },
            abilities: p.ability_names,
            role: p.role.to_string(),
            token: ValidatedToken {
                id: p.token_id,
                name: p.token_name,
                expires_at: p.token_expires_at.map(DateTime),
                last_used_at: p.token_last_used_at.map(DateTime),
            },
        }))
    }
}
