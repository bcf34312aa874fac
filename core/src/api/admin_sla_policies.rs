//! `/admin/sla-policies`: list, show, create, update and delete SLA policies (requires `admin`).

use poem_openapi::{
    Object,
    registry::MetaSchema,
    types::{MaybeUndefined, ParseError, ParseFromJSON, ParseResult, ToJSON},
};
use serde::Deserialize;
use serde_json::Value;

use super::{
    ApiTags,
    admin::{admin_api, into_input, map_into, some_into},
    scalar_type::scalar_type,
};
use crate::{
    api::date_time::DateTime,
    domain::sla_policies::{PriorityHours, SlaPolicy, SlaPolicyInput, hours_json},
};

/// A positive number of hours; written as `24` rather than `24.0` when whole.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Hours(pub f64);

scalar_type!(
    Hours,
    "hours",
    MetaSchema {
        description: Some("Hours, positive; fractions allowed (0.5 is 30 minutes)."),
        ..MetaSchema::new("number")
    }
);

impl ParseFromJSON for Hours {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.as_ref().and_then(Value::as_f64) {
            Some(hours) => Ok(Hours(hours)),
            None => Err(ParseError::custom("expected a number of hours")),
        }
    }
}

impl ToJSON for Hours {
    fn to_json(&self) -> Option<Value> {
        Some(hours_json(self.0))
    }
}

/// Hours per priority; every priority is required.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaHours {
    pub low: Hours,
    pub medium: Hours,
    pub high: Hours,
    pub urgent: Hours,
    pub critical: Hours,
}

impl From<SlaHours> for PriorityHours {
    fn from(h: SlaHours) -> Self {
        PriorityHours([h.low.0, h.medium.0, h.high.0, h.urgent.0, h.critical.0])
    }
}

impl From<PriorityHours> for SlaHours {
    fn from(h: PriorityHours) -> Self {
        let [low, medium, high, urgent, critical] = h.0.map(Hours);
        SlaHours {
            low,
            medium,
            high,
            urgent,
            critical,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename = "SlaPolicy")]
pub struct SlaPolicyRecord {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    /// The policy new tickets get when their department names none.
    pub is_default: bool,
    pub is_active: bool,
    pub first_response_hours: SlaHours,
    pub resolution_hours: SlaHours,
    /// `{timezone, schedule: {monday: ["09:00", "17:00"], ...}, holidays: ["2026-12-25"]}`;
    /// `null`: calendar hours.
    pub business_hours: Option<Value>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl From<SlaPolicy> for SlaPolicyRecord {
    fn from(p: SlaPolicy) -> Self {
        SlaPolicyRecord {
            id: p.id,
            name: p.name,
            description: p.description,
            is_default: p.is_default,
            is_active: p.is_active,
            first_response_hours: p.first_response_hours.into(),
            resolution_hours: p.resolution_hours.into(),
            business_hours: p.business_hours.map(|b| b.to_json()),
            created_at: DateTime(p.created_at),
            updated_at: DateTime(p.updated_at),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateSlaPolicyRequest {
    /// Unique, regardless of case.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `true` takes the default flag from the current default policy.
    #[serde(default)]
    pub is_default: Option<bool>,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
    pub first_response_hours: SlaHours,
    pub resolution_hours: SlaHours,
    /// `{timezone, schedule, holidays}`; absent or `null`: calendar hours. `schedule` maps
    /// `monday`..`sunday` to `["HH:MM", "HH:MM"]` (days left out are closed); `holidays` is a
    /// list of `YYYY-MM-DD` dates.
    #[serde(default)]
    pub business_hours: Option<Value>,
}

#[derive(Debug, Default, Object, Deserialize)]
#[oai(example)]
#[serde(default)]
pub struct UpdateSlaPolicyRequest {
    pub name: Option<String>,
    /// `null` clears it.
    pub description: MaybeUndefined<String>,
    pub is_default: Option<bool>,
    /// `false` on the default policy also drops its default flag.
    pub is_active: Option<bool>,
    pub first_response_hours: Option<SlaHours>,
    pub resolution_hours: Option<SlaHours>,
    /// `null` returns to calendar hours.
    pub business_hours: MaybeUndefined<Value>,
}

into_input! { CreateSlaPolicyRequest => SlaPolicyInput {
    name: Some, description: Some, is_default, is_active, first_response_hours: some_into,
    resolution_hours: some_into, business_hours: Some
} }

into_input! { UpdateSlaPolicyRequest => SlaPolicyInput {
    name, description: Into::into, is_default, is_active, first_response_hours: map_into,
    resolution_hours: map_into, business_hours: Into::into
} }

admin_api! {
    AdminSlaPoliciesApi for SlaPolicy {
        tag: "ApiTags::AdminSlaPolicies",
        path: "/admin/sla-policies",
        record: SlaPolicyRecord,
        created: SlaPolicyRecord,
        create: CreateSlaPolicyRequest,
        update: UpdateSlaPolicyRequest,
        ids: ["admin_sla_policies.list", "admin_sla_policies.show", "admin_sla_policies.create", "admin_sla_policies.update", "admin_sla_policies.delete"],
    }
    /// List SLA policies
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page` 1..100),
    /// by id.
    list;
    /// Show an SLA policy
    ///
    /// Requires the `admin` ability and an admin owner.
    show;
    /// Create an SLA policy
    ///
    /// Requires the `admin` ability and an admin owner. Both hour maps name all five
    /// priorities.
    create;
    /// Update an SLA policy
    ///
    /// Requires the `admin` ability and an admin owner. New due times apply to tickets whose
    /// SLA is computed afterwards.
    update;
    /// Delete an SLA policy
    ///
    /// Requires the `admin` ability and an admin owner. A policy that tickets or departments
    /// use is deactivated instead (`outcome: deactivated`); the message is
    /// `SLA policy deleted.` either way.
    delete;
}
