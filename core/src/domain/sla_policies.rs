//! SLA policies: hours to first response and to resolution per priority, optionally counted in
//! business hours. At most one policy is the default; a policy in use is deactivated, not
//! deleted.

use serde_json::{Map, Value};

use super::{
    Removal,
    admin::{self, AdminResource, Context, Database, admin_kind},
    business_hours::BusinessHours,
    name_taken,
    tickets::Priority,
    unique_name, validate,
};
use crate::{
    error::{Error, FieldErrors, Result},
    store::{
        departments, records,
        sla_policies::{self as db, SlaPolicyRow},
    },
    time::{self, Timestamp},
};

/// Ten years: past this an SLA means nothing, and due times stay far from overflow.
pub const MAX_HOURS: f64 = 87_600.0;

/// Hours per priority, in severity order (low first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorityHours(pub [f64; 5]);

impl PriorityHours {
    pub fn get(&self, priority: &str) -> Option<f64> {
        Priority::ALL
            .map(Priority::as_str)
            .iter()
            .position(|p| *p == priority)
            .map(|i| self.0[i])
    }

    fn check(&self, errors: &mut FieldErrors, field: &str) {
        for (priority, hours) in Priority::ALL.map(Priority::as_str).iter().zip(self.0) {
            if !(hours > 0.0 && hours <= MAX_HOURS) {
                errors.add(
                    format!("{field}.{priority}"),
                    format!(
                        "The {} for {priority} must be a positive number of hours, at most {MAX_HOURS}.",
                        field.replace('_', " ")
                    ),
                );
            }
        }
    }

    /// `{"low": 24, ...}`; whole hours are written without a fraction.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        for (priority, hours) in Priority::ALL.map(Priority::as_str).iter().zip(self.0) {
            map.insert((*priority).into(), hours_json(hours));
        }
        Value::Object(map)
    }

    fn from_stored(text: &str) -> anyhow::Result<PriorityHours> {
        let value: Value = serde_json::from_str(text)?;
        let mut hours = [0.0; 5];
        for (slot, priority) in hours.iter_mut().zip(Priority::ALL.map(Priority::as_str)) {
            *slot = value[priority]
                .as_f64()
                .ok_or_else(|| anyhow::anyhow!("stored SLA hours lack {priority}: {text}"))?;
        }
        Ok(PriorityHours(hours))
    }
}

/// A number of hours as JSON: `24`, not `24.0`, when whole.
pub fn hours_json(hours: f64) -> Value {
    if hours.fract() == 0.0 && hours.abs() < 1e15 {
        Value::from(hours as i64)
    } else {
        Value::from(hours)
    }
}

