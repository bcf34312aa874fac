//! Canned responses: reply texts agents reuse. A shared one is for everyone; a personal one
//! (`is_shared: false`) belongs to the user who made it and only they see it.

use super::{Owner, validate};
use crate::{
    error::{Error, FieldErrors, Result},
    store::{
        Store,
        canned_responses::{self as db, CannedRow},
    },
    time::{self, Timestamp},
};

const MAX_TITLE: usize = 255;
const MAX_BODY: usize = 65_535;
const MAX_CATEGORY: usize = 255;

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
    if creating || input.title.is_some() {
        let title = input.title.as_deref().unwrap_or_default();
        if let Some(title) = errors.check("title", validate::line("title", title, MAX_TITLE)) {
            row.title = title;
        }
    }
    if creating || input.body.is_some() {
        let body = input.body.as_deref().unwrap_or_default();
        if let Some(body) = errors.check("body", validate::body("body", body, MAX_BODY)) {
            row.body = body;
        }
    }
    if let Some(category) = &input.category
        && let Some(category) = errors.check(
            "category",
            validate::optional("category", category.as_deref(), MAX_CATEGORY),
        )
    {
        row.category = category;
    }
    errors.into_result()?;
    match input.is_shared {
        Some(true) => {
            row.is_shared = 1;
            row.user_id = None;
        }
        // An admin editing someone's personal response does not take it over.
        Some(false) if row.user_id.is_none() => {
            row.is_shared = 0;
            row.user_id = Some(actor);
        }
        _ => {}
    }
    Ok(())
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
    let id = db::insert(&mut tx, &row).await?;
    let created = db::find(&mut tx, id).await?.ok_or_else(|| vanished(id))?;
    tx.commit().await?;
    Ok(created.into())
}

pub async fn update(
    store: &Store,
    actor: i64,
    id: i64,
    input: CannedInput,
) -> Result<CannedResponse> {
    let mut tx = store.begin().await?;
    let mut row = db::find(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("Canned response"))?;
    apply(&mut row, input, actor, false)?;
    row.updated_at = time::now();
    db::update(&mut tx, &row).await?;
    let updated = db::find(&mut tx, id).await?.ok_or_else(|| vanished(id))?;
    tx.commit().await?;
    Ok(updated.into())
}

fn vanished(id: i64) -> Error {
    Error::Internal(anyhow::anyhow!(
        "canned response {id} vanished inside its transaction"
    ))
}

pub async fn delete(store: &Store, id: i64) -> Result<()> {
    let mut tx = store.begin().await?;
    if !db::delete(&mut tx, id).await? {
        return Err(Error::not_found("Canned response"));
    }
    tx.commit().await
}

pub async fn find(store: &Store, id: i64) -> Result<CannedResponse> {
    let mut conn = store.conn().await?;
    db::find(&mut conn, id)
        .await?
        .map(CannedResponse::from)
        .ok_or_else(|| Error::not_found("Canned response"))
}

pub async fn page(store: &Store, limit: i64, offset: i64) -> Result<(Vec<CannedResponse>, i64)> {
    let mut conn = store.conn().await?;
    let (rows, total) = db::page(&mut conn, limit, offset).await?;
    Ok((rows.into_iter().map(CannedResponse::from).collect(), total))
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
