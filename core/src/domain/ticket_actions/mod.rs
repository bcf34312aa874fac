//! Custom ticket actions: admin-defined buttons backed by a Rhai script that defines
//! `visible(ticket, user)`, `enabled(ticket, user)` and `run(ticket, user)`. A ticket lists the
//! visible ones (with `enabled`); running one applies what `run` records through the same path
//! as a macro. Actions come from the database (admin API) and from script files
//! ([`super::script_files`]: read-only, negative ids, keys `file:{file name}`).

use serde_json::Value;

pub use super::scripts::action_record::TicketAction;

use super::{
    admin::{self, AdminResource, AlsoFiles, Context, admin_kind},
    apply::{self, Applied, Program, Run},
    scripts::{self, ACTION_KEY_PREFIX, FileScript, Scripts},
    tickets::{Actor, TicketRules, script_view, view},
    unique_name, validate,
};
use crate::{
    error::{Error, FieldErrors, Result},
    scripting::{Entry, values},
    store::{
        Store, records,
        ticket_actions::{self as db, TicketActionRow},
    },
    time::{self, Timestamp},
};

pub const MAX_KEY: usize = 100;
pub const MAX_LABEL: usize = 255;
pub const MAX_SCRIPT: usize = 65_535;
/// The functions every action script defines, each taking `(ticket, user)`.
const FUNCTIONS: [&str; 3] = ["visible", "enabled", "run"];

/// The fields of an action; `None` leaves one alone (on create: required or default).
#[derive(Debug, Default)]
pub struct ActionInput {
    pub key: Option<String>,
    pub label: Option<String>,
    pub script: Option<String>,
    pub is_active: Option<bool>,
}

/// The rule of action keys (`[a-z0-9_-]`, 1 to 100 characters); also the rule of script file
/// names.
pub fn check_key(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_KEY {
        return Err(format!("The key must be 1 to {MAX_KEY} characters."));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err("The key may contain only a-z, 0-9, _ and -.".into());
    }
    Ok(value.to_string())
}

fn script(scripts: &Scripts, source: &str) -> Result<String, String> {
    let source = validate::body("script", source, MAX_SCRIPT)?;
    for name in FUNCTIONS {
        if !scripts.defines(&source, name, 2).map_err(|e| e.0)? {
            return Err(format!(
                "The script must define visible(ticket, user), enabled(ticket, user) and run(ticket, user); {name} is missing."
            ));
        }
    }
    Ok(source)
}

fn check(
    scripts: &Scripts,
    row: &mut TicketActionRow,
    input: ActionInput,
    creating: bool,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    let given = (
        input.key.as_deref(),
        input.label.as_deref(),
        input.script.as_deref(),
    );
    validate::set_text(
        &mut errors,
        "key",
        given.0,
        creating,
        check_key,
        &mut row.action_key,
    );
    let label = |l: &str| validate::line("label", l, MAX_LABEL);
    validate::set_text(
        &mut errors,
        "label",
        given.1,
        creating,
        label,
        &mut row.label,
    );
    let source = |s: &str| script(scripts, s);
    validate::set_text(
        &mut errors,
        "script",
        given.2,
        creating,
        source,
        &mut row.script,
    );
    if let Some(active) = input.is_active {
        row.is_active = i64::from(active);
    }
    errors.into_result()
}

fn key_taken() -> Error {
    Error::field("key", "The key has already been taken.")
}

fn blank_row(now: Timestamp) -> TicketActionRow {
    TicketActionRow {
        id: 0,
        action_key: String::new(),
        label: String::new(),
        script: String::new(),
        is_active: super::admin::ACTIVE_ON_CREATE.into(),
        created_at: now,
        updated_at: now,
    }
}

/// An action read from a script file (its key is the file name), checked by the same rules as
/// [`create`]; it is run by the key `file:{key}`.
pub fn from_file(scripts: &Scripts, file: &FileScript, input: ActionInput) -> Result<TicketAction> {
    let mut row = blank_row(file.modified);
    check(scripts, &mut row, input, true)?;
    let mut action = TicketAction::from(row);
    action.id = file.id;
    action.key = format!("{ACTION_KEY_PREFIX}{}", action.key);
    action.file = Some(file.path.clone());
    Ok(action)
}

impl AdminResource for TicketAction {
    admin_kind! { "Action": row TicketActionRow, origin AlsoFiles, input ActionInput }

