//! The summary of a period (docs/reports.md). Whole UTC days inside the period are read from
//! the rollup ([`rollup`]) plus the changes it has not folded yet; the partial days at either
//! end are read ticket by ticket, with exact durations. Everything is read in one snapshot.

use std::collections::{BTreeMap, HashMap};

use futures::TryStreamExt;

use super::rollup::{self, Clocks, Contribution, DAY, day_of, kind};
use crate::{
    domain::tickets::{Priority, Status},
    error::Result,
    store::{
        Store,
        report_rollup::{self as counts},
        reports::{self as queries, Period},
    },
    time,
};

/// The figures of the rollup that count tickets of the period.
const PERIOD_KINDS: [&str; 10] = [
    kind::CREATED,
    kind::STATUS,
    kind::PRIORITY,
    kind::DEPARTMENT,
    kind::AGENT,
    kind::POLICY,
    kind::BREACHED,
    kind::FIRST_RESPONSE,
    kind::RESOLUTION,
    kind::RESOLVED,
];

/// Median and 90th percentile of a set of durations, in seconds.
#[derive(Debug, Clone, poem_openapi::Object)]
pub struct Spread {
    /// How many tickets the figures are taken over.
    pub count: i64,
    pub median: Option<i64>,
    pub p90: Option<i64>,
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

/// The summed counts: by figure, by value.
#[derive(Debug, Default)]
struct Tally {
    period: HashMap<&'static str, BTreeMap<String, i64>>,
    /// Live tickets by status, over all time (for `open_now`).
    statuses: HashMap<String, i64>,
}

impl Tally {
    fn add(&mut self, kind: &str, k: String, n: i64) {
        let Some(kind) = PERIOD_KINDS.iter().find(|known| **known == kind) else {
            return;
        };
        *self.period.entry(kind).or_default().entry(k).or_default() += n;
    }

    fn total(&self, kind: &str) -> i64 {
        self.period
            .get(kind)
            .map_or(0, |values| values.values().sum())
    }

