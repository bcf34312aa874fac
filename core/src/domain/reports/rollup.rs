//! The rollup behind the summary (docs/reports.md, "What serves it"): per UTC day, how many
//! tickets fall under each value of each figure, so a summary of whole days reads a few
//! thousand sums instead of every ticket of its period.
//!
//! Each live ticket contributes one count to a handful of `(figure, day, value)` rows (see
//! [`Contribution::keys`]). The job `roll-up-reports` follows the change feed
//! (`tickets.change_seq`): for each changed ticket it takes back what the ticket contributed
//! when last folded and adds what it contributes now, in one transaction with the new
//! position. Writers never touch the rollup, so it costs a ticket write nothing; the summary
//! adds the changes not folded yet itself ([`pending`]), so its figures are exact whether or
//! not the job has run. Durations are kept in buckets of about 5% ([`bucket`]).

use std::collections::HashMap;

use sqlx::AnyConnection;

use crate::{
    domain::tickets::{Status, sla::Clock},
    error::{Error, Result},
    store::{
        Store,
        report_rollup::{self as counts, ContributionRow, Count, TicketFigures},
        reports as report_queries,
    },
    time::Timestamp,
};

/// Seconds in a (UTC) day: the rollup's unit of time.
pub const DAY: i64 = 86_400;

/// Ticket changes folded per transaction.
const BATCH: i64 = 500;

/// The figures, as the rollup names them.
pub mod kind {
    pub const CREATED: &str = "created";
    pub const STATUS: &str = "status";
    pub const PRIORITY: &str = "priority";
    pub const DEPARTMENT: &str = "department";
    pub const AGENT: &str = "agent";
    pub const POLICY: &str = "policy";
    pub const BREACHED: &str = "breached";
    pub const FIRST_RESPONSE: &str = "first_response";
    pub const RESOLUTION: &str = "resolution";
    /// Counted on the day of `resolved_at`, not of creation.
    pub const RESOLVED: &str = "resolved";
}

/// Durations below this many seconds are kept exactly.
const EXACT_BELOW: i64 = 120;

/// Buckets grow by this factor: a bucket's middle is within 2.5% of every duration in it, 3%
/// once rounded to whole seconds.
const GROWTH: f64 = 1.05;

/// The value a duration is counted under: itself below [`EXACT_BELOW`] seconds, otherwise the
/// geometric middle of its bucket `[GROWTH^i, GROWTH^(i+1))`, so a week of seconds spans about
/// 200 buckets and the rollup holds at most that many duration rows per day and figure.
pub fn bucket(seconds: i64) -> i64 {
    if seconds < EXACT_BELOW {
        return seconds.max(0);
    }
    let i = ((seconds as f64).ln() / GROWTH.ln()).floor();
    GROWTH.powf(i + 0.5).round() as i64
}

/// The UTC day of `at`.
pub fn day_of(at: Timestamp) -> i64 {
    at.div_euclid(DAY)
}

/// The SLA clock of each policy, to measure durations as the summary does.
pub struct Clocks(HashMap<i64, Clock>);

impl Clocks {
    pub async fn load(conn: &mut AnyConnection) -> Result<Clocks> {
        let policies = report_queries::sla_policies(conn).await?;
        Ok(Clocks(
            policies.iter().map(|p| (p.id, Clock::of(p))).collect(),
        ))
    }

    /// Time from `from` to `to` on the clock of `policy` (calendar time without one).
    fn elapsed(&self, policy: Option<i64>, from: Timestamp, to: Timestamp) -> i64 {
        policy
            .and_then(|id| self.0.get(&id))
            .unwrap_or(&Clock::Calendar)
            .elapsed(from, to)
    }
}

/// What one live ticket adds to the figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub created_day: i64,
    pub status: Status,
    pub priority: i64,
    pub department_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub has_policy: bool,
    /// Breached a target (counted only with a policy).
    pub breached: bool,
    /// Seconds to the first response, on the ticket's SLA clock.
    pub first_response: Option<i64>,
    pub resolved_day: Option<i64>,
    /// Seconds to resolution, on the ticket's SLA clock.
    pub resolution: Option<i64>,
}