    async fn create(cx: Context<'_>, input: ActionInput) -> Result<TicketAction> {
        let mut row = blank_row(time::now());
        check(cx.scripts, &mut row, input, true)?;
        let mut tx = cx.store.begin().await?;
        if records::taken::<TicketActionRow>(&mut tx, &row.action_key, 0).await? {
            return Err(key_taken());
        }
        row.id = records::insert(&mut tx, &row)
            .await
            .map_err(|e| unique_name(e).into_key())?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn update(cx: Context<'_>, id: i64, input: ActionInput) -> Result<TicketAction> {
        scripts::refuse_change::<TicketAction>(cx.scripts, id)?;
        let mut tx = cx.store.begin().await?;
        let mut row = admin::row::<TicketAction>(&mut tx, id).await?;
        check(cx.scripts, &mut row, input, false)?;
        if records::taken::<TicketActionRow>(&mut tx, &row.action_key, id).await? {
            return Err(key_taken());
        }
        row.updated_at = time::now();
        records::update(&mut tx, &row)
            .await
            .map_err(|e| unique_name(e).into_key())?;
        tx.commit().await?;
        Ok(row.into())
    }
}

trait IntoKey {
    fn into_key(self) -> Error;
}

impl IntoKey for Error {
    /// The unique-key refusal names `key` here, not `name`.
    fn into_key(self) -> Error {
        match self {
            Error::Validation(_) => key_taken(),
            other => other,
        }
    }
}

/// The active action `key`: a file one for `file:...`, else the database's.
async fn find_active(
    conn: &mut sqlx::AnyConnection,
    scripts: &Scripts,
    key: &str,
) -> Result<Option<TicketAction>> {
    if key.starts_with(ACTION_KEY_PREFIX) {
        return Ok(scripts
            .files()
            .action_by_key(key)
            .filter(|a| a.is_active)
            .cloned());
    }
    Ok(db::find_by_key(conn, key)
        .await?
        .filter(|row| row.is_active != 0)
        .map(TicketAction::from))
}

/// Asks `function` of the action's script about the ticket; a script error counts as `false`
/// (logged), so one broken action does not hide the others.
async fn ask(
    scripts: &Scripts,
    action: &TicketAction,
    function: &'static str,
    ticket: &Value,
    user: &Value,
) -> bool {
    let outcome = scripts
        .run(
            action.script.clone(),
            Entry::Function(function),
            values::to_map(ticket),
            values::to_map(user),
        )
        .await;
    match outcome {
        Ok(outcome) => outcome.value.as_bool().unwrap_or(false),
        Err(err) => {
            tracing::warn!(action = %action.key, function, error = %err, "custom action script failed");
            false
        }
    }
}

/// The active actions visible on the ticket `reference` to `user`, each with whether it is
/// enabled: the database's by label, then the files' by label.
pub async fn for_ticket(
    store: &Store,
    scripts: &Scripts,
    (rules, now): (&TicketRules, Timestamp),
    actor: &Actor,
    user: &Value,
    reference: &str,
) -> Result<Vec<(TicketAction, bool)>> {
    let mut conn = store.conn().await?;
    let ticket = script_view::ticket(
        &view::load(&mut conn, reference, actor.user_id).await?,
        rules,
        now,
    );
    let mut actions: Vec<TicketAction> = db::active(&mut conn)
        .await?
        .into_iter()
        .map(TicketAction::from)
        .collect();
    drop(conn);
    let mut files: Vec<TicketAction> = scripts
        .files()
        .actions
        .iter()
        .filter(|a| a.is_active)
        .cloned()
        .collect();
    files.sort_by(|a, b| a.label.cmp(&b.label));
    actions.extend(files);
    let mut visible = Vec::new();
    for action in actions {
        if ask(scripts, &action, "visible", &ticket, user).await {
            let enabled = ask(scripts, &action, "enabled", &ticket, user).await;
            visible.push((action, enabled));
        }
    }
    Ok(visible)
}

/// Runs the action `key` on the ticket `reference`: 404 when it is unknown, inactive or not
/// visible; 403 when it is not enabled; then `run` is applied like a macro (`Action failed.`).
#[tracing::instrument(name = "run_action", skip_all, fields(reference = %reference))]
pub async fn run(
    store: &Store,
    scripts: &Scripts,
    (rules, now): (&TicketRules, Timestamp),
    actor: &Actor,
    user: Value,
    (reference, expected): (&str, Option<&[i64]>),
    key: &str,
) -> Result<(TicketAction, Applied)> {
    let mut conn = store.conn().await?;
    let ticket = script_view::ticket(
        &view::load(&mut conn, reference, actor.user_id).await?,
        rules,
        now,
    );
    let action = find_active(&mut conn, scripts, key)
        .await?
        .ok_or_else(|| Error::not_found("Action"))?;
    drop(conn);
    if !ask(scripts, &action, "visible", &ticket, &user).await {
        return Err(Error::not_found("Action"));
    }
    if !ask(scripts, &action, "enabled", &ticket, &user).await {
        return Err(Error::Forbidden(
            "This action is not enabled for this ticket.",
        ));
    }
    let program = Program::Script {
        source: action.script.clone(),
        entry: Entry::Function("run"),
    };
    let run = Run {
        headline: "Action failed.",
        actor: Some(actor),
        user,
        activity: Some((
            super::tickets::activity::Kind::ActionRun,
            apply::named("action", action.id, &action.key),
        )),
        origin: None,
        dry_run: false,
        expected,
        rules,
        now,
    };
    let applied = apply::apply(store, scripts, reference, program, run).await?;
    Ok((action, applied))
}
