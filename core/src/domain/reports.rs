//! Reports (contract §9.6): the summary of a period, and the exports of tickets, agents and
//! SLA figures, read in keyset batches so an export of any size runs in constant memory.
//!
//! The period is `[from, to)`. "Created", the time figures, the SLA breach rate and the
//! breakdowns count the tickets created in the period (as they are now); "resolved" counts
//! tickets whose `resolved_at` falls in it; "open now" is every ticket not resolved or closed.
//! Times are seconds on the ticket's SLA clock (business hours when its policy has them,
//! calendar time otherwise, and for tickets without a policy); percentiles are nearest-rank.

use std::collections::HashMap;

use futures::TryStreamExt;
use serde_json::{Value, json};

use crate::{
    domain::tickets::{Priority, sla::Clock},
    error::{Error, FieldErrors, Result},
    store::{
        Store,
        reports::{self, After, Group, Period},
    },
    time::{self, Timestamp},
};

/// The default period: the last 30 days.
pub const DEFAULT_DAYS: i64 = 30;

/// Rows read per query by an export.
pub const BATCH: i64 = 500;

/// Reads `from` and `to` (RFC 3339, or a date `YYYY-MM-DD`: `from` at its 00:00 UTC, `to` at
/// the end of that day). Default: the 30 days up to now.
pub fn period(from: Option<&str>, to: Option<&str>, now: Timestamp) -> Result<Period> {
    let mut errors = FieldErrors::new();
    let parse = |errors: &mut FieldErrors, field: &str, text: Option<&str>, end: bool| {
        let text = text?;
        let parsed = time::parse_rfc3339(text).or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc().timestamp() + if end { 86_400 } else { 0 })
        });
        if parsed.is_none() {
            errors.add(
                field,
                format!("The {field} field must be an RFC 3339 time or a date (YYYY-MM-DD)."),
            );
        }
        parsed
    };
    let to_parsed = parse(&mut errors, "to", to, true);
    let from_parsed = parse(&mut errors, "from", from, false);
    errors.into_result()?;
    let to = to_parsed.unwrap_or(now);
    let from = from_parsed.unwrap_or(to - DEFAULT_DAYS * 86_400);
    if from >= to {
        return Err(Error::field("from", "The from field must be before to."));
    }
    Ok(Period { from, to })
}

/// Nearest-rank percentile `p` (0..=100) of `values`, reordering them.
fn percentile(values: &mut [i64], p: u32) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let rank = (u64::from(p) * values.len() as u64).div_ceil(100).max(1) as usize;
    let (_, nth, _) = values.select_nth_unstable(rank - 1);
    Some(*nth)
}

/// Median and 90th percentile of a set of durations, in seconds.
#[derive(Debug, Clone, poem_openapi::Object)]
pub struct Spread {
    /// How many tickets the figures are taken over.
    pub count: i64,
    pub median: Option<i64>,
    pub p90: Option<i64>,
}

fn spread(mut values: Vec<i64>) -> Spread {
    Spread {
        count: values.len() as i64,
        median: percentile(&mut values, 50),
        p90: percentile(&mut values, 90),
    }
}

#[derive(Debug, Clone, poem_openapi::Object)]
pub struct SlaFigures {
    /// Tickets created in the period that have an SLA policy.
    pub tickets_with_policy: i64,
    /// Of those, how many breached a target (first response or resolution).
    pub breached: i64,
    /// `breached / tickets_with_policy`; null without such tickets.
    pub breach_rate: Option<f64>,
}

#[derive(Debug, Clone, poem_openapi::Object)]
pub struct Named {
    pub id: i64,
    pub name: Option<String>,
}

/// How many of the period's tickets have one value of a field.
#[derive(Debug, Clone, poem_openapi::Object)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

#[derive(Debug, Clone, poem_openapi::Object)]
pub struct PriorityCount {
    pub priority: Priority,
    pub count: i64,
}

#[derive(Debug, Clone, poem_openapi::Object)]
pub struct DepartmentCount {
    /// Null: tickets without a department.
    pub department: Option<Named>,
    pub count: i64,
}

#[derive(Debug, Clone, poem_openapi::Object)]
pub struct AgentCount {
    /// Null: unassigned tickets.
    pub agent: Option<Named>,
    pub count: i64,
}

/// The figures of a period (contract §9.6).
#[derive(Debug, Clone, poem_openapi::Object)]
pub struct Summary {
    #[oai(rename = "from")]
    pub from_at: String,
    #[oai(rename = "to")]
    pub to_at: String,
    /// Tickets created in the period.
    pub tickets_created: i64,
    /// Tickets whose `resolved_at` falls in the period.
    pub tickets_resolved: i64,
    /// Tickets not resolved or closed, now.
    pub open_now: i64,
    /// Time to the first agent response of the period's tickets that have one (SLA clock).
    pub first_response_seconds: Spread,
    /// Time to resolution of the period's tickets that are resolved (SLA clock).
    pub resolution_seconds: Spread,
    pub sla: SlaFigures,
    pub by_status: Vec<StatusCount>,
    pub by_priority: Vec<PriorityCount>,
    pub by_department: Vec<DepartmentCount>,
    pub by_agent: Vec<AgentCount>,
}

