//! Tags: a unique name and a display colour. Deleting one takes it off its tickets.

use super::{
    admin::{self, AdminResource, Context, Database, admin_kind},
    name_taken, unique_name, validate,
};
use crate::{
    error::{FieldErrors, Result},
    store::{
        Store, Tx, records, tags as db,
        tags::TagRow,
        ticket_links::{self, TagRef},
    },
    time::{self, Timestamp},
};

pub const DEFAULT_COLOR: &str = "#6B7280";
pub const MAX_NAME: usize = 100;

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

/// What a colour must look like (before it is stored upper-case), as the document states it.
pub const COLOR_PATTERN: &str = "^#[0-9A-Fa-f]{6}$";

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

impl AdminResource for Tag {
    admin_kind! { "Tag": row TagRow, origin Database, input TagInput }

    async fn create(cx: Context<'_>, input: TagInput) -> Result<Tag> {
        create(cx.store, input).await
    }

    async fn update(cx: Context<'_>, id: i64, changes: TagInput) -> Result<Tag> {
        let mut tx = cx.store.begin().await?;
        let mut row = admin::row::<Tag>(&mut tx, id).await?;
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
        if changes.name.is_some() && records::taken::<TagRow>(&mut tx, &row.name, id).await? {
            return Err(name_taken());
        }
        row.updated_at = time::now();
        records::update(&mut tx, &row).await.map_err(unique_name)?;
        tx.commit().await?;
        Ok(row.into())
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
    if records::taken::<TagRow>(&mut tx, &name, 0).await? {
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

/// Every tag, by name (the read-only list for agents).
/// The tags among `names` that exist, read in `tx` (names compare as the tags' unique index
/// does).
pub async fn named(tx: &mut Tx, names: &[String]) -> Result<Vec<TagRef>> {
    ticket_links::tags_by_names(tx, names).await
}

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

    /// The documented pattern takes exactly what the check takes (spaces aside, which the
    /// check trims).
    #[test]
    fn the_documented_pattern_is_the_check() {
        let pattern = regex::Regex::new(COLOR_PATTERN).unwrap();
        let samples = [
            "#a1b2c3", "#A1B2C3", "#000000", "#fFfFfF", "a1b2c3", "#a1b2c", "#a1b2c3d", "#ggg000",
            "##a1b2c", "#a1b2c\n", "", "#", "#é1b2c3",
        ];
        for sample in samples {
            assert_eq!(
                color(sample).is_ok(),
                pattern.is_match(sample),
                "{sample:?}"
            );
        }
    }
}
