//! Reports (contract §9.6): the summary of a period (served by a rollup, [`rollup`]), and the
//! exports of tickets, agents and SLA figures, read in keyset batches so an export of any size
//! runs in constant memory.
//!
//! The period is `[from, to)`. "Created", the time figures, the SLA breach rate and the
//! breakdowns count the tickets created in the period (as they are now); "resolved" counts
//! tickets whose `resolved_at` falls in it; "open now" is every ticket not resolved or closed.
//! Times are seconds on the ticket's SLA clock (business hours when its policy has them,
//! calendar time otherwise, and for tickets without a policy); percentiles are nearest-rank,
//! over durations kept within 3% on whole days ([`rollup::bucket`]).

use std::collections::HashMap;

use serde_json::{Value, json};

pub mod rollup;
mod summary;

pub use crate::store::reports::Period;
pub use summary::{Summary, summary};

use crate::{
    domain::tickets::Priority,
    error::{Error, FieldErrors, Result},
    store::{
        Store,
        reports::{self, After},
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
