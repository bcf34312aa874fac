//! The one apply path of macros, script macros, custom actions and automations: a list of
//! [`Action`]s applied in order to one ticket, in one transaction, through [`Editing`], so a
//! change looks the same whoever asks for it. Any refused change (or a script that fails) ends
//! the run with nothing written. A dry run does everything, reads the result, and rolls back.

use serde_json::{Value, json};

use super::{
    actions::{Action, AgentRef},
    scripts::Scripts,
    tags::DEFAULT_COLOR,
    tickets::{
        Actor, TicketRules, activity::Kind, editing::Editing, script_view, view, view::TicketView,
    },
};
use crate::{
    error::{Error, FieldErrors, Result},
    scripting::{Entry, values},
    store::{Store, Tx, tags, ticket_links::TagRef, tickets::TicketRow, users},
    time::Timestamp,
};

/// What to apply: a declarative list, or a script whose recorded calls become one.
#[derive(Debug, Clone)]
pub enum Program {
    Actions(Vec<Action>),
    Script { source: String, entry: Entry },
}

/// Who runs it and how it is recorded.
pub struct Run<'a> {
    /// The headline of a failure: `Macro failed.`, `Action failed.`, ...
    pub headline: &'static str,
    /// The acting user; `None` is the system.
    pub actor: Option<&'a Actor>,
    /// The acting user as scripts see it (`user`).
    pub user: Value,
    /// The activity that records the run itself (e.g. `macro_applied {macro: {id, name}}`).
    pub activity: Option<(Kind, Value)>,
    /// Joined to the events of the run (see [`Editing::origin`]).
    pub origin: Option<Value>,
    /// Answer as if applied, and write nothing.
    pub dry_run: bool,
    /// Apply only when the ticket is at one of these versions (a client's `If-Match`).
    pub expected: Option<&'a [i64]>,
    /// What the changes are judged by (the server's).
    pub rules: &'a TicketRules,
    pub now: Timestamp,
}

/// The ticket after the run (as `GET /tickets/{reference}` shows it) and what was applied.
pub struct Applied {
    pub ticket: TicketView,
    pub changes: Vec<Action>,
    /// The ticket's version after the run (unchanged by a dry run).
    pub version: i64,
}

/// A refused change under `headline`, keeping its field messages.
pub fn rejected(headline: &str, err: Error) -> Error {
    match err {
        Error::Validation(errors) => Error::Rejected {
            message: headline.to_string(),
            errors,
        },
        other => other,
    }
}

/// A script problem under `headline`, as `errors.script`.
pub fn script_failed(headline: &str, message: impl Into<String>) -> Error {
    let mut errors = FieldErrors::new();
    errors.add("script", message);
    Error::Rejected {
        message: headline.to_string(),
        errors,
    }
}

/// Runs `entry` of a script against the ticket `reference` as it is now; the script's value
/// and the changes it recorded, checked for shape.
#[tracing::instrument(name = "run_script", skip_all)]
pub async fn evaluate(
    store: &Store,
    scripts: &Scripts,
    reference: &str,
    source: String,
    entry: Entry,
    run: &Run<'_>,
) -> Result<(rhai::Dynamic, Vec<Action>)> {
    let viewer = run.actor.map_or(0, |a| a.user_id);
    let view = view::load(&mut *store.conn().await?, reference, viewer).await?;
    let ticket = values::to_map(&script_view::ticket(&view, run.rules, run.now));
    let user = values::to_map(&run.user);
    let outcome = scripts
        .run(source, entry, ticket, user)
        .await
        .map_err(|err| script_failed(run.headline, err.0))?;
    let mut changes = Vec::with_capacity(outcome.changes.len());
    for raw in outcome.changes {
        let action = Action::parse(&raw.kind, &raw.value).map_err(|err| {
            let message = match err {
                super::actions::ActionError::Type(m) | super::actions::ActionError::Value(m) => m,
            };
            script_failed(run.headline, format!("{}(): {message}", raw.kind))
        })?;
        changes.push(action);
    }
    Ok((outcome.value, changes))
}

/// Applies `program` to the ticket `reference` in one transaction (see the module doc).
pub async fn apply(
    store: &Store,
    scripts: &Scripts,
    reference: &str,
    program: Program,
    run: Run<'_>,
) -> Result<Applied> {
    let changes = changes_of(store, scripts, reference, program, &run).await?;
    apply_changes(store, reference, changes, run).await
}

/// The checked changes `program` makes to the ticket `reference` (a script is evaluated now,
/// against the ticket as it is).
pub async fn changes_of(
    store: &Store,
    scripts: &Scripts,
    reference: &str,
    program: Program,
    run: &Run<'_>,
) -> Result<Vec<Action>> {
    Ok(match program {
        Program::Actions(list) => list,
        Program::Script { source, entry } => {
            evaluate(store, scripts, reference, source, entry, run)
                .await?
                .1
        }
    })
}

