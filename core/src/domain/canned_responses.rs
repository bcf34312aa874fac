//! Canned responses: reply texts agents reuse. A shared one is for everyone; a personal one
//! (`is_shared: false`) belongs to the user who made it and only they see it.

use super::{
    Owner,
    admin::{self, AdminResource, Context, Database, admin_kind},
    share, validate,
};
use crate::{
    error::{FieldErrors, Result},
    store::{
        Store,
        canned_responses::{self as db, CannedRow},
        records,
    },
    time::{self, Timestamp},
};

pub const MAX_TITLE: usize = 255;
pub const MAX_BODY: usize = 65_535;
pub const MAX_CATEGORY: usize = 255;

#[derive(Debug, Clone)]
pub struct CannedResponse {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub category: Option<String>,
    pub is_shared: bool,
    /// The owner of a personal response; `None` for a shared one.
    pub owner: Option<Owner>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<CannedRow> for CannedResponse {
    fn from(row: CannedRow) -> Self {
        CannedResponse {
            id: row.id,
            title: row.title,
            body: row.body,
            category: row.category,
            is_shared: row.is_shared != 0,
            owner: row.user_id.map(|id| Owner {
                id,
                name: row.owner_name.unwrap_or_default(),
            }),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The fields of a canned response; `None` leaves a field alone (on create: its default).
#[derive(Debug, Default)]
pub struct CannedInput {
    pub title: Option<String>,
    pub body: Option<String>,
    pub category: Option<Option<String>>,
    pub is_shared: Option<bool>,
}

/// Checks the input onto `row`; `actor` becomes the owner when the response turns personal.
fn apply(row: &mut CannedRow, input: CannedInput, actor: i64, creating: bool) -> Result<()> {
    let mut errors = FieldErrors::new();
    let title = |t: &str| validate::line("title", t, MAX_TITLE);
    validate::set_text(
        &mut errors,
        "title",
        input.title.as_deref(),
        creating,
        title,
        &mut row.title,
    );
    let body = |b: &str| validate::body("body", b, MAX_BODY);
    validate::set_text(
        &mut errors,
        "body",
        input.body.as_deref(),
        creating,
        body,
        &mut row.body,
    );
    validate::set_optional(
        &mut errors,
        "category",
        &input.category,
        MAX_CATEGORY,
        &mut row.category,
    );
    errors.into_result()?;
    share(input.is_shared, actor, &mut row.is_shared, &mut row.user_id);
    Ok(())
}

impl AdminResource for CannedResponse {
    admin_kind! { "Canned response": row CannedRow, origin Database, input CannedInput }

    async fn create(cx: Context<'_>, input: CannedInput) -> Result<CannedResponse> {
        create(cx.store, cx.actor, input).await
    }

    /// A personal response keeps its owner; a shared one made personal becomes the actor's.
    async fn update(cx: Context<'_>, id: i64, input: CannedInput) -> Result<CannedResponse> {
        let mut tx = cx.store.begin().await?;
        let mut row = admin::row::<CannedResponse>(&mut tx, id).await?;
        apply(&mut row, input, cx.actor, false)?;
        row.updated_at = time::now();
        let updated = admin::update_and_read(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(updated)
    }
}

/// Creates a response; a personal one belongs to `actor`.
pub async fn create(store: &Store, actor: i64, input: CannedInput) -> Result<CannedResponse> {
    let now = time::now();
    let mut row = CannedRow {
        id: 0,
        title: String::new(),
        body: String::new(),
        category: None,
        is_shared: 1,
        user_id: None,
        owner_name: None,
        created_at: now,
        updated_at: now,
    };
    apply(&mut row, input, actor, true)?;
    let mut tx = store.begin().await?;
    let id = records::insert(&mut tx, &row).await?;
    let created = admin::reread::<CannedResponse>(&mut tx, id).await?;
    tx.commit().await?;
    Ok(created.into())
}

/// The shared responses and `user_id`'s own.
pub async fn visible_to(store: &Store, user_id: i64) -> Result<Vec<CannedResponse>> {
    let mut conn = store.conn().await?;
    Ok(db::visible_to(&mut conn, user_id)
        .await?
        .into_iter()
        .map(CannedResponse::from)
        .collect())
}
