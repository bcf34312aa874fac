//! `/admin/automations`: scripts run as the system on a schedule or on events (requires `admin`).

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
        automations::{self, Automation, AutomationInput},
    },
    time::rfc3339,
};

pub struct AdminAutomationsApi;

#[derive(Debug, Object)]
pub struct AutomationRecord {
    pub id: i64,
    pub name: String,
    /// Rhai source run with `ticket` and `user` (the system); the changes it records are
    /// applied, and recording none means the ticket does not match.
    pub script: String,
    /// `schedule`, or the event name that runs it (`ticket.created`, ...).
    pub trigger: String,
    /// For `schedule`: the period, in minutes, in which it applies at most once per ticket.
    pub interval_minutes: Option<i64>,
    pub is_active: bool,
    /// `database` (made through this API) or `file` (read from a script file: read-only, a
    /// negative `id`; see docs/scripting.md).
    pub origin: String,
    /// The script file of a `file` automation, relative to `[scripts] dir`
    /// (`automations/urgent-on-keyword.rhai`); `null` for a database one.
    pub file: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Automation> for AutomationRecord {
    fn from(a: Automation) -> Self {
        AutomationRecord {
            id: a.id,
            name: a.name,
            script: a.script,
            trigger: a.trigger,
            interval_minutes: a.interval_minutes,
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
pub struct CreateAutomationRequest {
    #[oai(validator(max_length = 255))]
    pub name: String,
    /// Must compile.
    #[oai(validator(max_length = 65535))]
    pub script: String,
    /// `schedule` or an event name.
    #[oai(validator(max_length = 100))]
    pub trigger: String,
    /// Required for `schedule`: 1 to 10080 (a week).
    #[serde(default)]
    pub interval_minutes: Option<i64>,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct UpdateAutomationRequest {
    #[serde(default)]
    #[oai(validator(max_length = 255))]
    pub name: Option<String>,
    #[serde(default)]
    #[oai(validator(max_length = 65535))]
    pub script: Option<String>,
    #[serde(default)]
    #[oai(validator(max_length = 100))]
    pub trigger: Option<String>,
    #[serde(default)]
    pub interval_minutes: Option<i64>,
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[OpenApi(tag = "ApiTags::AdminAutomations")]
impl AdminAutomationsApi {
    /// List automations
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page` 1..100):
    /// the automations from script files first (by file name), then the others by id.
    #[oai(
        path = "/admin/automations",
        method = "get",
        operation_id = "automations.list"
    )]
    async fn list(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<AutomationRecord>>> {
        let request = PageRequest::parse(page.0, per_page.0)?;
        let (items, total) = automations::page(
            &state.store,
            &state.scripts,
            request.limit(),
            request.offset(),
        )
        .await?;
        Ok(request.paged(items, total))
    }

    /// Show an automation
    ///
    /// Requires the `admin` ability and an admin owner.
    #[oai(
        path = "/admin/automations/:id",
        method = "get",
        operation_id = "automations.show"
    )]
    async fn show(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Data<AutomationRecord>>> {
        Ok(data(
            automations::find(&state.store, &state.scripts, id.0)
                .await?
                .into(),
        ))
    }

    /// Create an automation
    ///
    /// Requires the `admin` ability and an admin owner. A script that does not compile is 422
    /// on `script` (with the line and column); an unknown trigger is 422 on `trigger`; a
    /// schedule without `interval_minutes` in 1..10080 is 422 on `interval_minutes`.
    #[oai(
        path = "/admin/automations/create",
        method = "post",
        operation_id = "automations.create"
    )]
    async fn create(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        body: JsonBody<CreateAutomationRequest>,
    ) -> ApiResult<Created<AutomationRecord>> {
        let body = body.0;
        let automation = automations::create(
            &state.store,
            &state.scripts,
            AutomationInput {
                name: Some(body.name),
                script: Some(body.script),
                trigger: Some(body.trigger),
                interval_minutes: body.interval_minutes,
                is_active: body.is_active,
            },
        )
        .await?;
        Ok(created(automation.into(), "Automation created."))
    }

    /// Update an automation
    ///
    /// Requires the `admin` ability and an admin owner. An automation from a script file is
    /// 403 (edit the file).
    #[oai(
        path = "/admin/automations/:id/update",
        method = "patch",
        operation_id = "automations.update"
    )]
    async fn update(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
        body: JsonBody<UpdateAutomationRequest>,
    ) -> ApiResult<Json<Written<AutomationRecord>>> {
        let body = body.0;
        let automation = automations::update(
            &state.store,
            &state.scripts,
            id.0,
            AutomationInput {
                name: body.name,
                script: body.script,
                trigger: body.trigger,
                interval_minutes: body.interval_minutes,
                is_active: body.is_active,
            },
        )
        .await?;
        Ok(written(automation.into(), "Automation updated."))
    }

    /// Delete an automation
    ///
    /// Requires the `admin` ability and an admin owner. An automation from a script file is
    /// 403 (remove the file).
    #[oai(
        path = "/admin/automations/:id/delete",
        method = "delete",
        operation_id = "automations.delete"
    )]
    async fn delete(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Written<RemovalResult>>> {
        automations::delete(&state.store, &state.scripts, id.0).await?;
        Ok(removed(id.0, Removal::Deleted, "Automation deleted."))
    }
}