/// The summary of `period` (see the module's notes for what each figure counts).
pub async fn summary(store: &Store, period: Period) -> Result<Summary> {
    let mut conn = store.conn().await?;
    let created = reports::created(&mut conn, period).await?;
    let resolved = reports::resolved(&mut conn, period).await?;
    let open = reports::open_now(&mut conn).await?;
    let clocks: HashMap<i64, Clock> = reports::sla_policies(&mut conn)
        .await?
        .iter()
        .map(|p| (p.id, Clock::of(p)))
        .collect();

    // One pass over the period's tickets; only two numbers per ticket are kept.
    let (mut first_response, mut resolution) = (Vec::new(), Vec::new());
    let (mut with_policy, mut breached) = (0i64, 0i64);
    {
        let mut rows = reports::timings(&mut conn, period);
        while let Some(t) = rows.try_next().await? {
            let clock = t
                .sla_policy_id
                .and_then(|id| clocks.get(&id))
                .unwrap_or(&Clock::Calendar);
            if let Some(at) = t.first_response_at {
                first_response.push(clock.elapsed(t.created_at, at));
            }
            if let Some(at) = t.resolved_at {
                resolution.push(clock.elapsed(t.created_at, at));
            }
            if t.sla_policy_id.is_some() {
                with_policy += 1;
                breached += t.sla_breached;
            }
        }
    }
    let named = |id: Option<i64>, name: Option<String>| id.map(|id| Named { id, name });
    let by_status = reports::grouped(&mut conn, period, Group::Status)
        .await?
        .into_iter()
        .map(|g| StatusCount {
            status: g.group_key.unwrap_or_default(),
            count: g.n,
        })
        .collect();
    let by_priority = reports::grouped(&mut conn, period, Group::Priority)
        .await?
        .into_iter()
        .map(|g| PriorityCount {
            priority: Priority::from_rank(g.id.unwrap_or_default()),
            count: g.n,
        })
        .collect();
    let by_department = reports::grouped(&mut conn, period, Group::Department)
        .await?
        .into_iter()
        .map(|g| DepartmentCount {
            department: named(g.id, g.name),
            count: g.n,
        })
        .collect();
    let by_agent = reports::grouped(&mut conn, period, Group::Assignee)
        .await?
        .into_iter()
        .map(|g| AgentCount {
            agent: named(g.id, g.name),
            count: g.n,
        })
        .collect();
    Ok(Summary {
        from_at: time::rfc3339(period.from),
        to_at: time::rfc3339(period.to),
        tickets_created: created,
        tickets_resolved: resolved,
        open_now: open,
        first_response_seconds: spread(first_response),
        resolution_seconds: spread(resolution),
        sla: SlaFigures {
            tickets_with_policy: with_policy,
            breached,
            breach_rate: (with_policy > 0).then(|| breached as f64 / with_policy as f64),
        },
        by_status,
        by_priority,
        by_department,
        by_agent,
    })
}

/// What can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Tickets,
    Agents,
    Sla,
}

/// One value of an exported row.
#[derive(Debug, Clone)]
pub enum Cell {
    Int(Option<i64>),
    Text(Option<String>),
    Time(Option<Timestamp>),
    Flag(bool),
}

impl Export {
    pub fn name(self) -> &'static str {
        match self {
            Export::Tickets => "tickets",
            Export::Agents => "agents",
            Export::Sla => "sla",
        }
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Export::Tickets => &[
                "id",
                "reference",
                "subject",
                "status",
                "priority",
                "ticket_type",
                "channel",
                "requester_email",
                "assignee_id",
                "assignee_name",
                "department_id",
                "department_name",
                "sla_breached",
                "first_response_at",
                "resolved_at",
                "closed_at",
                "created_at",
                "updated_at",
            ],
            Export::Agents => &[
                "id",
                "name",
                "email",
                "role",
                "is_active",
                "open_assigned",
                "resolved",
                "replies",
                "notes",
            ],
            Export::Sla => &[
                "reference",
                "sla_policy_id",
                "priority",
                "first_response_due_at",
                "first_response_at",
                "first_response_breached",
                "resolution_due_at",
                "resolved_at",
                "resolution_breached",
            ],
        }
    }
}

/// Where an export stands between batches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Position(Option<After>);

