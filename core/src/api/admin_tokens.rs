//! `/admin/api-tokens`: list, create, update and revoke API tokens (requires `admin`).

use poem::web::Data as State;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json, types::MaybeUndefined};
use serde::Deserialize;

use super::{
    ApiTags,
    body::{DeferredJson, JsonBody},
    envelope::{Created, Done, Written, created, done, location, written},
    errors::ApiResult,
    params::paged_list,
    security::Caller,
};
use crate::{
    api::date_time::DateTime,
    app::AppState,
    domain::tokens::{self, Expiry, NewTokenInput, Token, TokenChanges},
    time,
};

pub struct AdminTokensApi;

#[derive(Debug, Object)]
pub struct TokenOwner {
    pub id: i64,
    pub name: String,
    pub email: String,
}

/// An API token as listed; the secret is never shown again after creation.
#[derive(Debug, Object)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub user: TokenOwner,
    pub abilities: Vec<String>,
    pub expires_at: Option<DateTime>,
    pub is_expired: bool,
    pub last_used_at: Option<DateTime>,
    pub last_used_ip: Option<String>,
    /// Requests per minute; `null` means the server default (`api.rate_limit`).
    pub rate_limit: Option<i64>,
    pub created_at: DateTime,
}

/// A new token, with its secret: shown this once only.
#[derive(Debug, Object)]
pub struct CreatedToken {
    #[oai(flatten)]
    pub token: ApiToken,
    pub plain_text_token: String,
}

impl From<Token> for ApiToken {
    fn from(t: Token) -> Self {
        let is_expired = t.is_expired(time::now());
        ApiToken {
            id: t.id,
            name: t.name,
            user: TokenOwner {
                id: t.user_id,
                name: t.user_name,
                email: t.user_email,
            },
            abilities: t.abilities,
            expires_at: t.expires_at.map(DateTime),
            is_expired,
            last_used_at: t.last_used_at.map(DateTime),
            last_used_ip: t.last_used_ip,
            rate_limit: t.rate_limit,
            created_at: DateTime(t.created_at),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateTokenRequest {
    /// A label for people, e.g. `Zapier integration`.
    pub name: String,
    /// The owner: an active agent or admin.
    pub user_id: i64,
    /// Ability names: `tickets:read`, `tickets:write`, `tickets:delete`, `admin`, `*`, `agent`.
    pub abilities: Vec<String>,
    /// In the future. Give this or `expires_in_days`, not both; neither = never.
    pub expires_at: Option<DateTime>,
    /// Days from now.
    pub expires_in_days: Option<i64>,
    /// Requests per minute; `null` or absent for the server default.
    pub rate_limit: Option<i64>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct UpdateTokenRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub abilities: Option<Vec<String>>,
    /// `null` makes the token never expire; a past time expires it at once.
    #[serde(default)]
    pub expires_at: MaybeUndefined<DateTime>,
    /// `null` returns the token to the server default.
    #[serde(default)]
    pub rate_limit: MaybeUndefined<i64>,
}

paged_list! {
    /// List API tokens
    ///
    /// Requires the `admin` ability and an admin owner. By id; paginated (`page` or `cursor`,
    /// `per_page` 1..100).
    AdminTokenListApi (tag = "ApiTags::AdminTokens")
    list: "/admin/api-tokens" "admin_tokens.list" => ApiToken,
        list "Token", read |state, window| tokens::page(&state.store, window),
        id |token: Token| token.id;
}

#[OpenApi(tag = "ApiTags::AdminTokens")]
impl AdminTokensApi {
    /// Create an API token
    ///
    /// Requires the `admin` ability and an admin owner. The answer carries
    /// `plain_text_token`, which is never shown again.
    #[oai(
        path = "/admin/api-tokens/create",
        method = "post",
        operation_id = "admin_tokens.create"
    )]
    async fn create(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        req: &poem::Request,
        body: JsonBody<CreateTokenRequest>,
    ) -> ApiResult<Created<CreatedToken>> {
        let body = body.0;
        let (token, plain) = tokens::create(
            &state.store,
            NewTokenInput {
                user_id: body.user_id,
                name: body.name,
                abilities: body.abilities,
                expiry: Expiry {
                    at: body.expires_at.map(|at| at.0),
                    in_days: body.expires_in_days,
                },
                rate_limit: body.rate_limit,
            },
        )
        .await?;
        let location = location(req.original_uri(), Some(&token.id.to_string()));
        Ok(created(
            CreatedToken {
                token: token.into(),
                plain_text_token: plain,
            },
            "API token created.",
            location,
        ))
    }

    /// Update an API token
    ///
    /// Requires the `admin` ability and an admin owner. Takes effect on the token's next
    /// request.
    #[oai(
        path = "/admin/api-tokens/:id/update",
        method = "patch",
        operation_id = "admin_tokens.update"
    )]
    async fn update(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
        body: DeferredJson<UpdateTokenRequest>,
    ) -> ApiResult<Json<Written<ApiToken>>> {
        // An unknown id is 404 before the body is judged (contract §8).
        tokens::find(&state.store, id.0).await?;
        let body = body.parse()?;
        let expires_at = match body.expires_at {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(at) => Some(Some(at.0)),
        };
        let token = tokens::update(
            &state.store,
            id.0,
            TokenChanges {
                name: body.name,
                abilities: body.abilities,
                expires_at,
                rate_limit: body.rate_limit.into(),
            },
        )
        .await?;
        state.tokens.forget_token(token.id);
        Ok(written(token.into(), "Token updated."))
    }

    /// Revoke an API token
    ///
    /// Requires the `admin` ability and an admin owner. The token stops working at once.
    #[oai(
        path = "/admin/api-tokens/:id/delete",
        method = "delete",
        operation_id = "admin_tokens.delete"
    )]
    async fn delete(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Done>> {
        tokens::revoke(&state.store, id.0).await?;
        state.tokens.forget_token(id.0);
        Ok(done("Token revoked."))
    }
}