/// Applies checked changes to the ticket `reference` in one transaction.
pub async fn apply_changes(
    store: &Store,
    reference: &str,
    changes: Vec<Action>,
    run: Run<'_>,
) -> Result<Applied> {
    let mut tx = store.begin().await?;
    let mut t = Editing::open(&mut tx, run.rules, run.now, reference, run.actor).await?;
    t.expect(run.expected)?;
    apply_to(&mut t, &mut tx, &changes, &run).await?;
    let found = t.save(&mut tx).await?.change_seq;
    let viewer = run.actor.map_or(0, |a| a.user_id);
    // The view shows the history, which a transaction writes at commit.
    tx.write_history().await?;
    let version = if run.dry_run {
        found
    } else {
        tx.stamp_changes().await?
    };
    let ticket = view::load(&mut tx, reference, viewer).await?;
    if !run.dry_run {
        tx.commit().await?;
    }
    // A dry run's transaction is dropped here: rolled back, its events never written.
    Ok(Applied {
        ticket,
        changes,
        version,
    })
}

/// Applies checked `changes` to the open ticket `t`, recorded as `run` says (its activity and
/// origin): a refused change is `run.headline` with the refusal's field messages.
#[tracing::instrument(skip_all)]
pub async fn apply_to(
    t: &mut Editing,
    tx: &mut Tx,
    changes: &[Action],
    run: &Run<'_>,
) -> Result<()> {
    t.origin = run.origin.clone();
    for action in changes {
        change(t, tx, action)
            .await
            .map_err(|err| rejected(run.headline, err))?;
    }
    if let Some((kind, properties)) = &run.activity {
        t.log(tx, *kind, properties.clone()).await?;
    }
    Ok(())
}

/// One change, through the rule that governs it.
async fn change(t: &mut Editing, tx: &mut Tx, action: &Action) -> Result<()> {
    match action {
        Action::SetStatus(status) => {
            t.set_status(tx, *status).await?;
        }
        Action::SetPriority(priority) => {
            t.set_priority(tx, *priority).await?;
        }
        Action::SetType(kind) => {
            t.set_type(tx, *kind).await?;
        }
        Action::Assign(AgentRef::Id(id)) => {
            t.assign(tx, Some(*id)).await?;
        }
        Action::Assign(AgentRef::Email(email)) => {
            let Some(user) = users::find_by_email(tx, email).await? else {
                return Err(Error::field(
                    "agent_id",
                    format!("No user has the email {email}."),
                ));
            };
            t.assign(tx, Some(user.id)).await?;
        }
        Action::Unassign => {
            t.assign(tx, None).await?;
        }
        Action::SetDepartment(id) => {
            t.set_department(tx, Some(*id)).await?;
        }
        Action::AddTag(name) => {
            let tag = tag_named(tx, name, t.now).await?;
            t.add_tags(tx, &[tag]).await?;
        }
        Action::RemoveTag(name) => {
            if let Some(tag) = tags::find_by_name(tx, name).await? {
                let tag = TagRef {
                    id: tag.id,
                    name: tag.name,
                    color: tag.color,
                };
                t.remove_tags(tx, &[tag]).await?;
            }
        }
        Action::AddReply(text) => {
            let body = render(text, &t.row);
            t.reply(tx, &body, false).await?;
        }
        Action::AddNote(text) => {
            let body = render(text, &t.row);
            t.reply(tx, &body, true).await?;
        }
        Action::Follow => t.follow(tx).await?,
    }
    Ok(())
}

/// The tag called `name`, created (default colour) when no tag has that name.
async fn tag_named(tx: &mut Tx, name: &str, now: Timestamp) -> Result<TagRef> {
    let row = match tags::find_by_name(tx, name).await? {
        Some(row) => row,
        None => {
            let id = tags::insert(tx, name, DEFAULT_COLOR, now).await?;
            return Ok(TagRef {
                id,
                name: name.to_string(),
                color: DEFAULT_COLOR.to_string(),
            });
        }
    };
    Ok(TagRef {
        id: row.id,
        name: row.name,
        color: row.color,
    })
}

/// Fills `{{reference}}`, `{{subject}}`, `{{requester.name}}`, `{{requester.email}}`,
/// `{{assignee.name}}`, `{{status}}` and `{{priority}}` from the ticket as it is at that point
/// of the run; other text is left as written.
pub fn render(text: &str, row: &TicketRow) -> String {
    if !text.contains("{{") {
        return text.to_string();
    }
    let priority = super::tickets::Priority::from_rank(row.priority).as_str();
    let fields = [
        ("reference", row.reference.as_str()),
        ("subject", row.subject.as_str()),
        ("requester.name", row.requester_name.as_str()),
        ("requester.email", row.requester_email.as_str()),
        ("assignee.name", row.assignee_name.as_deref().unwrap_or("")),
        ("status", row.status.as_str()),
        ("priority", priority),
    ];
    let mut out = text.to_string();
    for (name, value) in fields {
        for pattern in [format!("{{{{{name}}}}}"), format!("{{{{ {name} }}}}")] {
            out = out.replace(&pattern, value);
        }
    }
    out
}

/// `{macro: {id, name}}`-style properties naming what ran.
pub fn named(key: &str, id: i64, name: &str) -> Value {
    json!({ key: { "id": id, "name": name } })
}
