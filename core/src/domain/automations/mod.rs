//! Automations: a Rhai script run as the system, either on a schedule over the open tickets
//! (`trigger: "schedule"`, at most once per ticket per `interval_minutes`) or on each event of
//! one name (`trigger: "ticket.created"`, ...). What the script records is applied through the
//! one apply path; recording nothing means the ticket does not match.
//!
//! Automations come from the database (admin API) and from script files
//! ([`super::script_files`]: read-only, negative ids). A file automation's runs are recorded
//! under its id, which stays the same while the file keeps its name.
//!
//! Loops are impossible: the events of an automation's changes carry
//! `origin: {automations: [ids]}` (the chain of automations that led to them), and an event
//! never triggers an automation already in its chain.

use std::collections::HashMap;

use serde_json::{Value, json};

pub use super::scripts::automation_record::Automation;

use super::{
    admin::{self, AdminResource, AlsoFiles, Context, admin_kind},
    apply::{self, Run},
    events,
    scripts::{self, FileScript, Scripts},
    tickets::{TicketRules, activity::Kind, script_view},
    validate,
};
use crate::{
    error::{FieldErrors, Result},
    scripting::Entry,
    store::{
        Store,
        automations::{self as db, AutomationRow},
        events::EventRow,
        is_unique_violation, records,
    },
    time::{self, Clock, Timestamp},
};

pub const MAX_SCRIPT: usize = 65_535;
/// The trigger of time-based automations.
pub const SCHEDULE: &str = "schedule";
/// Longest period of a scheduled automation: a week.
pub const MAX_INTERVAL: i64 = 10_080;
/// How long runs are remembered: past the longest period, after which no period can repeat
/// (and past any event still being handled).
const KEEP_RUNS: i64 = (MAX_INTERVAL + 24 * 60) * 60;
/// Tickets read per query by the scheduled run.
const BATCH: i64 = 200;

/// The fields of an automation; `None` leaves one alone (on create: required or default).
#[derive(Debug, Default)]
pub struct AutomationInput {
    pub name: Option<String>,
    pub script: Option<String>,
    pub trigger: Option<String>,
    pub interval_minutes: Option<i64>,
    pub is_active: Option<bool>,
}

fn trigger(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value == SCHEDULE || events::is_event_name(value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "The trigger must be schedule or one of: {}.",
            events::EVENT_NAMES.join(", ")
        ))
    }
}

fn check(
    scripts: &Scripts,
    row: &mut AutomationRow,
    input: AutomationInput,
    creating: bool,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    let name = |n: &str| validate::line("name", n, validate::MAX_NAME);
    validate::set_text(
        &mut errors,
        "name",
        input.name.as_deref(),
        creating,
        name,
        &mut row.name,
    );
    let compiled = |source: &str| {
        validate::body("script", source, MAX_SCRIPT)
            .and_then(|s| scripts.compile(&s).map(|_| s).map_err(|e| e.0))
    };
    let given = input.script.as_deref();
    validate::set_text(
        &mut errors,
        "script",
        given,
        creating,
        compiled,
        &mut row.script,
    );
    let given = input.trigger.as_deref();
    validate::set_text(
        &mut errors,
        "trigger",
        given,
        creating,
        trigger,
        &mut row.trigger_on,
    );
    if let Some(minutes) = input.interval_minutes {
        // Out of range is wrong whatever the trigger (the document states one range).
        let range = validate::range("interval_minutes", minutes, 1, MAX_INTERVAL);
        row.interval_minutes = errors.check("interval_minutes", range);
    }
    if row.trigger_on == SCHEDULE {
        match row.interval_minutes {
            Some(m) if (1..=MAX_INTERVAL).contains(&m) => {}
            _ => errors.add(
                "interval_minutes",
                format!(
                    "The interval_minutes field is required for a schedule, from 1 to {MAX_INTERVAL}."
                ),
            ),
        }
    } else if !row.trigger_on.is_empty() {
        // Only a schedule has a period.
        row.interval_minutes = None;
    }
    if let Some(active) = input.is_active {
        row.is_active = i64::from(active);
    }
    errors.into_result()
}

