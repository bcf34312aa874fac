//! Users and the rules on them: unique email, a known role, deactivation instead of deletion.

use super::{
    Removal,
    admin::{self, AdminResource, Context, Database, admin_kind},
    roles::Role,
    validate,
};
use crate::{
    error::{Error, FieldErrors, Result},
    store::{
        Store,
        keyset::{Slice, Window},
        records, users as db,
        users::UserRow,
    },
    time::{self, Timestamp},
};

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: row.id,
            name: row.name,
            email: row.email,
            // The column only ever holds values written through Role::as_str.
            role: Role::parse(&row.role).unwrap_or(Role::Customer),
            is_active: row.is_active != 0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The fields of a new user, unchecked.
#[derive(Debug, Default)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub role: String,
    pub is_active: Option<bool>,
}

/// A change to a user; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
    pub is_active: Option<bool>,
}

fn parse_role(errors: &mut FieldErrors, role: &str) -> Option<Role> {
    errors.check(
        "role",
        Role::parse(role).ok_or_else(|| validate::invalid("role")),
    )
}

pub async fn create(store: &Store, input: NewUser) -> Result<User> {
    let mut errors = FieldErrors::new();
    let name = errors.check(
        "name",
        validate::line("name", &input.name, validate::MAX_NAME),
    );
    let email = errors.check("email", validate::email("email", &input.email));
    let role = parse_role(&mut errors, &input.role);
    let mut tx = store.begin().await?;
    if let Some(email) = &email
        && db::find_by_email(&mut tx, email).await?.is_some()
    {
        errors.add("email", "The email has already been taken.");
    }
    errors.into_result()?;
    let (name, email, role) = (name.unwrap(), email.unwrap(), role.unwrap());
    let now = time::now();
    let is_active = input.is_active.unwrap_or(super::admin::ACTIVE_ON_CREATE);
    let id = db::insert(&mut tx, &name, &email, role.as_str(), is_active, now).await?;
    tx.commit().await?;
    Ok(User {
        id,
        name,
        email,
        role,
        is_active,
        created_at: now,
        updated_at: now,
    })
}

pub async fn update(store: &Store, id: i64, changes: UserChanges) -> Result<User> {
    let mut tx = store.begin().await?;
    let mut row = admin::row::<User>(&mut tx, id).await?;
    let mut errors = FieldErrors::new();
    if let Some(name) = &changes.name
        && let Some(name) = errors.check("name", validate::line("name", name, validate::MAX_NAME))
    {
        row.name = name;
    }
    if let Some(email) = &changes.email
        && let Some(email) = errors.check("email", validate::email("email", email))
    {
        if email != row.email && db::find_by_email(&mut tx, &email).await?.is_some() {
            errors.add("email", "The email has already been taken.");
        }
        row.email = email;
    }
    if let Some(role) = &changes.role
        && let Some(role) = parse_role(&mut errors, role)
    {
        row.role = role.as_str().to_string();
    }
    if let Some(active) = changes.is_active {
        row.is_active = active as i64;
    }
    errors.into_result()?;
    row.updated_at = time::now();
    records::update(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(row.into())
}

pub async fn find_by_email(store: &Store, email: &str) -> Result<Option<User>> {
    let mut conn = store.conn().await?;
    Ok(db::find_by_email(&mut conn, &email.trim().to_lowercase())
        .await?
        .map(User::from))
}

pub async fn find(store: &Store, id: i64) -> Result<Option<User>> {
    let mut conn = store.conn().await?;
    Ok(db::find(&mut conn, id).await?.map(User::from))
}

/// A page of users by id (see [`Window`]), with the total.
pub async fn page(store: &Store, window: &Window) -> Result<Slice<User>> {
    admin::page_rows::<User>(store, window.clone()).await
}

/// Deactivates a user (never deleted: tickets and replies keep pointing at them); the token
/// guard refuses an inactive owner's tokens.
pub async fn deactivate(store: &Store, id: i64) -> Result<User> {
    let changes = UserChanges {
        is_active: Some(false),
        ..UserChanges::default()
    };
    update(store, id, changes).await
}

pub async fn count(store: &Store) -> Result<i64> {
    let mut conn = store.conn().await?;
    db::count(&mut conn).await
}

/// Refuses the changes that would lock `actor` (an admin) out of the admin API.
fn check_self_change(actor: i64, id: i64, changes: &UserChanges) -> Result<()> {
    if actor != id {
        return Ok(());
    }
    let mut errors = FieldErrors::new();
    if changes.is_active == Some(false) {
        errors.add("is_active", "You cannot deactivate yourself.");
    }
    if changes
        .role
        .as_deref()
        .is_some_and(|role| role != Role::Admin.as_str())
    {
        errors.add("role", "You cannot remove your own admin role.");
    }
    errors.into_result()
}

impl AdminResource for User {
    admin_kind! { "User": row UserRow, origin Database, create NewUser, update UserChanges }

    async fn create(cx: Context<'_>, input: NewUser) -> Result<User> {
        create(cx.store, input).await
    }

    /// As [`update`], except that admins cannot demote or deactivate themselves.
    async fn update(cx: Context<'_>, id: i64, changes: UserChanges) -> Result<User> {
        check_self_change(cx.actor, id, &changes)?;
        update(cx.store, id, changes).await
    }

    /// Users are never deleted (tickets and replies keep pointing at them): deactivation
    /// instead.
    async fn delete(cx: Context<'_>, id: i64) -> Result<Removal> {
        if cx.actor == id {
            admin::row::<User>(&mut *cx.store.conn().await?, id).await?;
            return Err(Error::field("id", "You cannot deactivate yourself."));
        }
        deactivate(cx.store, id).await?;
        Ok(Removal::Deactivated)
    }
}

/// Active agents and admins, by name: who tickets can be assigned to.
pub async fn active_staff(store: &Store) -> Result<Vec<User>> {
    let mut conn = store.conn().await?;
    Ok(db::active_staff(&mut conn)
        .await?
        .into_iter()
        .map(User::from)
        .collect())
}
