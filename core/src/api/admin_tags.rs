//! `/admin/tags`: list, show, create, update and delete tags (requires `admin`).

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
        tags::{self, Tag, TagInput},
    },
    time::rfc3339,
};

pub struct AdminTagsApi;

#[derive(Debug, Object)]
pub struct TagRecord {
    pub id: i64,
    pub name: String,
    /// `#RRGGBB`.
    pub color: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Tag> for TagRecord {
    fn from(t: Tag) -> Self {
        TagRecord {
            id: t.id,
            name: t.name,
            color: t.color,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateTagRequest {
    /// Unique, regardless of case.
    #[oai(validator(max_length = 100))]
    pub name: String,
    /// `#RRGGBB`; default `#6B7280`.
    #[serde(default)]
    pub color: Option<String>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct UpdateTagRequest {
    #[serde(default)]
    #[oai(validator(max_length = 100))]
    pub name: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
}

#[OpenApi(tag = "ApiTags::AdminTags")]
impl AdminTagsApi {
    /// List tags
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page` 1..100),
    /// by id.
    #[oai(path = "/admin/tags", method = "get", operation_id = "tags.list")]
    async fn list(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<TagRecord>>> {
        let request = PageRequest::parse(page.0, per_page.0)?;
        let (items, total) = tags::page(&state.store, request.limit(), request.offset()).await?;
        Ok(request.paged(items, total))
    }

    /// Show a tag
    ///
    /// Requires the `admin` ability and an admin owner.
    #[oai(path = "/admin/tags/:id", method = "get", operation_id = "tags.show")]
    async fn show(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Data<TagRecord>>> {
        Ok(data(tags::find(&state.store, id.0).await?.into()))
    }

    /// Create a tag
    ///
    /// Requires the `admin` ability and an admin owner.
    #[oai(
        path = "/admin/tags/create",
        method = "post",
        operation_id = "tags.create"
    )]
    async fn create(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        body: JsonBody<CreateTagRequest>,
    ) -> ApiResult<Created<TagRecord>> {
        let body = body.0;
        let tag = tags::create(
            &state.store,
            TagInput {
                name: Some(body.name),
                color: body.color,
            },
        )
        .await?;
        Ok(created(tag.into(), "Tag created."))
    }

    /// Update a tag
    ///
    /// Requires the `admin` ability and an admin owner.
    #[oai(
        path = "/admin/tags/:id/update",
        method = "patch",
        operation_id = "tags.update"
    )]
    async fn update(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
        body: DeferredJson<UpdateTagRequest>,
    ) -> ApiResult<Json<Written<TagRecord>>> {
        // An unknown id is 404 before the body is judged (contract §8).
        tags::find(&state.store, id.0).await?;
        let body = body.parse()?;
        let tag = tags::update(
            &state.store,
            id.0,
            TagInput {
                name: body.name,
                color: body.color,
            },
        )
        .await?;
        Ok(written(tag.into(), "Tag updated."))
    }

    /// Delete a tag
    ///
    /// Requires the `admin` ability and an admin owner. The tag is also removed from every
    /// ticket that has it.
    #[oai(
        path = "/admin/tags/:id/delete",
        method = "delete",
        operation_id = "tags.delete"
    )]
    async fn delete(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Written<RemovalResult>>> {
        tags::delete(&state.store, id.0).await?;
        Ok(removed(id.0, Removal::Deleted, "Tag deleted."))
    }
}
