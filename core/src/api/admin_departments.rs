//! `/admin/departments`: list, show, create, update and delete departments (requires `admin`).

use poem_openapi::{Object, types::MaybeUndefined};
use serde::Deserialize;

use super::{
    ApiTags,
    admin::{admin_api, into_input},
};
use crate::{
    api::date_time::DateTime,
    domain::departments::{Department, DepartmentInput, Member},
};

#[derive(Debug, Object)]
pub struct DepartmentAgent {
    pub id: i64,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Object)]
#[oai(rename = "Department")]
pub struct DepartmentRecord {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_active: bool,
    /// The SLA policy new tickets of this department get; `null`: the default policy.
    pub sla_policy_id: Option<i64>,
    pub agents: Vec<DepartmentAgent>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
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
            created_at: DateTime(d.created_at),
            updated_at: DateTime(d.updated_at),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateDepartmentRequest {
    /// Unique, regardless of case.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Active agents or admins.
    #[serde(default)]
    pub agent_ids: Option<Vec<i64>>,
    /// An active SLA policy for the department's new tickets.
    #[serde(default)]
    pub sla_policy_id: Option<i64>,
}

#[derive(Debug, Default, Object, Deserialize)]
#[oai(example)]
#[serde(default)]
pub struct UpdateDepartmentRequest {
    pub name: Option<String>,
    /// `null` clears it.
    pub description: MaybeUndefined<String>,
    pub is_active: Option<bool>,
    /// Replaces the department's agents; `[]` removes them all.
    pub agent_ids: Option<Vec<i64>>,
    /// `null`: the department's tickets get the default policy.
    pub sla_policy_id: MaybeUndefined<i64>,
}

into_input! { CreateDepartmentRequest => DepartmentInput {
    name: Some, description: Some, is_active, agent_ids, sla_policy_id: Some
} }

into_input! { UpdateDepartmentRequest => DepartmentInput {
    name, description: Into::into, is_active, agent_ids, sla_policy_id: Into::into
} }

admin_api! {
    AdminDepartmentsApi for Department {
        tag: "ApiTags::AdminDepartments",
        path: "/admin/departments",
        record: DepartmentRecord,
        created: DepartmentRecord,
        create: CreateDepartmentRequest,
        update: UpdateDepartmentRequest,
        ids: ["admin_departments.list", "admin_departments.show", "admin_departments.create", "admin_departments.update", "admin_departments.delete"],
    }
    /// List departments
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page` 1..100),
    /// by id; inactive ones included.
    list;
    /// Show a department
    ///
    /// Requires the `admin` ability and an admin owner.
    show;
    /// Create a department
    ///
    /// Requires the `admin` ability and an admin owner.
    create;
    /// Update a department
    ///
    /// Requires the `admin` ability and an admin owner. `agent_ids`, when given, replaces the
    /// department's agents.
    update;
    /// Delete a department
    ///
    /// Requires the `admin` ability and an admin owner. A department that tickets belong to is
    /// deactivated instead (`outcome: deactivated`); the message is `Department deleted.`
    /// either way.
    delete;
}
