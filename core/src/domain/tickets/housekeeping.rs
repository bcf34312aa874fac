//! The work of the scheduled jobs: SLA breaches and warnings, closing resolved tickets, purging
//! old activities. Each takes `now` as a value, so it can be run for any moment (and tested).
//! Every ticket changes in its own short transaction, re-checked under the row lock, so two
//! runs at once (by hand and by a server) still mark each breach once.

use serde_json::json;

use super::{Status, TicketRules, activity::Kind, editing::Editing};
use crate::{
    domain::events,
    error::Result,
    store::{
        Store, activities,
        sla::{self, Target},
    },
    time::{Timestamp, rfc3339_opt},
};

/// Tickets handled per query; a run loops until none are left.
const BATCH: i64 = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SlaReport {
    pub breaches: u64,
    pub warnings: u64,
}

/// Marks each target that fell due as breached (once, with `sla.breached`), and sends
/// `sla.warning` once for each target due within `warning_seconds`.
#[tracing::instrument(skip_all)]
pub async fn check_sla(
    store: &Store,
    rules: &TicketRules,
    now: Timestamp,
    warning_seconds: i64,
) -> Result<SlaReport> {
    let mut report = SlaReport::default();
    for target in [Target::FirstResponse, Target::Resolution] {
        loop {
            let ids = sla::due(&mut *store.conn().await?, target, now, BATCH).await?;
            for &id in &ids {
                if mark_breach(store, rules, id, target, now).await? {
                    report.breaches += 1;
                }
            }
            if (ids.len() as i64) < BATCH {
                break;
            }
        }
        loop {
            let ids = sla::nearly_due(
                &mut *store.conn().await?,
                target,
                now,
                now + warning_seconds,
                BATCH,
            )
            .await?;
            for &id in &ids {
                if warn(store, rules, id, target, now).await? {
                    report.warnings += 1;
                }
            }
            if (ids.len() as i64) < BATCH {
                break;
            }
        }
    }
    Ok(report)
}

async fn mark_breach(
    store: &Store,
    rules: &TicketRules,
    id: i64,
    target: Target,
    now: Timestamp,
) -> Result<bool> {
    let mut tx = store.begin().await?;
    let mut t = Editing::open_as_system(&mut tx, rules, id, now).await?;
    let row = &mut t.row;
    if row.sla_paused_at.is_some() {
        // Paused since the scan: not due while the clock stands still.
        return Ok(false);
    }
    let due_at = match target {
        Target::FirstResponse
            if row.first_response_breached == 0 && row.first_response_at.is_none() =>
        {
            row.first_response_breached = 1;
            row.first_response_due_at
        }
        Target::Resolution if row.resolution_breached == 0 && row.resolved_at.is_none() => {
            row.resolution_breached = 1;
            row.resolution_due_at
        }
        // Already marked, or met meanwhile.
        _ => return Ok(false),
    };
    row.sla_breached = 1;
    t.log(
        &mut tx,
        Kind::SlaBreached,
        json!({ "target": target.as_str(), "due_at": rfc3339_opt(due_at) }),
    )
    .await?;
    t.save(&mut tx).await?;
    tx.commit().await?;
    Ok(true)
}

async fn warn(
    store: &Store,
    rules: &TicketRules,
    id: i64,
    target: Target,
    now: Timestamp,
) -> Result<bool> {
    let mut tx = store.begin().await?;
    let t = Editing::open_as_system(&mut tx, rules, id, now).await?;
    if t.row.sla_paused_at.is_some() || !sla::mark_warned(&mut tx, id, target).await? {
        return Ok(false);
    }
    let due_at = match target {
        Target::FirstResponse => t.row.first_response_due_at,
        Target::Resolution => t.row.resolution_due_at,
    };
    events::record(
        &mut tx,
        "sla.warning",
        &t.row,
        json!({ "target": target.as_str(), "due_at": rfc3339_opt(due_at) }),
        now,
    );
    tx.commit().await?;
    Ok(true)
}

/// Closes tickets resolved more than `after_days` days before `now`; returns how many.
#[tracing::instrument(skip_all)]
pub async fn close_resolved(
    store: &Store,
    rules: &TicketRules,
    now: Timestamp,
    after_days: u32,
) -> Result<u64> {
    if after_days == 0 {
        return Ok(0);
    }
    let before = now - i64::from(after_days) * 86_400;
    let mut closed = 0;
    loop {
        let ids = sla::resolved_before(&mut *store.conn().await?, before, BATCH).await?;
        for &id in &ids {
            let mut tx = store.begin().await?;
            let mut t = Editing::open_as_system(&mut tx, rules, id, now).await?;
            if t.status() == Status::Resolved && t.set_status(&mut tx, Status::Closed).await? {
                t.save(&mut tx).await?;
                tx.commit().await?;
                closed += 1;
            }
        }
        if (ids.len() as i64) < BATCH {
            return Ok(closed);
        }
    }
}

/// Deletes activities older than `after_days` days; returns how many.
#[tracing::instrument(skip_all)]
pub async fn purge_activities(store: &Store, now: Timestamp, after_days: u32) -> Result<u64> {
    if after_days == 0 {
        return Ok(0);
    }
    let before = now - i64::from(after_days) * 86_400;
    let mut purged = 0;
    loop {
        let mut tx = store.begin().await?;
        let gone = activities::purge_before(&mut tx, before, 1000).await?;
        tx.commit().await?;
        purged += gone;
        if gone < 1000 {
            return Ok(purged);
        }
    }
}
