//! The read-only lists agents pick from (requires `tickets:read`): agents, active departments,
//! tags, and the canned responses and macros the caller may use. Not paginated.

use poem::web::Data as State;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    admin_canned_responses::CannedResponseRecord,
    admin_departments::DepartmentRecord,
    admin_macros::MacroRecord,
    admin_tags::TagRecord,
    envelope::{Data, data},
    errors::ApiResult,
    security::Caller,
};
use crate::{
    app::AppState,
    domain::{canned_responses, departments, macros, tags, users},
};

pub struct ResourcesApi;

/// Someone tickets can be assigned to.
#[derive(Debug, Object)]
pub struct StaffMember {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// `agent` or `admin`.
    pub role: String,
}

#[OpenApi(tag = "ApiTags::Resources")]
impl ResourcesApi {
    /// List agents
    ///
    /// Requires the `tickets:read` ability. Active agents and admins, by name; never
    /// customers.
    #[oai(path = "/agents", method = "get", operation_id = "agents.list")]
    async fn agents(
        &self,
        _caller: Caller,
        state: State<&AppState>,
    ) -> ApiResult<Json<Data<Vec<StaffMember>>>> {
        let staff = users::active_staff(&state.store).await?;
        Ok(data(
            staff
                .into_iter()
                .map(|u| StaffMember {
                    id: u.id,
                    name: u.name,
                    email: u.email,
                    role: u.role.as_str().to_string(),
                })
                .collect(),
        ))
    }

    /// List departments
    ///
    /// Requires the `tickets:read` ability. Active departments, by name, each with its active
    /// agents.
    #[oai(
        path = "/departments",
        method = "get",
        operation_id = "departments.list"
    )]
    async fn departments(
        &self,
        _caller: Caller,
        state: State<&AppState>,
    ) -> ApiResult<Json<Data<Vec<DepartmentRecord>>>> {
        let list = departments::active(&state.store).await?;
        Ok(data(list.into_iter().map(DepartmentRecord::from).collect()))
    }

    /// List tags
    ///
    /// Requires the `tickets:read` ability. Every tag, by name.
    #[oai(path = "/tags", method = "get", operation_id = "tags.list")]
    async fn tags(
        &self,
        _caller: Caller,
        state: State<&AppState>,
    ) -> ApiResult<Json<Data<Vec<TagRecord>>>> {
        let list = tags::all(&state.store).await?;
        Ok(data(list.into_iter().map(TagRecord::from).collect()))
    }

    /// List canned responses
    ///
    /// Requires the `tickets:read` ability. The shared responses and the caller's personal
    /// ones, by category then title.
    #[oai(
        path = "/canned-responses",
        method = "get",
        operation_id = "canned_responses.list"
    )]
    async fn canned_responses(
        &self,
        caller: Caller,
        state: State<&AppState>,
    ) -> ApiResult<Json<Data<Vec<CannedResponseRecord>>>> {
        let list = canned_responses::visible_to(&state.store, caller.0.user_id).await?;
        Ok(data(
            list.into_iter().map(CannedResponseRecord::from).collect(),
        ))
    }

    /// List macros
    ///
    /// Requires the `tickets:read` ability. The shared macros (those from script files
    /// included, `origin: "file"`) and the caller's personal ones, by `order`, then name (within
    /// one `order`, file macros come after the others).
    #[oai(path = "/macros", method = "get", operation_id = "macros.list")]
    async fn macros(
        &self,
        caller: Caller,
        state: State<&AppState>,
    ) -> ApiResult<Json<Data<Vec<MacroRecord>>>> {
        let list = macros::visible_to(&state.store, &state.scripts, caller.0.user_id).await?;
        Ok(data(list.into_iter().map(MacroRecord::from).collect()))
    }
}