impl Contribution {
    /// What the ticket contributes now, with exact durations; `None` once deleted.
    pub fn of(t: &TicketFigures, clocks: &Clocks) -> Result<Option<Contribution>> {
        if t.deleted_at.is_some() {
            return Ok(None);
        }
        let status = Status::parse(&t.status).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!(
                "ticket {} has the unknown status {:?}",
                t.id,
                t.status
            ))
        })?;
        let measure =
            |at: Option<Timestamp>| at.map(|at| clocks.elapsed(t.sla_policy_id, t.created_at, at));
        Ok(Some(Contribution {
            created_day: day_of(t.created_at),
            status,
            priority: t.priority,
            department_id: t.department_id,
            assignee_id: t.assignee_id,
            has_policy: t.sla_policy_id.is_some(),
            breached: t.sla_policy_id.is_some() && t.sla_breached != 0,
            first_response: measure(t.first_response_at),
            resolved_day: t.resolved_at.map(day_of),
            resolution: measure(t.resolved_at),
        }))
    }

    /// The same with its durations in their buckets, as the rollup keeps them.
    pub fn bucketed(mut self) -> Contribution {
        self.first_response = self.first_response.map(bucket);
        self.resolution = self.resolution.map(bucket);
        self
    }

    /// The `(figure, day, value)` rows it adds one to.
    pub fn keys(&self) -> Vec<(&'static str, i64, String)> {
        let day = self.created_day;
        let id = |id: Option<i64>| id.map(|id| id.to_string()).unwrap_or_default();
        let mut keys = vec![
            (kind::CREATED, day, String::new()),
            (kind::STATUS, day, self.status.as_str().to_string()),
            (kind::PRIORITY, day, self.priority.to_string()),
            (kind::DEPARTMENT, day, id(self.department_id)),
            (kind::AGENT, day, id(self.assignee_id)),
        ];
        if self.has_policy {
            keys.push((kind::POLICY, day, String::new()));
        }
        if self.breached {
            keys.push((kind::BREACHED, day, String::new()));
        }
        if let Some(seconds) = self.first_response {
            keys.push((kind::FIRST_RESPONSE, day, seconds.to_string()));
        }
        if let Some(seconds) = self.resolution {
            keys.push((kind::RESOLUTION, day, seconds.to_string()));
        }
        if let Some(resolved) = self.resolved_day {
            keys.push((kind::RESOLVED, resolved, String::new()));
        }
        keys
    }

    fn row(&self, ticket_id: i64) -> ContributionRow {
        ContributionRow {
            ticket_id,
            created_day: self.created_day,
            status: self.status.as_str().to_string(),
            priority: self.priority,
            department_id: self.department_id,
            assignee_id: self.assignee_id,
            has_policy: i64::from(self.has_policy),
            breached: i64::from(self.breached),
            first_response: self.first_response,
            resolved_day: self.resolved_day,
            resolution: self.resolution,
        }
    }

    fn from_row(row: ContributionRow) -> Result<(i64, Contribution)> {
        let status = Status::parse(&row.status).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!(
                "the rollup holds the unknown status {:?} for ticket {}",
                row.status,
                row.ticket_id
            ))
        })?;
        Ok((
            row.ticket_id,
            Contribution {
                created_day: row.created_day,
                status,
                priority: row.priority,
                department_id: row.department_id,
                assignee_id: row.assignee_id,
                has_policy: row.has_policy != 0,
                breached: row.breached != 0,
                first_response: row.first_response,
                resolved_day: row.resolved_day,
                resolution: row.resolution,
            },
        ))
    }
}

