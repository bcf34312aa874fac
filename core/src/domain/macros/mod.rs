//! Macros: a named bundle of ticket changes an agent applies in one go, written either as a
//! list of declarative actions ([`super::actions`]) or as a Rhai script. Shared macros are for
//! everyone; a personal one belongs to its creator and only they see it. Macros come from the
//! database (admin API) and from script files ([`super::script_files`]: shared, read-only,
//! negative ids).

pub use super::scripts::macro_record::{Macro, MacroBody};

use super::{
    actions::{self, Action, RawAction},
    admin::{self, AdminResource, AlsoFiles, Context, admin_kind},
    apply::{self, Applied, Program, Run, named},
    scripts::{self, FileScript, Scripts},
    share,
    tickets::{Actor, TicketRules, activity::Kind},
    validate,
};
use crate::{
    error::{Error, FieldErrors, Result},
    scripting::Entry,
    store::{
        Store,
        macros::{self as db, MacroRow},
        records,
    },
    time::{self, Timestamp},
};

pub const MAX_SCRIPT: usize = 65_535;
pub const MAX_ORDER: i64 = 1_000_000;

/// The fields of a macro; `None` leaves a field alone (on create: its default). Exactly one
/// of `actions` and `script` on create; on update, giving one replaces what the macro does.
#[derive(Debug, Default)]
pub struct MacroInput {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_shared: Option<bool>,
    pub order: Option<i64>,
    pub actions: Option<Vec<RawAction>>,
    pub script: Option<String>,
}

/// Checks the input onto `row`; `actor` becomes the owner when the macro turns personal.
fn apply(
    scripts: &Scripts,
    row: &mut MacroRow,
    input: MacroInput,
    actor: i64,
    creating: bool,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    let given = (input.name.as_deref(), &input.description);
    let (name, description) = (&mut row.name, &mut row.description);
    validate::set_name_and_description(&mut errors, given, creating, name, description);
    if let Some(order) = input.order
        && let Some(order) = errors.check(
            "order",
            validate::range("order", order, -MAX_ORDER, MAX_ORDER),
        )
    {
        row.sort_order = order;
    }
    match (&input.actions, &input.script) {
        (Some(_), Some(script)) => {
            errors.add("actions", "Give either actions or script, not both.");
            // Named too when it breaks its own rule, so one answer names every field.
            errors.check("script", validate::body("script", script, MAX_SCRIPT));
        }
        (None, None) if creating => errors.add("actions", "Give either actions or script."),
        (None, None) => {}
        (Some(raw), None) => {
            if let Some(list) = actions::parse_list(&mut errors, "actions", raw) {
                row.actions = Some(actions::encode(&list));
                row.script = None;
            }
        }
        (None, Some(script)) => {
            let script = validate::body("script", script, MAX_SCRIPT).and_then(|script| {
                scripts.compile(&script).map_err(|err| err.0)?;
                Ok(script)
            });
            if let Some(script) = errors.check("script", script) {
                row.script = Some(script);
                row.actions = None;
            }
        }
    }
    errors.into_result()?;
    share(input.is_shared, actor, &mut row.is_shared, &mut row.user_id);
    Ok(())
}

fn blank_row(now: Timestamp) -> MacroRow {
    MacroRow {
        id: 0,
        name: String::new(),
        description: None,
        is_shared: 1,
        user_id: None,
        owner_name: None,
        sort_order: 0,
        actions: None,
        script: None,
        created_at: now,
        updated_at: now,
    }
}

/// A macro read from a script file, checked by the same rules as [`create`].
pub fn from_file(scripts: &Scripts, file: &FileScript, input: MacroInput) -> Result<Macro> {
    let mut row = blank_row(file.modified);
    apply(scripts, &mut row, input, 0, true)?;
    let mut found = Macro::try_from(row)?;
    found.id = file.id;
    found.file = Some(file.path.clone());
    Ok(found)
}

impl AdminResource for Macro {
    admin_kind! { "Macro": row MacroRow, origin AlsoFiles, input MacroInput }

    async fn create(cx: Context<'_>, input: MacroInput) -> Result<Macro> {
        create(cx.store, cx.scripts, cx.actor, input).await
    }