/// The next batch of `export` after `position` (empty at the end), and the position after it.
pub async fn next_batch(
    store: &Store,
    export: Export,
    period: Period,
    position: Position,
) -> Result<(Vec<Vec<Cell>>, Position)> {
    let mut conn = store.conn().await?;
    let text = |s: &str| Cell::Text(Some(s.to_string()));
    match export {
        Export::Tickets | Export::Sla => {
            let rows =
                reports::tickets_after(&mut conn, period, position.0, export == Export::Sla, BATCH)
                    .await?;
            let next = rows.last().map(|r| After {
                created_at: r.created_at,
                id: r.id,
            });
            let cells = rows
                .into_iter()
                .map(|r| {
                    let priority = text(Priority::from_rank(r.priority).as_str());
                    if export == Export::Sla {
                        return vec![
                            Cell::Text(Some(r.reference)),
                            Cell::Int(r.sla_policy_id),
                            priority,
                            Cell::Time(r.first_response_due_at),
                            Cell::Time(r.first_response_at),
                            Cell::Flag(r.first_response_breached != 0),
                            Cell::Time(r.resolution_due_at),
                            Cell::Time(r.resolved_at),
                            Cell::Flag(r.resolution_breached != 0),
                        ];
                    }
                    vec![
                        Cell::Int(Some(r.id)),
                        Cell::Text(Some(r.reference)),
                        Cell::Text(Some(r.subject)),
                        Cell::Text(Some(r.status)),
                        priority,
                        Cell::Text(Some(r.ticket_type)),
                        Cell::Text(Some(r.channel)),
                        Cell::Text(r.requester_email),
                        Cell::Int(r.assignee_id),
                        Cell::Text(r.assignee_name),
                        Cell::Int(r.department_id),
                        Cell::Text(r.department_name),
                        Cell::Flag(r.sla_breached != 0),
                        Cell::Time(r.first_response_at),
                        Cell::Time(r.resolved_at),
                        Cell::Time(r.closed_at),
                        Cell::Time(Some(r.created_at)),
                        Cell::Time(Some(r.updated_at)),
                    ]
                })
                .collect();
            Ok((cells, Position(next.or(position.0))))
        }
        Export::Agents => {
            let after = position.0.map(|a| a.id).unwrap_or(0);
            let rows = reports::agents_after(&mut conn, after, BATCH).await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let figures = reports::agent_figures(&mut conn, &ids, period).await?;
            let maps: Vec<HashMap<i64, i64>> = figures
                .iter()
                .map(|f| f.iter().map(|p| (p.id, p.n)).collect())
                .collect();
            let next = rows.last().map(|r| After {
                created_at: 0,
                id: r.id,
            });
            let cells = rows
                .into_iter()
                .map(|r| {
                    let figure =
                        |i: usize| Cell::Int(Some(maps[i].get(&r.id).copied().unwrap_or(0)));
                    vec![
                        Cell::Int(Some(r.id)),
                        Cell::Text(Some(r.name)),
                        Cell::Text(Some(r.email)),
                        Cell::Text(Some(r.role)),
                        Cell::Flag(r.is_active != 0),
                        figure(0),
                        figure(1),
                        figure(2),
                        figure(3),
                    ]
                })
                .collect();
            Ok((cells, Position(next.or(position.0))))
        }
    }
}

/// A cell as CSV: quoted when it holds a separator, a quote or a line break; text that a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
pub fn csv_cell(cell: &Cell) -> String {
    match cell {
        Cell::Int(v) => v.map(|v| v.to_string()).unwrap_or_default(),
        Cell::Flag(b) => (if *b { "1" } else { "0" }).to_string(),
        Cell::Time(t) => t.map(time::rfc3339).unwrap_or_default(),
        Cell::Text(None) => String::new(),
        Cell::Text(Some(s)) => {
            let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{s}")
            } else {
                s.clone()
            };
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s
            }
        }
    }
}

/// A cell as JSON.
pub fn json_cell(cell: &Cell) -> Value {
    match cell {
        Cell::Int(v) => json!(v),
        Cell::Flag(b) => json!(b),
        Cell::Time(t) => json!(t.map(time::rfc3339)),
        Cell::Text(s) => json!(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&mut [], 50), None);
        assert_eq!(percentile(&mut [7], 90), Some(7));
        assert_eq!(percentile(&mut [4, 1, 3, 2], 50), Some(2));
        assert_eq!(
            percentile(&mut [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90),
            Some(90)
        );
        assert_eq!(
            percentile(&mut [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90),
            Some(10)
        );
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell(&Cell::Text(Some("a,b".into()))), "\"a,b\"");
        assert_eq!(
            csv_cell(&Cell::Text(Some("say \"hi\"".into()))),
            "\"say \"\"hi\"\"\""
        );
        assert_eq!(csv_cell(&Cell::Text(Some("=SUM(A1)".into()))), "'=SUM(A1)");
        assert_eq!(csv_cell(&Cell::Int(None)), "");
        assert_eq!(csv_cell(&Cell::Time(Some(0))), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn periods() {
        let now = 1_000_000_000;
        assert_eq!(
            period(None, None, now).unwrap(),
            Period {
                from: now - 30 * 86_400,
                to: now
            }
        );
        let p = period(Some("2026-11-01"), Some("2026-11-30"), now).unwrap();
        assert_eq!(time::rfc3339(p.from), "2026-11-01T00:00:00Z");
        assert_eq!(time::rfc3339(p.to), "2026-12-01T00:00:00Z");
        assert!(period(Some("yesterday"), None, now).is_err());
        assert!(period(Some("2026-12-01"), Some("2026-11-01"), now).is_err());
    }
}
