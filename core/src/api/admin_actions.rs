//! `/admin/actions`: custom ticket actions (requires `admin`).

use poem::web::Data as State;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde::Deserialize;

use super::{
    ApiTags,
    admin_macros::origin,
    body::JsonBody,
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
        ticket_actions::{self, ActionInput, TicketAction},
    },
    time::rfc3339,
};

pub struct AdminActionsApi;

#[derive(Debug, Object)]
pub struct ActionRecord {
    pub id: i64,
    /// Unique; `[a-z0-9_-]`. Run with `POST /tickets/{reference}/actions/{key}`.
    pub key: String,
    pub label: String,
    /// Rhai source defining `visible(ticket, user)`, `enabled(ticket, user)`, `run(ticket, user)`.
    pub script: String,
    pub is_active: bool,
    /// `database` (made through this API) or `file` (read from a script file: read-only, a
    /// negative `id`, the key `file:{file name}`; see docs/scripting.md).
    pub origin: String,
    /// The script file of a `file` action, relative to `[scripts] dir`
    /// (`actions/escalate-vip.rhai`); `null` for a database one.
    pub file: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<TicketAction> for ActionRecord {
    fn from(a: TicketAction) -> Self {
        ActionRecord {
            id: a.id,
            key: a.key,
            label: a.label,
            script: a.script,
            is_active: a.is_active,
            origin: origin(&a.file).into(),
            file: a.file,
            created_at: rfc3339(a.created_at),
            updated_at: rfc3339(a.updated_at),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateActionRequest {
    #[oai(validator(max_length = 100))]
    pub key: String,
    #[oai(validator(max_length = 255))]
    pub label: String,
    /// Must compile and define `visible`, `enabled` and `run`, each taking `(ticket, user)`.
    #[oai(validator(max_length = 65535))]
    pub script: String,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct UpdateActionRequest {
    #[serde(default)]
    #[oai(validator(max_length = 100))]
    pub key: Option<String>,
    #[serde(default)]
    #[oai(validator(max_length = 255))]
    pub label: Option<String>,
    #[serde(default)]
    #[oai(validator(max_length = 65535))]
    pub script: Option<String>,
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[OpenApi(tag = "ApiTags::AdminActions")]
impl AdminActionsApi {
    /// List custom ticket actions
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page` 1..100):
    /// the actions from script files first (by file name), then the others by id.
    #[oai(path = "/admin/actions", method = "get", operation_id = "actions.list")]
    async fn list(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<ActionRecord>>> {
        let request = PageRequest::parse(page.0, per_page.0)?;
        let (items, total) = ticket_actions::page(
            &state.store,
            &state.scripts,
            request.limit(),
            request.offset(),
        )
        .await?;
        Ok(request.paged(items, total))
    }

    /// Show a custom ticket action
    ///
    /// Requires the `admin` ability and an admin owner.
    #[oai(
        path = "/admin/actions/:id",
        method = "get",
        operation_id = "actions.show"
    )]
    async fn show(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Data<ActionRecord>>> {
        Ok(data(
            ticket_actions::find(&state.store, &state.scripts, id.0)
                .await?
                .into(),
        ))
    }

    /// Create a custom ticket action
    ///
    /// Requires the `admin` ability and an admin owner. A script that does not compile or
    /// lacks one of its three functions is 422 on `script`; a taken key is 422 on `key`.
    #[oai(
        path = "/admin/actions/create",
        method = "post",
        operation_id = "actions.create"
    )]
    async fn create(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        body: JsonBody<CreateActionRequest>,
    ) -> ApiResult<Created<ActionRecord>> {
        let body = body.0;
        let action = ticket_actions::create(
            &state.store,
            &state.scripts,
            ActionInput {
                key: Some(body.key),
                label: Some(body.label),
                script: Some(body.script),
                is_active: body.is_active,
            },
        )
        .await?;
        Ok(created(action.into(), "Action created."))
    }

    /// Update a custom ticket action
    ///
    /// Requires the `admin` ability and an admin owner. An action from a script file is 403
    /// (edit the file).
    #[oai(
        path = "/admin/actions/:id/update",
        method = "patch",
        operation_id = "actions.update"
    )]
    async fn update(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
        body: JsonBody<UpdateActionRequest>,
    ) -> ApiResult<Json<Written<ActionRecord>>> {
        let body = body.0;
        let action = ticket_actions::update(
            &state.store,
            &state.scripts,
            id.0,
            ActionInput {
                key: body.key,
                label: body.label,
                script: body.script,
                is_active: body.is_active,
            },
        )
        .await?;
        Ok(written(action.into(), "Action updated."))
    }

    /// Delete a custom ticket action
    ///
    /// Requires the `admin` ability and an admin owner. An action from a script file is 403
    /// (remove the file).
    #[oai(
        path = "/admin/actions/:id/delete",
        method = "delete",
        operation_id = "actions.delete"
    )]
    async fn delete(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Written<RemovalResult>>> {
        ticket_actions::delete(&state.store, &state.scripts, id.0).await?;
        Ok(removed(id.0, Removal::Deleted, "Action deleted."))
    }
}
