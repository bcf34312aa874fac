//! `/admin/canned-responses`: list, show, create, update and delete canned responses
//! (requires `admin`).

use poem::web::Data as State;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
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
        Owner, Removal,
        canned_responses::{self, CannedInput, CannedResponse},
    },
    time::rfc3339,
};

pub struct AdminCannedResponsesApi;

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
pub struct CannedResponseRecord {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub category: Option<String>,
    pub is_shared: bool,
    /// Who a personal response belongs to; `null` when shared.
    pub owner: Option<ContentOwner>,
    pub created_at: String,
    pub updated_at: String,
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
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateCannedResponseRequest {
    #[oai(validator(max_length = 255))]
    pub title: String,
    #[oai(validator(max_length = 65535))]
    pub body: String,
    #[serde(default)]
    #[oai(validator(max_length = 255))]
    pub category: Option<String>,
    /// Default true; `false` makes it personal to the caller.
    #[serde(default)]
    pub is_shared: Option<bool>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct UpdateCannedResponseRequest {
    #[serde(default)]
    #[oai(validator(max_length = 255))]
    pub title: Option<String>,
    #[serde(default)]
    #[oai(validator(max_length = 65535))]
    pub body: Option<String>,
    /// `null` clears it.
    #[serde(default)]
    #[oai(validator(max_length = 255))]
    pub category: MaybeUndefined<String>,
    /// `true` shares it with everyone; `false` makes a shared one personal to the caller.
    #[serde(default)]
    pub is_shared: Option<bool>,
}

#[OpenApi(tag = "ApiTags::AdminCannedResponses")]
impl AdminCannedResponsesApi {
    /// List canned responses
    ///
    /// Requires the `admin` ability and an admin owner. Every response, personal ones of all
    /// users included. Paginated (`page`, `per_page` 1..100), by id.
    #[oai(
        path = "/admin/canned-responses",
        method = "get",
        operation_id = "canned_responses.list"
    )]
    async fn list(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<CannedResponseRecord>>> {
        let request = PageRequest::parse(page.0, per_page.0)?;
        let (items, total) =
            canned_responses::page(&state.store, request.limit(), request.offset()).await?;
        Ok(request.paged(items, total))
    }

    /// Show a canned response
    ///
    /// Requires the `admin` ability and an admin owner.
    #[oai(
        path = "/admin/canned-responses/:id",
        method = "get",
        operation_id = "canned_responses.show"
    )]
    async fn show(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Data<CannedResponseRecord>>> {
        Ok(data(
            canned_responses::find(&state.store, id.0).await?.into(),
        ))
    }

    /// Create a canned response
    ///
    /// Requires the `admin` ability and an admin owner. A personal one (`is_shared: false`)
    /// belongs to the caller.
    #[oai(
        path = "/admin/canned-responses/create",
        method = "post",
        operation_id = "canned_responses.create"
    )]
    async fn create(
        &self,
        caller: Caller,
        state: State<&AppState>,
        body: JsonBody<CreateCannedResponseRequest>,
    ) -> ApiResult<Created<CannedResponseRecord>> {
        let body = body.0;
        let canned = canned_responses::create(
            &state.store,
            caller.0.user_id,
            CannedInput {
                title: Some(body.title),
                body: Some(body.body),
                category: Some(body.category),
                is_shared: body.is_shared,
            },
        )
        .await?;
        Ok(created(canned.into(), "Canned response created."))
    }

    /// Update a canned response
    ///
    /// Requires the `admin` ability and an admin owner. A personal response keeps its owner;
    /// a shared one made personal becomes the caller's.
    #[oai(
        path = "/admin/canned-responses/:id/update",
        method = "patch",
        operation_id = "canned_responses.update"
    )]
    async fn update(
        &self,
        caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
        body: DeferredJson<UpdateCannedResponseRequest>,
    ) -> ApiResult<Json<Written<CannedResponseRecord>>> {
        // An unknown id is 404 before the body is judged (contract §8).
        canned_responses::find(&state.store, id.0).await?;
        let body = body.parse()?;
        let canned = canned_responses::update(
            &state.store,
            caller.0.user_id,
            id.0,
            CannedInput {
                title: body.title,
                body: body.body,
                category: body.category.into(),
                is_shared: body.is_shared,
            },
        )
        .await?;
        Ok(written(canned.into(), "Canned response updated."))
    }

    /// Delete a canned response
    ///
    /// Requires the `admin` ability and an admin owner.
    #[oai(
        path = "/admin/canned-responses/:id/delete",
        method = "delete",
        operation_id = "canned_responses.delete"
    )]
    async fn delete(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Written<RemovalResult>>> {
        canned_responses::delete(&state.store, id.0).await?;
        Ok(removed(id.0, Removal::Deleted, "Canned response deleted."))
    }
}