    /// The values of `kind` with a non-zero count, parsed by `parse`, in its order.
    fn values<K: Ord>(&self, kind: &str, parse: impl Fn(&str) -> Option<K>) -> BTreeMap<K, i64> {
        let mut out = BTreeMap::new();
        for (k, n) in self.period.get(kind).into_iter().flatten() {
            if *n != 0
                && let Some(key) = parse(k)
            {
                *out.entry(key).or_default() += n;
            }
        }
        out
    }
}

/// The whole UTC days inside `period`, as `[first, end)` day numbers, if there are any.
fn whole_days(period: Period) -> Option<(i64, i64)> {
    let first = (period.from + DAY - 1).div_euclid(DAY);
    let end = day_of(period.to);
    (first < end).then_some((first, end))
}

/// Nearest-rank percentile `p` (0..=100) of the durations counted in `histogram` (value →
/// how many).
fn percentile(histogram: &BTreeMap<i64, i64>, p: u32) -> Option<i64> {
    let count: i64 = histogram.values().sum();
    if count <= 0 {
        return None;
    }
    let rank = (i64::from(p) * count + 99).div_euclid(100).max(1);
    let mut seen = 0;
    for (value, n) in histogram {
        seen += n;
        if seen >= rank {
            return Some(*value);
        }
    }
    histogram.keys().next_back().copied()
}

fn spread(histogram: BTreeMap<i64, i64>) -> Spread {
    Spread {
        count: histogram.values().sum(),
        median: percentile(&histogram, 50),
        p90: percentile(&histogram, 90),
    }
}

/// The summary of `period` (see the module's notes for what each figure counts).
#[tracing::instrument(skip_all)]
pub async fn summary(store: &Store, period: Period) -> Result<Summary> {
    let mut conn = store.conn().await?;
    // One snapshot: the folded counts, the changes not folded and the edges agree.
    let mut snapshot = sqlx::Connection::begin(&mut *conn).await?;
    let clocks = Clocks::load(&mut snapshot).await?;
    let days = whole_days(period);
    let mut tally = Tally::default();

    if let Some(days) = days {
        for c in counts::sums(&mut snapshot, &PERIOD_KINDS, Some(days)).await? {
            tally.add(&c.kind, c.k, c.n);
        }
    }
    for c in counts::sums(&mut snapshot, &[kind::STATUS], None).await? {
        *tally.statuses.entry(c.k).or_default() += c.n;
    }
    for c in rollup::pending(&mut snapshot, &clocks).await?.into_counts() {
        if c.kind == kind::STATUS {
            *tally.statuses.entry(c.k.clone()).or_default() += c.n;
        }
        if days.is_some_and(|(first, end)| (first..end).contains(&c.day)) {
            tally.add(&c.kind, c.k, c.n);
        }
    }

    // The partial days at either end, exactly (the whole period when it has no whole day).
    let edges = match days {
        Some((first, end)) => vec![(period.from, first * DAY), (end * DAY, period.to)],
        None => vec![(period.from, period.to)],
    };
    for (from, to) in edges.into_iter().filter(|(from, to)| from < to) {
        let mut rows = counts::created_between(&mut snapshot, from, to);
        while let Some(t) = rows.try_next().await? {
            let Some(c) = Contribution::of(&t, &clocks)? else {
                continue;
            };
            for (kind, _, k) in c.keys() {
                if kind != kind::RESOLVED {
                    tally.add(kind, k, 1);
                }
            }
        }
        drop(rows);
        let resolved = queries::resolved(&mut snapshot, Period { from, to }).await?;
        tally.add(kind::RESOLVED, String::new(), resolved);
    }

    let id = |k: &str| Some((!k.is_empty()).then(|| k.parse::<i64>().ok()).flatten());
    let departments = tally.values(kind::DEPARTMENT, id);
    let agents = tally.values(kind::AGENT, id);
    let dept_ids: Vec<i64> = departments.keys().flatten().copied().collect();
    let agent_ids: Vec<i64> = agents.keys().flatten().copied().collect();
    let department_names = queries::department_names(&mut snapshot, &dept_ids).await?;
    let agent_names = queries::user_names(&mut snapshot, &agent_ids).await?;
    snapshot.rollback().await?;

    let named = |id: Option<i64>, names: &HashMap<i64, String>| {
        id.map(|id| Named {
            id,
            name: names.get(&id).cloned(),
        })
    };
    let duration = |k: &str| k.parse::<i64>().ok();
    let (with_policy, breached) = (tally.total(kind::POLICY), tally.total(kind::BREACHED));
    let open_now = tally
        .statuses
        .iter()
        .filter(|(status, _)| Status::parse(status).is_some_and(Status::is_open))
        .map(|(_, n)| n)
        .sum();
    Ok(Summary {
        from_at: time::rfc3339(period.from),
        to_at: time::rfc3339(period.to),
        tickets_created: tally.total(kind::CREATED),
        tickets_resolved: tally.total(kind::RESOLVED),
        open_now,
        first_response_seconds: spread(tally.values(kind::FIRST_RESPONSE, duration)),
        resolution_seconds: spread(tally.values(kind::RESOLUTION, duration)),
        sla: SlaFigures {
            tickets_with_policy: with_policy,
            breached,
            breach_rate: (with_policy > 0).then(|| breached as f64 / with_policy as f64),
        },
        by_status: tally
            .values(kind::STATUS, |k| Some(k.to_string()))
            .into_iter()
            .map(|(status, count)| StatusCount { status, count })
            .collect(),
        by_priority: tally
            .values(kind::PRIORITY, |k| k.parse::<i64>().ok())
            .into_iter()
            .map(|(rank, count)| PriorityCount {
                priority: Priority::from_rank(rank),
                count,
            })
            .collect(),
        by_department: departments
            .into_iter()
            .map(|(id, count)| DepartmentCount {
                department: named(id, &department_names),
                count,
            })
            .collect(),
        by_agent: agents
            .into_iter()
            .map(|(id, count)| AgentCount {
                agent: named(id, &agent_names),
                count,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(values: &[i64]) -> BTreeMap<i64, i64> {
        let mut h = BTreeMap::new();
        for v in values {
            *h.entry(*v).or_default() += 1;
        }
        h
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&histogram(&[]), 50), None);
        assert_eq!(percentile(&histogram(&[7]), 90), Some(7));
        assert_eq!(percentile(&histogram(&[4, 1, 3, 2]), 50), Some(2));
        let tens: Vec<i64> = (1..=10).map(|i| i * 10).collect();
        assert_eq!(percentile(&histogram(&tens), 90), Some(90));
        let elevens: Vec<i64> = (1..=11).collect();
        assert_eq!(percentile(&histogram(&elevens), 90), Some(10));
        assert_eq!(percentile(&histogram(&[5, 5, 5, 9]), 50), Some(5));
    }

    #[test]
    fn whole_days_are_the_days_inside_the_period() {
        let p = |from, to| Period { from, to };
        assert_eq!(whole_days(p(0, DAY)), Some((0, 1)));
        assert_eq!(whole_days(p(1, DAY)), None);
        assert_eq!(whole_days(p(1, 3 * DAY + 5)), Some((1, 3)));
        assert_eq!(whole_days(p(-DAY, 0)), Some((-1, 0)));
    }
}
