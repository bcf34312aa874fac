//! Scheduled jobs. `serve` runs each at its interval (`[jobs]`); `escalated jobs NAME` runs
//! one by hand, against the same database, even while servers are serving it. Every run takes
//! the job's lease first, so across any number of nodes a job runs on one of them at a time.

use std::{path::PathBuf, time::Duration};

use crate::{
    config::Config,
    domain::{
        attachments, automations, idempotency, reports,
        script_files::{self, Scripts},
        tickets::{TicketRules, housekeeping},
    },
    error::Result,
    store::{Store, jobs as leases},
    time::{Clock, Timestamp},
};

/// How long a lease lasts if its holder dies mid-run.
const LEASE_SECONDS: i64 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Job {
    /// Mark SLA breaches (once each) and send warnings before them.
    CheckSla,
    /// Close tickets resolved more than `tickets.auto_close_resolved_after_days` ago.
    CloseResolved,
    /// Delete activities older than `tickets.purge_activities_after_days`.
    PurgeActivities,
    /// Delete uploads never attached within 24 hours and the files of deleted tickets (each
    /// stored object once no attachment refers to it).
    PurgeAttachments,
    /// Run the active schedule automations over the open tickets (once per ticket per period).
    RunAutomations,
    /// Delete the kept answers of `Idempotency-Key` requests older than `api.idempotency_hours`.
    PurgeIdempotencyKeys,
    /// Fold the ticket changes made since its last run into the reports' rollup.
    RollUpReports,
}

impl Job {
    pub const ALL: [Job; 7] = [
        Job::CheckSla,
        Job::CloseResolved,
        Job::PurgeActivities,
        Job::PurgeAttachments,
        Job::RunAutomations,
        Job::PurgeIdempotencyKeys,
        Job::RollUpReports,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::CheckSla => "check-sla",
            Job::CloseResolved => "close-resolved",
            Job::PurgeActivities => "purge-activities",
            Job::PurgeAttachments => "purge-attachments",
            Job::RunAutomations => "run-automations",
            Job::PurgeIdempotencyKeys => "purge-idempotency-keys",
            Job::RollUpReports => "roll-up-reports",
        }
    }

    fn interval(self, config: &Config) -> u64 {
        match self {
            Job::CheckSla => config.jobs.check_sla_seconds,
            Job::CloseResolved => config.jobs.close_resolved_seconds,
            Job::PurgeActivities => config.jobs.purge_activities_seconds,
            Job::PurgeAttachments => config.jobs.purge_attachments_seconds,
            Job::RunAutomations => config.jobs.run_automations_seconds,
            Job::PurgeIdempotencyKeys => config.jobs.purge_idempotency_keys_seconds,
            Job::RollUpReports => config.jobs.roll_up_reports_seconds,
        }
    }

    /// Does the work for the moment `now`; returns a line for people.
    async fn work(
        self,
        store: &Store,
        scripts: &Scripts,
        rules: &TicketRules,
        config: &Config,
        now: Timestamp,
    ) -> Result<String> {
        Ok(match self {
            Job::CheckSla => {
                let warning = i64::from(config.sla.warning_minutes) * 60;
                let r = housekeeping::check_sla(store, rules, now, warning).await?;
                format!(
                    "{} breaches marked, {} warnings sent",
                    r.breaches, r.warnings
                )
            }
            Job::CloseResolved => {
                let days = config.tickets.auto_close_resolved_after_days;
                let n = housekeeping::close_resolved(store, rules, now, days).await?;
                format!("{n} resolved tickets closed")
            }
            Job::PurgeActivities => {
                let days = config.tickets.purge_activities_after_days;
                let n = housekeeping::purge_activities(store, now, days).await?;
                format!("{n} activities purged")
            }
            Job::PurgeAttachments => {
                let blobs = crate::blobs::Blobs::open(&config.attachments)?;
                let r = attachments::purge(store, &blobs, now).await?;
                format!(
                    "{} attachments purged, {} stored files deleted",
                    r.rows, r.objects
                )
            }
            Job::RunAutomations => {
                let n = automations::run_scheduled(store, scripts, rules, now).await?;
                format!("{n} automation applications")
            }
            Job::PurgeIdempotencyKeys => {
                let n = idempotency::purge(store, now, config.api.idempotency_hours).await?;
                format!("{n} idempotency keys purged")
            }
            Job::RollUpReports => {
                let n = reports::rollup::fold(store).await?;
                format!("{n} ticket changes folded into the report rollup")
            }
        })
    }
}

