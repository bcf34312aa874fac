//! `/admin/departments`: list, show, create, update and delete departments (requires `admin`).

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
    domain::departments::{self, Department, DepartmentInput, Member},
    time::rfc3339,
};

pub struct AdminDepartmentsApi;

#[derive(Debug, Object)]
pub struct DepartmentAgent {
    pub id: i64,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Object)]
pub struct DepartmentRecord {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_active: bool,
    /// The SLA policy new tickets of this department get; `null`: the default policy.
    pub sla_policy_id: Option<i64>,
    pub agents: Vec<DepartmentAgent>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Member> for DepartmentAgent {
    fn from(m: Member) -> Self {
        DepartmentAgent {
            id: m.id,
            name: m.name,
            email: m.email,
        }
    }
}

impl From<Department> for DepartmentRecord {
    fn from(d: Department) -> Self {
        DepartmentRecord {
            id: d.id,
            name: d.name,
            description: d.description,
            is_active: d.is_active,
            sla_policy_id: d.sla_policy_id,
            agents: d.agents.into_iter().map(DepartmentAgent::from).collect(),
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateDepartmentRequest {
    /// Unique, regardless of case.
    #[oai(validator(max_length = 255))]
    pub name: String,
    #[serde(default)]
    #[oai(validator(max_length = 1000))]
    pub description: Option<String>,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Active agents or admins; at most 500.
    #[serde(default)]
    #[oai(validator(max_items = 500))]
    pub agent_ids: Option<Vec<i64>>,
    /// An active SLA policy for the department's new tickets.
    #[serde(default)]
    pub sla_policy_id: Option<i64>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct UpdateDepartmentRequest {
    #[serde(default)]
    #[oai(validator(max_length = 255))]
    pub name: Option<String>,
    /// `null` clears it.
    #[serde(default)]
    #[oai(validator(max_length = 1000))]
    pub description: MaybeUndefined<String>,
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Replaces the department's agents; `[]` removes them all.
    #[serde(default)]
    #[oai(validator(max_items = 500))]
    pub agent_ids: Option<Vec<i64>>,
    /// `null`: the department's tickets get the default policy.
    #[serde(default)]
    pub sla_policy_id: MaybeUndefined<i64>,
}

#[OpenApi(tag = "ApiTags::AdminDepartments")]
impl AdminDepartmentsApi {
    /// List departments
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page` 1..100),
    /// by id; inactive ones included.
    #[oai(
        path = "/admin/departments",
        method = "get",
        operation_id = "departments.list"
    )]
    async fn list(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<Paged<DepartmentRecord>>> {
        let request = PageRequest::parse(page.0, per_page.0)?;
        let (items, total) =
            departments::page(&state.store, request.limit(), request.offset()).await?;
        Ok(request.paged(items, total))
    }

    /// Show a department
    ///
    /// Requires the `admin` ability and an admin owner.
    #[oai(
        path = "/admin/departments/:id",
        method = "get",
        operation_id = "departments.show"
    )]
    async fn show(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Data<DepartmentRecord>>> {
        Ok(data(departments::find(&state.store, id.0).await?.into()))
    }

    /// Create a department
    ///
    /// Requires the `admin` ability and an admin owner.
    #[oai(
        path = "/admin/departments/create",
        method = "post",
        operation_id = "departments.create"
    )]
    async fn create(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        body: JsonBody<CreateDepartmentRequest>,
    ) -> ApiResult<Created<DepartmentRecord>> {
        let body = body.0;
        let department = departments::create(
            &state.store,
            DepartmentInput {
                name: Some(body.name),
                description: Some(body.description),
                is_active: body.is_active,
                agent_ids: body.agent_ids,
                sla_policy_id: Some(body.sla_policy_id),
            },
        )
        .await?;
        Ok(created(department.into(), "Department created."))
    }

    /// Update a department
    ///
    /// Requires the `admin` ability and an admin owner. `agent_ids`, when given, replaces the
    /// department's agents.
    #[oai(
        path = "/admin/departments/:id/update",
        method = "patch",
        operation_id = "departments.update"
    )]
    async fn update(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
        body: DeferredJson<UpdateDepartmentRequest>,
    ) -> ApiResult<Json<Written<DepartmentRecord>>> {
        // An unknown id is 404 before the body is judged (contract §8).
        departments::find(&state.store, id.0).await?;
        let body = body.parse()?;
        let department = departments::update(
            &state.store,
            id.0,
            DepartmentInput {
                name: body.name,
                description: body.description.into(),
                is_active: body.is_active,
                agent_ids: body.agent_ids,
                sla_policy_id: body.sla_policy_id.into(),
            },
        )
        .await?;
        Ok(written(department.into(), "Department updated."))
    }

    /// Delete a department
    ///
    /// Requires the `admin` ability and an admin owner. A department that tickets belong to is
    /// deactivated instead (`outcome: deactivated`); the message is `Department deleted.`
    /// either way.
    #[oai(
        path = "/admin/departments/:id/delete",
        method = "delete",
        operation_id = "departments.delete"
    )]
    async fn delete(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
    ) -> ApiResult<Json<Written<RemovalResult>>> {
        let removal = departments::delete(&state.store, id.0).await?;
        Ok(removed(id.0, removal, "Department deleted."))
    }
}