/// Changes to the counts, summed by row.
#[derive(Debug, Default)]
pub struct Deltas(HashMap<(&'static str, i64, String), i64>);

impl Deltas {
    /// A ticket went from contributing `old` to contributing `new`.
    fn change(&mut self, old: Option<&Contribution>, new: Option<&Contribution>) {
        for (c, n) in [(old, -1), (new, 1)] {
            for key in c.map(Contribution::keys).unwrap_or_default() {
                *self.0.entry(key).or_default() += n;
            }
        }
    }

    /// The rows that change, each once.
    pub fn into_counts(self) -> Vec<Count> {
        self.0
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|((kind, day, k), n)| Count {
                kind: kind.to_string(),
                day,
                k,
                n,
            })
            .collect()
    }
}

/// One batch of the change feed after `after`: the deltas it makes to the counts, the
/// contributions to save and forget, and the change number it ends at (`None`: no changes).
struct Batch {
    deltas: Deltas,
    keep: Vec<ContributionRow>,
    gone: Vec<i64>,
    last: Option<i64>,
    len: usize,
}

async fn next_batch(conn: &mut AnyConnection, clocks: &Clocks, after: i64) -> Result<Batch> {
    let changed = counts::changed_after(conn, after, BATCH).await?;
    let ids: Vec<i64> = changed.iter().map(|t| t.id).collect();
    let old: HashMap<i64, Contribution> = counts::contributions(conn, &ids)
        .await?
        .into_iter()
        .map(Contribution::from_row)
        .collect::<Result<_>>()?;
    let mut batch = Batch {
        deltas: Deltas::default(),
        keep: Vec::new(),
        gone: Vec::new(),
        last: changed.last().map(|t| t.change_seq),
        len: changed.len(),
    };
    for t in &changed {
        let new = Contribution::of(t, clocks)?.map(Contribution::bucketed);
        batch.deltas.change(old.get(&t.id), new.as_ref());
        match new {
            Some(c) => batch.keep.push(c.row(t.id)),
            None => batch.gone.push(t.id),
        }
    }
    Ok(batch)
}

/// Folds every ticket change not folded yet into the counts, a batch per transaction;
/// returns how many changes it folded. Run by the job `roll-up-reports` (under its lease).
#[tracing::instrument(skip_all)]
pub async fn fold(store: &Store) -> Result<u64> {
    let mut folded = 0u64;
    loop {
        let mut tx = store.begin().await?;
        let after = counts::lock_folded_seq(&mut tx).await?;
        let clocks = Clocks::load(&mut tx).await?;
        let batch = next_batch(&mut tx, &clocks, after).await?;
        let Some(last) = batch.last else {
            return Ok(folded);
        };
        counts::add_counts(&mut tx, &batch.deltas.into_counts()).await?;
        counts::save_contributions(&mut tx, &batch.keep).await?;
        counts::forget_contributions(&mut tx, &batch.gone).await?;
        counts::set_folded_seq(&mut tx, last).await?;
        tx.commit().await?;
        folded += batch.len as u64;
        if folded % 50_000 < batch.len as u64 {
            tracing::info!(
                folded,
                up_to = last,
                "folding ticket changes into the report rollup"
            );
        }
        if (batch.len as i64) < BATCH {
            return Ok(folded);
        }
    }
}

/// The changes to the counts that the job has not folded yet, read in the caller's snapshot:
/// added to the folded counts they give the figures as of that snapshot.
pub async fn pending(conn: &mut AnyConnection, clocks: &Clocks) -> Result<Deltas> {
    let mut after = counts::folded_seq(conn).await?;
    let mut deltas = Deltas::default();
    loop {
        let batch = next_batch(conn, clocks, after).await?;
        for (key, n) in batch.deltas.0 {
            *deltas.0.entry(key).or_default() += n;
        }
        match batch.last {
            Some(last) if (batch.len as i64) == BATCH => after = last,
            _ => return Ok(deltas),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact_when_short_and_within_three_percent_after() {
        for s in [0, 1, 59, 119] {
            assert_eq!(bucket(s), s);
        }
        assert_eq!(bucket(-5), 0);
        let mut values = std::collections::BTreeSet::new();
        for s in 120..=7 * DAY {
            let b = bucket(s);
            let error = (b - s).abs() as f64 / s as f64;
            assert!(error <= 0.03, "{s} s counted as {b}");
            values.insert(b);
        }
        // Two minutes to a week in a couple of hundred rows.
        assert!(values.len() < 200, "{} buckets", values.len());
    }

    #[test]
    fn a_change_takes_back_the_old_rows_and_adds_the_new() {
        let old = Contribution {
            created_day: 10,
            status: Status::Open,
            priority: 2,
            department_id: None,
            assignee_id: Some(4),
            has_policy: true,
            breached: false,
            first_response: None,
            resolved_day: None,
            resolution: None,
        };
        let new = Contribution {
            status: Status::Resolved,
            resolved_day: Some(12),
            resolution: Some(bucket(3 * 3600)),
            ..old.clone()
        };
        let mut deltas = Deltas::default();
        deltas.change(Some(&old), Some(&new));
        let mut counts: Vec<_> = deltas
            .into_counts()
            .into_iter()
            .map(|c| (c.kind, c.day, c.k, c.n))
            .collect();
        counts.sort();
        assert_eq!(
            counts,
            vec![
                ("resolution".into(), 10, bucket(3 * 3600).to_string(), 1),
                ("resolved".into(), 12, String::new(), 1),
                ("status".into(), 10, "open".into(), -1),
                ("status".into(), 10, "resolved".into(), 1),
            ]
        );
        let mut gone = Deltas::default();
        gone.change(Some(&new), None);
        assert!(gone.into_counts().iter().all(|c| c.n == -1));
    }
}
