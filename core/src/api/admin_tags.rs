//! `/admin/tags`: list, show, create, update and delete tags (requires `admin`).

use poem_openapi::Object;
use serde::Deserialize;

use super::{
    ApiTags,
    admin::{admin_api, into_input},
};
use crate::{
    api::date_time::DateTime,
    domain::tags::{Tag, TagInput},
};

#[derive(Debug, Object)]
#[oai(rename = "Tag")]
pub struct TagRecord {
    pub id: i64,
    pub name: String,
    /// `#RRGGBB`.
    pub color: String,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl From<Tag> for TagRecord {
    fn from(t: Tag) -> Self {
        TagRecord {
            id: t.id,
            name: t.name,
            color: t.color,
            created_at: DateTime(t.created_at),
            updated_at: DateTime(t.updated_at),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateTagRequest {
    /// Unique, regardless of case.
    pub name: String,
    /// `#RRGGBB`; default `#6B7280`.
    #[serde(default)]
    pub color: Option<String>,
}

#[derive(Debug, Default, Object, Deserialize)]
#[oai(example)]
#[serde(default)]
pub struct UpdateTagRequest {
    pub name: Option<String>,
    pub color: Option<String>,
}

into_input! { CreateTagRequest => TagInput { name: Some, color } }

into_input! { UpdateTagRequest => TagInput { name, color } }

admin_api! {
    AdminTagsApi for Tag {
        tag: "ApiTags::AdminTags",
        path: "/admin/tags",
        record: TagRecord,
        created: TagRecord,
        create: CreateTagRequest,
        update: UpdateTagRequest,
        ids: ["admin_tags.list", "admin_tags.show", "admin_tags.create", "admin_tags.update", "admin_tags.delete"],
    }
    /// List tags
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page` 1..100),
    /// by id.
    list;
    /// Show a tag
    ///
    /// Requires the `admin` ability and an admin owner.
    show;
    /// Create a tag
    ///
    /// Requires the `admin` ability and an admin owner.
    create;
    /// Update a tag
    ///
    /// Requires the `admin` ability and an admin owner.
    update;
    /// Delete a tag
    ///
    /// Requires the `admin` ability and an admin owner. The tag is also removed from every
    /// ticket that has it.
    delete;
}