fn blank_row(now: Timestamp) -> AutomationRow {
    AutomationRow {
        id: 0,
        name: String::new(),
        script: String::new(),
        trigger_on: String::new(),
        interval_minutes: None,
        is_active: super::admin::ACTIVE_ON_CREATE.into(),
        created_at: now,
        updated_at: now,
    }
}

/// An automation read from a script file, checked by the same rules as [`create`].
pub fn from_file(
    scripts: &Scripts,
    file: &FileScript,
    input: AutomationInput,
) -> Result<Automation> {
    let mut row = blank_row(file.modified);
    check(scripts, &mut row, input, true)?;
    let mut automation = Automation::from(row);
    automation.id = file.id;
    automation.file = Some(file.path.clone());
    Ok(automation)
}

impl AdminResource for Automation {
    admin_kind! { "Automation": row AutomationRow, origin AlsoFiles, input AutomationInput }

    async fn create(cx: Context<'_>, input: AutomationInput) -> Result<Automation> {
        let mut row = blank_row(time::now());
        check(cx.scripts, &mut row, input, true)?;
        let mut tx = cx.store.begin().await?;
        row.id = records::insert(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn update(cx: Context<'_>, id: i64, input: AutomationInput) -> Result<Automation> {
        scripts::refuse_change::<Automation>(cx.scripts, id)?;
        let mut tx = cx.store.begin().await?;
        let mut row = admin::row::<Automation>(&mut tx, id).await?;
        check(cx.scripts, &mut row, input, false)?;
        row.updated_at = time::now();
        records::update(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(row.into())
    }
}

/// The active automations with `trigger`: the database's by id, then the files' by name.
async fn active(store: &Store, scripts: &Scripts, trigger: &str) -> Result<Vec<Automation>> {
    let mut automations: Vec<Automation> = db::active(&mut *store.conn().await?, trigger)
        .await?
        .into_iter()
        .map(Automation::from)
        .collect();
    automations.extend(scripts.files().active_automations(trigger).cloned());
    Ok(automations)
}

/// Runs the automation's script on the ticket `reference` as the system and applies what it
/// records; `chain` is the automations that led here (this one is added). `Ok(false)` when the
/// script recorded nothing (no match).
async fn apply_to(
    store: &Store,
    scripts: &Scripts,
    rules: &TicketRules,
    automation: &Automation,
    reference: &str,
    chain: &[i64],
    now: Timestamp,
) -> Result<bool> {
    let mut automations = chain.to_vec();
    automations.push(automation.id);
    let run = Run {
        headline: "Automation failed.",
        actor: None,
        user: script_view::user(None, "", ""),
        activity: Some((
            Kind::AutomationApplied,
            apply::named("automation", automation.id, &automation.name),
        )),
        origin: Some(json!({ "automations": automations })),
        dry_run: false,
        expected: None,
        rules,
        now,
    };
    let (_, changes) = apply::evaluate(
        store,
        scripts,
        reference,
        automation.script.clone(),
        Entry::Main,
        &run,
    )
    .await?;
    if changes.is_empty() {
        return Ok(false);
    }
    apply::apply_changes(store, reference, changes, run).await?;
    Ok(true)
}

/// The scheduled job's work at `now`: every active schedule automation over the open tickets
/// it has not applied to in its current period. A failing script is logged and counts as
/// applied for the period, so it is not retried on every run. Returns the applications made.
#[tracing::instrument(skip_all)]
pub async fn run_scheduled(
    store: &Store,
    scripts: &Scripts,
    rules: &TicketRules,
    now: Timestamp,
) -> Result<u64> {
    {
        let mut tx = store.begin().await?;
        db::forget_runs(&mut tx, now - KEEP_RUNS).await?;
        tx.commit().await?;
    }
    let automations = active(store, scripts, SCHEDULE).await?;
    let mut applied = 0;
    for automation in automations {
        let Some(minutes) = automation.interval_minutes.filter(|m| *m > 0) else {
            continue;
        };
        let period = now.div_euclid(minutes * 60);
        let mut after = 0;
        loop {
            let batch = db::due_tickets(
                &mut *store.conn().await?,
                automation.id,
                period,
                after,
                BATCH,
            )
            .await?;
            let Some(&(last, _)) = batch.last() else {
                break;
            };
            after = last;
            for (ticket_id, reference) in &batch {
                let ran = match apply_to(store, scripts, rules, &automation, reference, &[], now)
                    .await
                {
                    Ok(ran) => ran,
                    Err(err) => {
                        tracing::warn!(automation = automation.id, ticket = %reference, error = %err, "automation failed");
                        true
                    }
                };
                if ran {
                    let mut tx = store.begin().await?;
                    db::record_run(&mut tx, automation.id, *ticket_id, period, now).await?;
                    tx.commit().await?;
                    applied += 1;
                }
            }
            if (batch.len() as i64) < BATCH {
                break;
            }
        }
    }
    Ok(applied)
}

/// The automations in the chain that caused an event (`data.origin.automations`).
fn chain_of(data: &Value) -> Vec<i64> {
    data.pointer("/origin/automations")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

/// Claims the run of `automation` on `event` for this node: a run row with the period
/// `-event.id` (scheduled periods are positive), which only one node can insert.
async fn claim(
    store: &Store,
    automation: &Automation,
    event: &EventRow,
    now: Timestamp,
) -> Result<bool> {
    let Some(ticket_id) = event.ticket_id else {
        return Ok(false);
    };
    let mut tx = store.begin().await?;
    match db::record_run(&mut tx, automation.id, ticket_id, -event.id, now).await {
        Ok(()) => tx.commit().await.map(|_| true),
        Err(err) if is_unique_violation(&err) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Runs the event-driven automations of each event in turn (see [`on_event`]); which
/// automations are active is read once per event type in the batch. Failures are logged: an
/// event has no one to answer to.
#[tracing::instrument(name = "automations_on_events", skip_all, fields(events = events.len()))]
pub async fn on_events(
    store: &Store,
    scripts: &Scripts,
    (rules, clock): (&TicketRules, &Clock),
    events: &[EventRow],
) {
    let mut active_by_kind: HashMap<&str, Vec<Automation>> = HashMap::new();
    for event in events {
        if !active_by_kind.contains_key(event.kind.as_str()) {
            match active(store, scripts, &event.kind).await {
                Ok(found) => {
                    active_by_kind.insert(&event.kind, found);
                }
                Err(err) => {
                    tracing::warn!(event = event.id, error = %err, "reading the automations of an event failed");
                    continue;
                }
            }
        }
        let automations = &active_by_kind[event.kind.as_str()];
        if let Err(err) = on_event(store, scripts, rules, clock.now(), event, automations).await {
            tracing::warn!(event = event.id, error = %err, "automations of an event failed");
        }
    }
}

/// Runs `automations` (the active ones triggered by `event`) on its ticket, skipping those
/// already in the chain that caused it.
async fn on_event(
    store: &Store,
    scripts: &Scripts,
    rules: &TicketRules,
    now: Timestamp,
    event: &EventRow,
    automations: &[Automation],
) -> Result<()> {
    if automations.is_empty() {
        return Ok(());
    }
    let data: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    let Some(reference) = data.pointer("/ticket/reference").and_then(Value::as_str) else {
        return Ok(());
    };
    let chain = chain_of(&data);
    for automation in automations {
        if chain.contains(&automation.id) || !claim(store, automation, event, now).await? {
            continue;
        }
        if let Err(err) = apply_to(store, scripts, rules, automation, reference, &chain, now).await
        {
            tracing::warn!(automation = automation.id, event = event.id, ticket = %reference, error = %err, "automation failed");
        }
    }
    Ok(())
}