/// Runs `job` for `now` under its lease, outside a server (the CLI): with the rules of
/// `config`, a script runtime of its own and the script files as they are now. `None` when
/// another node holds the lease.
pub async fn run(
    job: Job,
    store: &Store,
    config: &Config,
    now: Timestamp,
) -> Result<Option<String>> {
    let rules = crate::app::ticket_rules(config)?;
    let scripts = Scripts::new(&config.scripts);
    if job == Job::RunAutomations {
        let (loader, dir) = (scripts.clone(), PathBuf::from(&config.scripts.dir));
        let files = tokio::task::spawn_blocking(move || script_files::load(&loader, &dir))
            .await
            .map_err(anyhow::Error::from)?;
        scripts.replace_files(files);
    }
    run_with(job, store, (&scripts, &rules), config, now, None).await
}

/// A scheduler's run of `job` for `now` with the server's script runtime (and so the script
/// files it keeps loaded): `None` when another node holds the lease or when a node already ran
/// it in this period (its interval in `config`), so across all nodes a job runs once per period.
pub async fn run_scheduled(
    job: Job,
    store: &Store,
    scripts: &Scripts,
    rules: &TicketRules,
    config: &Config,
    now: Timestamp,
) -> Result<Option<String>> {
    let next_due = now + i64::try_from(job.interval(config)).unwrap_or(i64::MAX / 2);
    run_with(job, store, (scripts, rules), config, now, Some(next_due)).await
}

async fn run_with(
    job: Job,
    store: &Store,
    (scripts, rules): (&Scripts, &TicketRules),
    config: &Config,
    now: Timestamp,
    next_due: Option<Timestamp>,
) -> Result<Option<String>> {
    let holder = leases::node();
    let taken = async {
        let mut tx = store.begin().await?;
        let got = leases::try_lease(
            &mut tx,
            job.name(),
            holder,
            (now, now + LEASE_SECONDS),
            next_due,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, crate::error::Error>(got)
    };
    match taken.await {
        Ok(true) => {}
        Ok(false) => return Ok(None),
        // Another node took it at the same moment: a deadlock over the lease row on MariaDB,
        // a lost certification on Galera. Either way that node runs it.
        Err(err) if err.is_conflict() => return Ok(None),
        Err(err) => return Err(err),
    }
    let outcome = job.work(store, scripts, rules, config, now).await;
    crate::metrics::job_run(job.name(), outcome.is_ok());
    let mut tx = store.begin().await?;
    leases::release(&mut tx, job.name(), holder).await?;
    tx.commit().await?;
    outcome.map(Some)
}

/// Starts one loop per job with a non-zero interval, each run at the moment `clock` says. They
/// stop with the runtime.
pub fn spawn_scheduler(
    store: Store,
    scripts: Scripts,
    rules: TicketRules,
    clock: Clock,
    config: std::sync::Arc<Config>,
) {
    for job in Job::ALL {
        let every = job.interval(&config);
        if every == 0 {
            continue;
        }
        let (store, scripts, rules, clock, config) = (
            store.clone(),
            scripts.clone(),
            rules.clone(),
            clock.clone(),
            config.clone(),
        );
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(every));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match run_scheduled(job, &store, &scripts, &rules, &config, clock.now()).await {
                    Ok(Some(summary)) => tracing::info!(job = job.name(), "{summary}"),
                    Ok(None) => tracing::debug!(
                        job = job.name(),
                        "another node holds the lease or ran it this period"
                    ),
                    Err(err) => tracing::warn!(job = job.name(), error = %err, "job failed"),
                }
            }
        });
    }
}