#[derive(Debug, Clone)]
pub struct SlaPolicy {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_default: bool,
    pub is_active: bool,
    pub first_response_hours: PriorityHours,
    pub resolution_hours: PriorityHours,
    /// `None`: calendar hours.
    pub business_hours: Option<BusinessHours>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl TryFrom<SlaPolicyRow> for SlaPolicy {
    type Error = Error;
    fn try_from(row: SlaPolicyRow) -> Result<Self> {
        Ok(SlaPolicy {
            id: row.id,
            name: row.name,
            description: row.description,
            is_default: row.is_default != 0,
            is_active: row.is_active != 0,
            first_response_hours: PriorityHours::from_stored(&row.first_response_hours)?,
            resolution_hours: PriorityHours::from_stored(&row.resolution_hours)?,
            business_hours: row
                .business_hours
                .as_deref()
                .map(BusinessHours::from_stored)
                .transpose()?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The fields of a policy; `None` leaves a field alone (on create: its default; the two hour
/// maps are required there), `Some(None)` clears a nullable one.
#[derive(Debug, Default)]
pub struct SlaPolicyInput {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_default: Option<bool>,
    pub is_active: Option<bool>,
    pub first_response_hours: Option<PriorityHours>,
    pub resolution_hours: Option<PriorityHours>,
    /// The client's object, checked here; `Some(None)` returns to calendar hours.
    pub business_hours: Option<Option<Value>>,
}

/// Checks the input onto `row`.
async fn apply(
    conn: &mut sqlx::AnyConnection,
    row: &mut SlaPolicyRow,
    input: SlaPolicyInput,
    creating: bool,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    let given = (input.name.as_deref(), &input.description);
    let (name, description) = (&mut row.name, &mut row.description);
    validate::set_name_and_description(&mut errors, given, creating, name, description);
    for (field, given, stored) in [
        (
            "first_response_hours",
            &input.first_response_hours,
            &mut row.first_response_hours,
        ),
        (
            "resolution_hours",
            &input.resolution_hours,
            &mut row.resolution_hours,
        ),
    ] {
        match given {
            Some(hours) => {
                hours.check(&mut errors, field);
                *stored = hours.to_json().to_string();
            }
            None if creating => errors.add(field, validate::required(field)),
            None => {}
        }
    }
    if let Some(business_hours) = &input.business_hours {
        row.business_hours = match business_hours {
            None | Some(Value::Null) => None,
            Some(value) => BusinessHours::parse(&mut errors, "business_hours", value)
                .map(|hours| hours.to_json().to_string()),
        };
    }
    let was_active = row.is_active != 0;
    if let Some(active) = input.is_active {
        row.is_active = active as i64;
    }
    match input.is_default {
        Some(true) if row.is_active == 0 => {
            errors.add("is_default", "An inactive policy cannot be the default.")
        }
        Some(default) => row.is_default = default as i64,
        // Deactivating the default leaves no default: new tickets then get no policy.
        None if was_active && row.is_active == 0 => row.is_default = 0,
        None => {}
    }
    errors.into_result()?;
    if (creating || input.name.is_some())
        && records::taken::<SlaPolicyRow>(conn, &row.name, row.id).await?
    {
        return Err(name_taken());
    }
    Ok(())
}

impl AdminResource for SlaPolicy {
    admin_kind! { "SLA policy": row SlaPolicyRow, origin Database, input SlaPolicyInput }

    async fn create(cx: Context<'_>, input: SlaPolicyInput) -> Result<SlaPolicy> {
        let now = time::now();
        let mut row = SlaPolicyRow {
            id: 0,
            name: String::new(),
            description: None,
            is_default: 0,
            is_active: super::admin::ACTIVE_ON_CREATE.into(),
            first_response_hours: String::new(),
            resolution_hours: String::new(),
            business_hours: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = cx.store.begin().await?;
        apply(&mut tx, &mut row, input, true).await?;
        row.id = records::insert(&mut tx, &row).await.map_err(unique_name)?;
        if row.is_default != 0 {
            db::clear_default_except(&mut tx, row.id, now).await?;
        }
        tx.commit().await?;
        row.try_into()
    }

    /// New due times apply to tickets whose SLA is computed afterwards.
    async fn update(cx: Context<'_>, id: i64, input: SlaPolicyInput) -> Result<SlaPolicy> {
        let mut tx = cx.store.begin().await?;
        let mut row = admin::row::<SlaPolicy>(&mut tx, id).await?;
        apply(&mut tx, &mut row, input, false).await?;
        row.updated_at = time::now();
        records::update(&mut tx, &row).await.map_err(unique_name)?;
        if row.is_default != 0 {
            db::clear_default_except(&mut tx, id, row.updated_at).await?;
        }
        tx.commit().await?;
        row.try_into()
    }

    /// Deletes the policy, or deactivates it (and drops its default flag) when a ticket or a
    /// department uses it.
    async fn delete(cx: Context<'_>, id: i64) -> Result<Removal> {
        let mut tx = cx.store.begin().await?;
        let mut row = admin::row::<SlaPolicy>(&mut tx, id).await?;
        let in_use = db::used_by_tickets(&mut tx, id).await?
            || departments::uses_sla_policy(&mut tx, id).await?;
        let removal = if in_use {
            row.is_active = 0;
            row.is_default = 0;
            row.updated_at = time::now();
            records::update(&mut tx, &row).await?;
            Removal::Deactivated
        } else {
            records::delete::<SlaPolicyRow>(&mut tx, id).await?;
            Removal::Deleted
        };
        tx.commit().await?;
        Ok(removal)
    }
}
