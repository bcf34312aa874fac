//! Tags: a unique name and a display colour. Deleting one takes it off its tickets.

use super::{name_taken, unique_name, validate};
use crate::{
    error::{Error, FieldErrors, Result},
    store::{Store, tags as db, tags::TagRow},
    time::{self, Timestamp},
};

pub const DEFAULT_COLOR: &str = "#6B7280";
const MAX_NAME: usize = 100;

#[derive(Debug, Clone)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<TagRow> for Tag {
    fn from(row: TagRow) -> Self {
        Tag {
            id: row.id,
            name: row.name,
            color: row.color,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The fields of a tag; on create `name` is required and `color` defaults.
#[derive(Debug, Default)]
pub struct TagInput {
    pub name: Option<String>,
    pub color: Option<String>,
}

/// `#RRGGBB`, stored upper-case.
fn color(value: &str) -> Result<String, String> {
    let value = value.trim();
    let hex = value.strip_prefix('#').unwrap_or_default();
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(value.to_ascii_uppercase())
    } else {
        Err("The color must be a hex colour like #6B7280.".into())
    }
}

pub async fn create(store: &Store, input: TagInput) -> Result<Tag> {
    let mut errors = FieldErrors::new();
    let name = errors.check(
        "name",
        validate::line("name", input.name.as_deref().unwrap_or_default(), MAX_NAME),
    );
    let color = match &input.color {
        Some(value) => errors.check("color", color(value)),
        None => Some(DEFAULT_COLOR.to_string()),
    };
    errors.into_result()?;
    let (name, color) = (name.unwrap_or_default(), color.unwrap_or_default());
    let mut tx = store.begin().await?;
    if db::name_taken(&mut tx, &name, 0).await? {
        return Err(name_taken());
    }
    let now = time::now();
    let id = db::insert(&mut tx, &name, &color, now)
        .await
        .map_err(unique_name)?;
    tx.commit().await?;
    Ok(Tag {
        id,
        name,
        color,
        created_at: now,
        updated_at: now,
    })
}

pub async fn update(store: &Store, id: i64, changes: TagInput) -> Result<Tag> {
    let mut tx = store.begin().await?;
    let mut row = db::find(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("Tag"))?;
    let mut errors = FieldErrors::new();
    if let Some(name) = &changes.name
        && let Some(name) = errors.check("name", validate::line("name", name, MAX_NAME))
    {
        row.name = name;
    }
    if let Some(value) = &changes.color
        && let Some(value) = errors.check("color", color(value))
    {
        row.color = value;
    }
    errors.into_result()?;
    if changes.name.is_some() && db::name_taken(&mut tx, &row.name, id).await? {
        return Err(name_taken());
    }
    row.updated_at = time::now();
    db::update(&mut tx, &row).await.map_err(unique_name)?;
    tx.commit().await?;
    Ok(row.into())
}

/// Deletes the tag and removes it from every ticket that had it.
pub async fn delete(store: &Store, id: i64) -> Result<()> {
    let mut tx = store.begin().await?;
    if !db::delete(&mut tx, id).await? {
        return Err(Error::not_found("Tag"));
    }
    tx.commit().await
}

pub async fn find(store: &Store, id: i64) -> Result<Tag> {
    let mut conn = store.conn().await?;
    db::find(&mut conn, id)
        .await?
        .map(Tag::from)
        .ok_or_else(|| Error::not_found("Tag"))
}

pub async fn page(store: &Store, limit: i64, offset: i64) -> Result<(Vec<Tag>, i64)> {
    let mut conn = store.conn().await?;
    let (rows, total) = db::page(&mut conn, limit, offset).await?;
    Ok((rows.into_iter().map(Tag::from).collect(), total))
}

/// Every tag, by name (the read-only list for agents).
pub async fn all(store: &Store) -> Result<Vec<Tag>> {
    let mut conn = store.conn().await?;
    Ok(db::all(&mut conn)
        .await?
        .into_iter()
        .map(Tag::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_are_hex_triplets() {
        assert_eq!(color("#a1b2c3").unwrap(), "#A1B2C3");
        assert!(color("a1b2c3").is_err());
        assert!(color("#a1b2c").is_err());
        assert!(color("#ggg000").is_err());
    }
}
