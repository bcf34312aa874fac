//! Macros and custom actions applied to one ticket: `POST /tickets/{reference}/macro`,
//! `GET /tickets/{reference}/actions`, `POST /tickets/{reference}/actions/{key}`.

use poem::web::Data as State;
use poem_openapi::{Object, param::Path, payload::Json};
use serde::Deserialize;

use super::{
    ApiTags,
    admin_macros::MacroAction,
    body::DeferredJson,
    conditional,
    envelope::{Changed, Data, changed, data},
    errors::ApiResult,
    security::Caller,
    ticket_resources::TicketResource,
    ticket_writes::{Write, ticket_writes},
};
use crate::{
    app::AppState,
    auth::Principal,
    domain::{
        actions::Action,
        apply::Applied,
        macros, ticket_actions,
        tickets::{TicketRules, script_view, view},
    },
};

pub struct TicketScriptsApi;

/// Whether applying a macro only shows its result when the body leaves `dry_run` out.
pub const DRY_RUN_BY_DEFAULT: bool = false;

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct ApplyMacroRequest {
    /// A macro the caller may use (shared, or their own).
    pub macro_id: i64,
    /// Answer as if applied (`data.ticket` shows the result) and write nothing.
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// The ticket after the changes, and the changes as `{type, value}`.
#[derive(Debug, Object)]
pub struct AppliedChanges {
    /// The full ticket as `GET /tickets/{reference}` shows it.
    pub ticket: TicketResource,
    pub changes: Vec<MacroAction>,
}

impl AppliedChanges {
    /// What a run applied, the ticket's allowed transitions under `rules`.
    fn new(applied: Applied, rules: &TicketRules) -> Self {
        AppliedChanges {
            ticket: TicketResource::new(applied.ticket, rules),
            changes: applied.changes.iter().map(change).collect(),
        }
    }
}

fn change(action: &Action) -> MacroAction {
    MacroAction {
        kind: action.action_type().as_str().to_string(),
        value: action.value(),
    }
}

/// A custom action as a ticket lists it.
#[derive(Debug, Object)]
pub struct TicketActionItem {
    /// What to run it by; `file:{file name}` for an action from a script file.
    pub key: String,
    pub label: String,
    /// Whether it may run now (`POST` answers 403 when not).
    pub enabled: bool,
}

/// The caller as scripts see it (`user`).
pub fn script_user(caller: &Principal) -> serde_json::Value {
    script_view::user(Some(&caller.actor()), &caller.name, &caller.email)
}

/// 404 for an unknown ticket, before the body is judged.
async fn existing(state: &AppState, reference: &str) -> crate::error::Result<()> {
    let mut conn = state.store.conn().await?;
    view::exists(&mut conn, reference).await
}

ticket_writes! {
    TicketScriptsApi (tag = "ApiTags::Tickets") {
        /// List the custom actions of a ticket
        ///
        /// Requires `tickets:read`. The active actions whose `visible(ticket, user)` is true for
        /// this ticket and caller, each with `enabled`: the database's by label, then those of
        /// script files (keys `file:{file name}`) by label.
        #[oai(
            path = "/tickets/:reference/actions",
            method = "get",
            operation_id = "ticket_actions.list"
        )]
        async fn actions(
            &self,
            caller: Caller,
            state: State<&AppState>,
            reference: Path<String>,
        ) -> ApiResult<Json<Data<Vec<TicketActionItem>>>> {
            let listed = ticket_actions::for_ticket(
                &state.store,
                &state.scripts,
                state.rules_now(),
                &caller.0.actor(),
                &script_user(&caller.0),
                &reference.0,
            )
            .await?;
            Ok(data(
                listed
                    .into_iter()
                    .map(|(a, enabled)| TicketActionItem {
                        key: a.key,
                        label: a.label,
                        enabled,
                    })
                    .collect(),
            ))
        }
    }
    if_match: [
        " An `ETag` of this ticket: apply only if it is still at that version; else 412"
        " `Precondition failed.` and nothing changes."
    ];

    /// Apply a macro
    ///
    /// Requires `tickets:write`. Applies every change of the macro (declarative actions or a
    /// Rhai script) in one transaction, with a `macro_applied` activity: all of it or none of
    /// it. An unknown or invisible `macro_id` is 422 on `macro_id`; a change the rules refuse, a
    /// script error or a script over a limit is 422 `Macro failed.` with `errors.script` (or
    /// the refused field). `dry_run: true` answers the same and writes nothing.
    apply_macro: "post" "/tickets/:reference/macro" "tickets.apply_macro",
        body DeferredJson<ApplyMacroRequest> => Changed<AppliedChanges> = apply_macro;

    /// Run a custom action on a ticket
    ///
    /// Requires `tickets:write`. 404 for an unknown, inactive or invisible action; 403 when it
    /// is not enabled. What `run(ticket, user)` records is applied in one transaction, like a
    /// macro; a refused change or a script error is 422 `Action failed.` and writes nothing.
    run_action: "post" "/tickets/:reference/actions/:key" "ticket_actions.run",
        path key: String => Changed<AppliedChanges> = run_action;
}

async fn apply_macro(
    write: Write<'_>,
    body: DeferredJson<ApplyMacroRequest>,
) -> ApiResult<Changed<AppliedChanges>> {
    let state = write.state;
    existing(state, write.reference).await?;
    let body = body.parse()?;
    let dry_run = body.dry_run.unwrap_or(DRY_RUN_BY_DEFAULT);
    let (found, applied) = macros::apply_to_ticket(
        &state.store,
        &state.scripts,
        state.rules_now(),
        (&write.actor(), script_user(write.caller)),
        write.target(),
        body.macro_id,
        dry_run,
    )
    .await?;
    let message = if dry_run {
        "Dry run: nothing was changed.".to_string()
    } else {
        format!("Macro \"{}\" applied.", found.name)
    };
    let etag = conditional::ticket(applied.version);
    Ok(changed(
        AppliedChanges::new(applied, &state.rules),
        &message,
        etag,
    ))
}

async fn run_action(write: Write<'_>, key: String) -> ApiResult<Changed<AppliedChanges>> {
    let state = write.state;
    let (action, applied) = ticket_actions::run(
        &state.store,
        &state.scripts,
        state.rules_now(),
        &write.actor(),
        script_user(write.caller),
        write.target(),
        &key,
    )
    .await?;
    let etag = conditional::ticket(applied.version);
    Ok(changed(
        AppliedChanges::new(applied, &state.rules),
        &format!("Action \"{}\" done.", action.label),
        etag,
    ))
}
