//! `/admin/users`: list, show, create, update and deactivate users (requires `admin`).

use poem::web::Data as State;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde::Deserialize;

use super::{
    ApiTags,
    body::{DeferredJson, JsonBody},
    envelope::{Created, Data, Paged, Written, created, data, written},
    errors::ApiResult,
    params::PageRequest,
    removal::{RemovalResult, removed},
    security::Caller,
};
use crate::{
    app::AppState,
    domain::{
        Removal,
        users::{self, NewUser, User, UserChanges},
    },
    time::rfc3339,
};

pub struct AdminUsersApi;

/// A user as admins see it.
#[derive(Debug, Object)]
pub struct AdminUser {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// `admin`, `agent` or `customer`.
    pub role: String,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<User> for AdminUser {
    fn from(u: User) -> Self {
        AdminUser {
            id: u.id,
            name: u.name,
            email: u.email,
            role: u.role.as_str().to_string(),
            is_active: u.is_active,
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateUserRequest {
    #[oai(validator(max_length = 255))]
    pub name: String,
    /// Unique; stored lower-cased.
    #[oai(validator(max_length = 255))]
    pub email: String,
    /// `admin`, `agent` or `customer`.
    pub role: String,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct UpdateUserRequest {
    #[serde(default)]
    #[oai(validator(max_length = 255))]
    pub name: Option<String>,
    #[serde(default)]
    #[oai(validator(max_length = 255))]
    pub email: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[OpenApi(tag = "ApiTags::AdminUsers")]
impl AdminUsersApi {
    /// List users
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page` 1..100),
    /// by id.
    #[oai(path = "/admin/users", method = "get", operation_id = "users.list")]
    async fn list(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<AdminUser>>> {
        let request = PageRequest::parse(page.0, per_page.0)?;
        let (items, total) = users::page(&state.store, request.limit(), request.offset()).await?;
        Ok(request.paged(items, total))
    }

    /// Show a user
    ///
    /// Requires the `admin` ability and an admin owner.
    #[oai(path = "/admin/users/:id", method = "get", operation_id = "users.show")]
    async fn show(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Data<AdminUser>>> {
        Ok(data(users::find(&state.store, id.0).await?.into()))
    }

    /// Create a user
    ///
    /// Requires the `admin` ability and an admin owner. The email must be unused.
    #[oai(
        path = "/admin/users/create",
        method = "post",
        operation_id = "users.create"
    )]
    async fn create(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        body: JsonBody<CreateUserRequest>,
    ) -> ApiResult<Created<AdminUser>> {
        let body = body.0;
        let user = users::create(
            &state.store,
            NewUser {
                name: body.name,
                email: body.email,
                role: body.role,
                is_active: body.is_active,
            },
        )
        .await?;
        Ok(created(user.into(), "User created."))
    }

    /// Update a user
    ///
    /// Requires the `admin` ability and an admin owner. A change of role or status applies to
    /// the user's tokens from their next request. Admins cannot demote or deactivate
    /// themselves.
    #[oai(
        path = "/admin/users/:id/update",
        method = "patch",
        operation_id = "users.update"
    )]
    async fn update(
        &self,
        caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
        body: DeferredJson<UpdateUserRequest>,
    ) -> ApiResult<Json<Written<AdminUser>>> {
        // An unknown id is 404 before the body is judged (contract §8).
        users::find(&state.store, id.0).await?;
        let body = body.parse()?;
        let user = users::update_by(
            &state.store,
            caller.0.user_id,
            id.0,
            UserChanges {
                name: body.name,
                email: body.email,
                role: body.role,
                is_active: body.is_active,
            },
        )
        .await?;
        state.tokens.forget_user(user.id);
        Ok(written(user.into(), "User updated."))
    }

    /// Deactivate a user
    ///
    /// Requires the `admin` ability and an admin owner. Users are never deleted (their tickets
    /// and replies keep pointing at them): this sets `is_active` to false, answers
    /// `User deleted.` with `outcome: deactivated`, and the user's tokens stop working at once.
    #[oai(
        path = "/admin/users/:id/delete",
        method = "delete",
        operation_id = "users.delete"
    )]
    async fn delete(
        &self,
        caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Written<RemovalResult>>> {
        users::deactivate_by(&state.store, caller.0.user_id, id.0).await?;
        state.tokens.forget_user(id.0);
        Ok(removed(id.0, Removal::Deactivated, "User deleted."))
    }
}