    /// A personal macro keeps its owner; a shared one made personal becomes the actor's.
    async fn update(cx: Context<'_>, id: i64, input: MacroInput) -> Result<Macro> {
        scripts::refuse_change::<Macro>(cx.scripts, id)?;
        let mut tx = cx.store.begin().await?;
        let mut row = admin::row::<Macro>(&mut tx, id).await?;
        apply(cx.scripts, &mut row, input, cx.actor, false)?;
        row.updated_at = time::now();
        let updated = admin::update_and_read(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(updated)
    }
}

/// Creates a macro; a personal one belongs to `actor`.
pub async fn create(
    store: &Store,
    scripts: &Scripts,
    actor: i64,
    input: MacroInput,
) -> Result<Macro> {
    let mut row = blank_row(time::now());
    apply(scripts, &mut row, input, actor, true)?;
    let mut tx = store.begin().await?;
    let id = records::insert(&mut tx, &row).await?;
    let created = admin::reread::<Macro>(&mut tx, id).await?;
    tx.commit().await?;
    created.try_into()
}

/// The macro if `user_id` may use it (shared, or their own); `None` otherwise.
pub async fn find_visible(
    store: &Store,
    scripts: &Scripts,
    user_id: i64,
    id: i64,
) -> Result<Option<Macro>> {
    if id < 0 {
        // File macros are shared.
        return Ok(scripts::find(scripts, id).ok());
    }
    let mut conn = store.conn().await?;
    match records::find::<MacroRow>(&mut conn, id).await? {
        Some(row) => {
            let found = Macro::try_from(row)?;
            Ok(found.is_visible_to(user_id).then_some(found))
        }
        None => Ok(None),
    }
}

/// The shared macros (file ones included) and `user_id`'s own, by `order`; within one order
/// the database's by name, then the files' by name.
pub async fn visible_to(store: &Store, scripts: &Scripts, user_id: i64) -> Result<Vec<Macro>> {
    let mut conn = store.conn().await?;
    let mut macros = db::visible_to(&mut conn, user_id)
        .await?
        .into_iter()
        .map(Macro::try_from)
        .collect::<Result<Vec<_>>>()?;
    let mut files = scripts.files().macros.clone();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    macros.extend(files);
    // Stable: each source keeps its own order within one `order`.
    macros.sort_by_key(|m| m.order);
    Ok(macros)
}

/// Applies the macro `macro_id` (one the actor may use; otherwise 422 on `macro_id`) to the
/// ticket `reference` in one transaction, recording `macro_applied`. A refused change or a
/// failing script is 422 `Macro failed.` and writes nothing; `dry_run` writes nothing either.
/// `user` is the actor as scripts see it.
#[tracing::instrument(name = "apply_macro", skip_all, fields(reference = %reference))]
pub async fn apply_to_ticket(
    store: &Store,
    scripts: &Scripts,
    (rules, now): (&TicketRules, Timestamp),
    (actor, user): (&Actor, serde_json::Value),
    (reference, expected): (&str, Option<&[i64]>),
    macro_id: i64,
    dry_run: bool,
) -> Result<(Macro, Applied)> {
    let (found, changes, mut run) = prepare(
        store,
        scripts,
        (rules, now),
        (actor, user),
        reference,
        macro_id,
    )
    .await?;
    run.dry_run = dry_run;
    run.expected = expected;
    let applied = apply::apply_changes(store, reference, changes, run).await?;
    Ok((found, applied))
}

/// The macro `macro_id` as the actor may apply it to the ticket `reference` (otherwise 422 on
/// `macro_id`): the macro, its changes (a script evaluated now, against the ticket as it is)
/// and the run that records it, for [`apply::apply_changes`] or [`apply::apply_to`].
pub async fn prepare<'a>(
    store: &Store,
    scripts: &Scripts,
    (rules, now): (&'a TicketRules, Timestamp),
    (actor, user): (&'a Actor, serde_json::Value),
    reference: &str,
    macro_id: i64,
) -> Result<(Macro, Vec<Action>, Run<'a>)> {
    let Some(found) = find_visible(store, scripts, actor.user_id, macro_id).await? else {
        return Err(Error::field("macro_id", validate::invalid("macro_id")));
    };
    let program = match &found.body {
        MacroBody::Actions(list) => Program::Actions(list.clone()),
        MacroBody::Script(source) => Program::Script {
            source: source.clone(),
            entry: Entry::Main,
        },
    };
    let run = Run {
        headline: "Macro failed.",
        actor: Some(actor),
        user,
        activity: Some((Kind::MacroApplied, named("macro", found.id, &found.name))),
        origin: None,
        dry_run: false,
        expected: None,
        rules,
        now,
    };
    let changes = apply::changes_of(store, scripts, reference, program, &run).await?;
    Ok((found, changes, run))
}
