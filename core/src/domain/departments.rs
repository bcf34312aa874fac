//! Departments: a unique name, the agents who work it, and optionally the SLA policy its new
//! tickets get. One that tickets use is deactivated rather than deleted.

use std::collections::HashMap;

use super::{
    Removal,
    admin::{self, AdminResource, Context, Database, admin_kind},
    name_taken, unique_name, validate,
};
use crate::{
    error::{FieldErrors, Result},
    store::{
        Store,
        departments::{self as db, DepartmentRow, MemberRow},
        keyset::{Slice, Window},
        records,
        sla_policies::SlaPolicyRow,
        users,
    },
    time::{self, Timestamp},
};

pub const MAX_AGENTS: usize = 500;

#[derive(Debug, Clone)]
pub struct Member {
    pub id: i64,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct Department {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_active: bool,
    pub sla_policy_id: Option<i64>,
    pub agents: Vec<Member>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The fields of a department; `None` leaves a field alone (on create: its default), and
/// `Some(None)` clears a nullable one.
#[derive(Debug, Default)]
pub struct DepartmentInput {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_active: Option<bool>,
    pub agent_ids: Option<Vec<i64>>,
    pub sla_policy_id: Option<Option<i64>>,
}

/// Attaches each department's members, fetched in one query for the whole list.
fn assemble(rows: Vec<DepartmentRow>, members: Vec<MemberRow>) -> Vec<Department> {
    let mut by_department: HashMap<i64, Vec<Member>> = HashMap::new();
    for m in members {
        by_department
            .entry(m.department_id)
            .or_default()
            .push(Member {
                id: m.id,
                name: m.name,
                email: m.email,
            });
    }
    rows.into_iter()
        .map(|row| Department {
            agents: by_department.remove(&row.id).unwrap_or_default(),
            id: row.id,
            name: row.name,
            description: row.description,
            is_active: row.is_active != 0,
            sla_policy_id: row.sla_policy_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
        .collect()
}

/// A department without its agents: [`load`] attaches them.
impl From<DepartmentRow> for Department {
    fn from(row: DepartmentRow) -> Self {
        assemble(vec![row], Vec::new()).remove(0)
    }
}

async fn load(conn: &mut sqlx::AnyConnection, rows: Vec<DepartmentRow>) -> Result<Vec<Department>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let members = db::members_of(conn, &ids).await?;
    Ok(assemble(rows, members))
}

/// Checks the input onto `row`; returns the new agent list when one was given.
async fn apply(
    conn: &mut sqlx::AnyConnection,
    row: &mut DepartmentRow,
    input: DepartmentInput,
    creating: bool,
) -> Result<Option<Vec<i64>>> {
    let mut errors = FieldErrors::new();
    let given = (input.name.as_deref(), &input.description);
    let (name, description) = (&mut row.name, &mut row.description);
    validate::set_name_and_description(&mut errors, given, creating, name, description);
    if let Some(active) = input.is_active {
        row.is_active = active as i64;
    }
    let agent_ids = match input.agent_ids {
        Some(ids) if ids.len() > MAX_AGENTS => {
            errors.add(
                "agent_ids",
                format!("The agent ids may not have more than {MAX_AGENTS} items."),
            );
            None
        }
        Some(mut ids) => {
            ids.sort_unstable();
            ids.dedup();
            let staff = users::active_staff_among(conn, &ids).await?;
            let strangers: Vec<String> = ids
                .iter()
                .filter(|id| !staff.contains(id))
                .map(i64::to_string)
                .collect();
            if !strangers.is_empty() {
                errors.add(
                    "agent_ids",
                    format!(
                        "These ids are not active agents or admins: {}.",
                        strangers.join(", ")
                    ),
                );
            }
            Some(ids)
        }
        None => None,
    };
    if let Some(policy_id) = input.sla_policy_id {
        if let Some(id) = policy_id {
            let active = records::find::<SlaPolicyRow>(conn, id)
                .await?
                .is_some_and(|p| p.is_active != 0);
            if !active {
                errors.add("sla_policy_id", validate::invalid("sla_policy_id"));
            }
        }
        row.sla_policy_id = policy_id;
    }
    errors.into_result()?;
    if (creating || input.name.is_some())
        && records::taken::<DepartmentRow>(conn, &row.name, row.id).await?
    {
        return Err(name_taken());
    }
    Ok(agent_ids)
}

impl AdminResource for Department {
    admin_kind! { "Department": row DepartmentRow, origin Database, input DepartmentInput }

    async fn create(cx: Context<'_>, input: DepartmentInput) -> Result<Department> {
        create(cx.store, input).await
    }

    async fn update(cx: Context<'_>, id: i64, input: DepartmentInput) -> Result<Department> {
        let mut tx = cx.store.begin().await?;
        let mut row = admin::row::<Department>(&mut tx, id).await?;
        let agent_ids = apply(&mut tx, &mut row, input, false).await?;
        row.updated_at = time::now();
        records::update(&mut tx, &row).await.map_err(unique_name)?;
        if let Some(ids) = agent_ids {
            db::set_members(&mut tx, id, &ids).await?;
        }
        let department = load(&mut tx, vec![row]).await?.remove(0);
        tx.commit().await?;
        Ok(department)
    }

    /// Deletes the department, or deactivates it when any ticket belongs to it.
    async fn delete(cx: Context<'_>, id: i64) -> Result<Removal> {
        let mut tx = cx.store.begin().await?;
        admin::row::<Department>(&mut tx, id).await?;
        let removal = if db::in_use(&mut tx, id).await? {
            db::deactivate(&mut tx, id, time::now()).await?;
            Removal::Deactivated
        } else {
            records::delete::<DepartmentRow>(&mut tx, id).await?;
            Removal::Deleted
        };
        tx.commit().await?;
        Ok(removal)
    }

    async fn find(cx: Context<'_>, id: i64) -> Result<Department> {
        let mut conn = cx.store.conn().await?;
        let row = admin::row::<Department>(&mut conn, id).await?;
        Ok(load(&mut conn, vec![row]).await?.remove(0))
    }

    async fn page(cx: Context<'_>, window: &Window) -> Result<Slice<Department>> {
        let mut conn = cx.store.conn().await?;
        let slice = records::page(&mut conn, window).await?;
        let items = load(&mut conn, slice.items).await?;
        Ok(Slice {
            items,
            total: slice.total,
            more: slice.more,
        })
    }
}

pub async fn create(store: &Store, input: DepartmentInput) -> Result<Department> {
    let now = time::now();
    let mut row = DepartmentRow {
        id: 0,
        name: String::new(),
        description: None,
        is_active: super::admin::ACTIVE_ON_CREATE.into(),
        sla_policy_id: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = store.begin().await?;
    let agent_ids = apply(&mut tx, &mut row, input, true).await?;
    row.id = records::insert(&mut tx, &row).await.map_err(unique_name)?;
    db::set_members(&mut tx, row.id, &agent_ids.unwrap_or_default()).await?;
    let department = load(&mut tx, vec![row]).await?.remove(0);
    tx.commit().await?;
    Ok(department)
}

/// Active departments with their active agents (the read-only list for agents).
pub async fn active(store: &Store) -> Result<Vec<Department>> {
    let mut conn = store.conn().await?;
    let rows = db::active(&mut conn).await?;
    let members = db::active_members(&mut conn).await?;
    Ok(assemble(rows, members))
}
