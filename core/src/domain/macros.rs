//! Macros: a named bundle of ticket changes an agent applies in one go, written either as a
//! list of declarative actions ([`super::actions`]) or as a Rhai script. Shared macros are for
//! everyone; a personal one belongs to its creator and only they see it. Macros come from the
//! database (admin API) and from script files ([`super::script_files`]: shared, read-only,
//! negative ids).

use super::{
    Owner,
    actions::{self, Action, RawAction},
    script_files::{self, FileScript},
    tickets::{
        Actor, TicketRules,
        activity::Kind,
        apply::{self, Applied, Program, Run, named},
    },
    validate,
};
use crate::{
    error::{Error, FieldErrors, Result},
    scripting::{Entry, Scripts},
    store::{
        Store,
        macros::{self as db, MacroRow},
    },
    time::{self, Timestamp},
};

const MAX_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 1000;
const MAX_SCRIPT: usize = 65_535;
const MAX_ORDER: i64 = 1_000_000;

/// What a macro does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacroBody {
    Actions(Vec<Action>),
    /// Rhai source.
    Script(String),
}

impl MacroBody {
    /// `actions` or `script`.
    pub fn kind(&self) -> &'static str {
        match self {
            MacroBody::Actions(_) => "actions",
            MacroBody::Script(_) => "script",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Macro {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_shared: bool,
    /// The owner of a personal macro; `None` for a shared one.
    pub owner: Option<Owner>,
    pub order: i64,
    pub body: MacroBody,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The script file it comes from (`macros/x.rhai`); `None` for a database macro.
    pub file: Option<String>,
}

impl Macro {
    pub fn is_visible_to(&self, user_id: i64) -> bool {
        self.is_shared || self.owner.as_ref().is_some_and(|o| o.id == user_id)
    }
}

impl TryFrom<MacroRow> for Macro {
    type Error = Error;
    fn try_from(row: MacroRow) -> Result<Self> {
        let body = match (row.script, row.actions) {
            (Some(script), _) => MacroBody::Script(script),
            (None, Some(stored)) => MacroBody::Actions(actions::decode(&stored)?),
            (None, None) => MacroBody::Actions(Vec::new()),
        };
        Ok(Macro {
            id: row.id,
            name: row.name,
            description: row.description,
            is_shared: row.is_shared != 0,
            owner: row.user_id.map(|id| Owner {
                id,
                name: row.owner_name.unwrap_or_default(),
            }),
            order: row.sort_order,
            body,
            created_at: row.created_at,
            updated_at: row.updated_at,
            file: None,
        })
    }
}

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
    if creating || input.name.is_some() {
        let name = input.name.as_deref().unwrap_or_default();
        if let Some(name) = errors.check("name", validate::line("name", name, MAX_NAME)) {
            row.name = name;
        }
    }
    if let Some(description) = &input.description
        && let Some(description) = errors.check(
            "description",
            validate::optional("description", description.as_deref(), MAX_DESCRIPTION),
        )
    {
        row.description = description;
    }
    if let Some(order) = input.order
        && let Some(order) = errors.check(
            "order",
            validate::range("order", order, -MAX_ORDER, MAX_ORDER),
        )
    {
        row.sort_order = order;
    }
    match (&input.actions, &input.script) {
        (Some(_), Some(_)) => errors.add("actions", "Give either actions or script, not both."),
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
    match input.is_shared {
        Some(true) => {
            row.is_shared = 1;
            row.user_id = None;
        }
        // An admin editing someone's personal macro does not take it over.
        Some(false) if row.user_id.is_none() => {
            row.is_shared = 0;
            row.user_id = Some(actor);
        }
        _ => {}
    }
    Ok(())
}

fn vanished(id: i64) -> Error {
    Error::Internal(anyhow::anyhow!(
        "macro {id} vanished inside its transaction"
    ))
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

/// 404 for an unknown macro, 403 for one from a file, before a change is judged.
pub async fn writable(store: &Store, scripts: &Scripts, id: i64) -> Result<()> {
    script_files::refuse_change::<Macro>(scripts, id)?;
    find(store, scripts, id).await.map(drop)
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
    let id = db::insert(&mut tx, &row).await?;
    let created = db::find(&mut tx, id).await?.ok_or_else(|| vanished(id))?;
    tx.commit().await?;
    created.try_into()
}

pub async fn update(
    store: &Store,
    scripts: &Scripts,
    actor: i64,
    id: i64,
    input: MacroInput,
) -> Result<Macro> {
    script_files::refuse_change::<Macro>(scripts, id)?;
    let mut tx = store.begin().await?;
    let mut row = db::find(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("Macro"))?;
    apply(scripts, &mut row, input, actor, false)?;
    row.updated_at = time::now();
    db::update(&mut tx, &row).await?;
    let updated = db::find(&mut tx, id).await?.ok_or_else(|| vanished(id))?;
    tx.commit().await?;
    updated.try_into()
}

pub async fn delete(store: &Store, scripts: &Scripts, id: i64) -> Result<()> {
    script_files::refuse_change::<Macro>(scripts, id)?;
    let mut tx = store.begin().await?;
    if !db::delete(&mut tx, id).await? {
        return Err(Error::not_found("Macro"));
    }
    tx.commit().await
}

/// The macro `id`: from the files when negative, else from the database.
pub async fn find(store: &Store, scripts: &Scripts, id: i64) -> Result<Macro> {
    if id < 0 {
        return script_files::find(scripts, id);
    }
    let mut conn = store.conn().await?;
    db::find(&mut conn, id)
        .await?
        .ok_or_else(|| Error::not_found("Macro"))?
        .try_into()
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
        return Ok(script_files::find(scripts, id).ok());
    }
    let mut conn = store.conn().await?;
    match db::find(&mut conn, id).await? {
        Some(row) => {
            let found = Macro::try_from(row)?;
            Ok(found.is_visible_to(user_id).then_some(found))
        }
        None => Ok(None),
    }
}

/// A page of every macro: the file ones first (by file name), then the database's by id.
pub async fn page(
    store: &Store,
    scripts: &Scripts,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Macro>, i64)> {
    let files = scripts.files();
    script_files::merged_page(&files.macros, limit, offset, |limit, offset| async move {
        let mut conn = store.conn().await?;
        let (rows, total) = db::page(&mut conn, limit, offset).await?;
        let macros = rows
            .into_iter()
            .map(Macro::try_from)
            .collect::<Result<_>>()?;
        Ok((macros, total))
    })
    .await
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
pub async fn apply_to_ticket(
    store: &Store,
    scripts: &Scripts,
    (rules, now): (&TicketRules, Timestamp),
    (actor, user): (&Actor, serde_json::Value),
    reference: &str,
    macro_id: i64,
    dry_run: bool,
) -> Result<(Macro, Applied)> {
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
        dry_run,
        rules,
        now,
    };
    let applied = apply::apply(store, scripts, reference, program, run).await?;
    Ok((found, applied))
}
