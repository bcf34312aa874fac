//! `/admin/users`: list, show, create, update and deactivate users (requires `admin`).

use poem_openapi::Object;
use serde::Deserialize;

use super::{
    ApiTags,
    admin::{admin_api, into_input},
};
use crate::{
    api::date_time::DateTime,
    app::AppState,
    domain::users::{NewUser, User, UserChanges},
};

/// A user as admins see it.
#[derive(Debug, Object)]
pub struct AdminUser {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// `admin`, `agent` or `customer`.
    pub role: String,
    pub is_active: bool,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl From<User> for AdminUser {
    fn from(u: User) -> Self {
        AdminUser {
            id: u.id,
            name: u.name,
            email: u.email,
            role: u.role.as_str().to_string(),
            is_active: u.is_active,
            created_at: DateTime(u.created_at),
            updated_at: DateTime(u.updated_at),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateUserRequest {
    pub name: String,
    /// Unique; stored lower-cased.
    pub email: String,
    /// `admin`, `agent` or `customer`.
    pub role: String,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[derive(Debug, Default, Object, Deserialize)]
#[oai(example)]
#[serde(default)]
pub struct UpdateUserRequest {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
    pub is_active: Option<bool>,
}

into_input! { CreateUserRequest => NewUser { name, email, role, is_active } }

into_input! { UpdateUserRequest => UserChanges { name, email, role, is_active } }

/// A changed user's tokens are read again on their next request, so a new role or status
/// applies at once.
fn forget_tokens(state: &AppState, user_id: i64) {
    state.tokens.forget_user(user_id);
}

admin_api! {
    AdminUsersApi for User {
        tag: "ApiTags::AdminUsers",
        path: "/admin/users",
        record: AdminUser,
        created: AdminUser,
        create: CreateUserRequest,
        update: UpdateUserRequest,
        after_write: forget_tokens,
        ids: ["admin_users.list", "admin_users.show", "admin_users.create", "admin_users.update", "admin_users.delete"],
    }
    /// List users
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page` 1..100),
    /// by id.
    list;
    /// Show a user
    ///
    /// Requires the `admin` ability and an admin owner.
    show;
    /// Create a user
    ///
    /// Requires the `admin` ability and an admin owner. The email must be unused.
    create;
    /// Update a user
    ///
    /// Requires the `admin` ability and an admin owner. A change of role or status applies to
    /// the user's tokens from their next request. Admins cannot demote or deactivate
    /// themselves.
    update;
    /// Deactivate a user
    ///
    /// Requires the `admin` ability and an admin owner. Users are never deleted (their tickets
    /// and replies keep pointing at them): this sets `is_active` to false, answers
    /// `User deleted.` with `outcome: deactivated`, and the user's tokens stop working at once.
    delete;
}
