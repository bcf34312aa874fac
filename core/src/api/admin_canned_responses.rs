//! `/admin/canned-responses`: list, show, create, update and delete canned responses
//! (requires `admin`).

use poem_openapi::{Object, types::MaybeUndefined};
use serde::Deserialize;

use super::{
    ApiTags,
    admin::{admin_api, into_input},
};
use crate::{
    api::date_time::DateTime,
    domain::{
        Owner,
        canned_responses::{CannedInput, CannedResponse},
    },
};

/// The owner of a personal canned response or macro.
#[derive(Debug, Object)]
pub struct ContentOwner {
    pub id: i64,
    pub name: String,
}

impl From<Owner> for ContentOwner {
    fn from(o: Owner) -> Self {
        ContentOwner {
            id: o.id,
            name: o.name,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename = "CannedResponse")]
pub struct CannedResponseRecord {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub category: Option<String>,
    pub is_shared: bool,
    /// Who a personal response belongs to; `null` when shared.
    pub owner: Option<ContentOwner>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl From<CannedResponse> for CannedResponseRecord {
    fn from(c: CannedResponse) -> Self {
        CannedResponseRecord {
            id: c.id,
            title: c.title,
            body: c.body,
            category: c.category,
            is_shared: c.is_shared,
            owner: c.owner.map(ContentOwner::from),
            created_at: DateTime(c.created_at),
            updated_at: DateTime(c.updated_at),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateCannedResponseRequest {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub category: Option<String>,
    /// Default true; `false` makes it personal to the caller.
    #[serde(default)]
    pub is_shared: Option<bool>,
}

#[derive(Debug, Default, Object, Deserialize)]
#[oai(example)]
#[serde(default)]
pub struct UpdateCannedResponseRequest {
    pub title: Option<String>,
    pub body: Option<String>,
    /// `null` clears it.
    pub category: MaybeUndefined<String>,
    /// `true` shares it with everyone; `false` makes a shared one personal to the caller.
    pub is_shared: Option<bool>,
}

into_input! { CreateCannedResponseRequest => CannedInput {
    title: Some, body: Some, category: Some, is_shared
} }

into_input! { UpdateCannedResponseRequest => CannedInput {
    title, body, category: Into::into, is_shared
} }

admin_api! {
    AdminCannedResponsesApi for CannedResponse {
        tag: "ApiTags::AdminCannedResponses",
        path: "/admin/canned-responses",
        record: CannedResponseRecord,
        created: CannedResponseRecord,
        create: CreateCannedResponseRequest,
        update: UpdateCannedResponseRequest,
        ids: ["admin_canned_responses.list", "admin_canned_responses.show", "admin_canned_responses.create", "admin_canned_responses.update", "admin_canned_responses.delete"],
    }
    /// List canned responses
    ///
    /// Requires the `admin` ability and an admin owner. Every response, personal ones of all
    /// users included. Paginated (`page`, `per_page` 1..100), by id.
    list;
    /// Show a canned response
    ///
    /// Requires the `admin` ability and an admin owner.
    show;
    /// Create a canned response
    ///
    /// Requires the `admin` ability and an admin owner. A personal one (`is_shared: false`)
    /// belongs to the caller.
    create;
    /// Update a canned response
    ///
    /// Requires the `admin` ability and an admin owner. A personal response keeps its owner;
    /// a shared one made personal becomes the caller's.
    update;
    /// Delete a canned response
    ///
    /// Requires the `admin` ability and an admin owner.
    delete;
}
