//! Changing many tickets in one request (`POST /tickets/bulk`, contract §9.3). Each operation
//! is one ticket's change in its own transaction, made by the same [`Editing`] rules and the
//! same macro run as the single endpoints, so a change is judged alike whichever way it comes.
//! An operation that fails leaves its ticket untouched and the others go on.

use super::{
    apply, macros,
    scripts::Scripts,
    tickets::{
        Actor, Priority, Status, TicketRules,
        editing::{Editing, existing_tags},
        operations::{self, Shown},
        view,
    },
};
use crate::{
    error::Result,
    store::{Store, Tx},
    time::Timestamp,
};

/// Most operations in one request.
pub const MAX_OPERATIONS: usize = 100;

/// What one operation changes on its ticket; `None` leaves a field alone.
#[derive(Debug, Default)]
pub struct Change {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    /// `Some(None)` unassigns.
    pub agent_id: Option<Option<i64>>,
    /// `Some(None)` takes the ticket out of its department.
    pub department_id: Option<Option<i64>>,
    pub add_tags: Vec<i64>,
    pub remove_tags: Vec<i64>,
    /// A macro the actor may use, applied first (as `POST /tickets/{reference}/macro` would),
    /// then the fields above.
    pub macro_id: Option<i64>,
}

/// Applies `change` to the ticket `reference` for `actor` (`user` as scripts see them) in one
/// transaction, and answers the ticket as it then is, read in that transaction.
#[tracing::instrument(name = "bulk_apply", skip_all)]
pub async fn apply(
    store: &Store,
    scripts: &Scripts,
    (rules, now): (&TicketRules, Timestamp),
    (actor, user): (&Actor, serde_json::Value),
    reference: &str,
    change: Change,
) -> Result<Shown> {
    let prepared = match change.macro_id {
        Some(id) => {
            // 404 for an unknown ticket before the macro is judged, as the single endpoint.
            view::exists(&mut *store.conn().await?, reference).await?;
            let (_, changes, run) =
                macros::prepare(store, scripts, (rules, now), (actor, user), reference, id).await?;
            Some((changes, run))
        }
        None => None,
    };
    let target = (reference, None);
    let (_, shown) = operations::edit_shown(
        store,
        (rules, now),
        actor,
        target,
        actor.user_id,
        async |t, tx| {
            if let Some((changes, run)) = &prepared {
                apply::apply_to(t, tx, changes, run).await?;
            }
            set_fields(t, tx, change).await
        },
    )
    .await?;
    Ok(shown)
}

/// The fields of `change`, each by the rule its single endpoint uses.
async fn set_fields(t: &mut Editing, tx: &mut Tx, change: Change) -> Result<()> {
    if let Some(status) = change.status {
        t.set_status(tx, status).await?;
    }
    if let Some(priority) = change.priority {
        t.set_priority(tx, priority).await?;
    }
    if let Some(agent) = change.agent_id {
        t.assign(tx, agent).await?;
    }
    if let Some(department) = change.department_id {
        t.set_department(tx, department).await?;
    }
    if !change.add_tags.is_empty() {
        let tags = existing_tags(tx, "add_tags", &change.add_tags).await?;
        t.add_tags(tx, &tags).await?;
    }
    if !change.remove_tags.is_empty() {
        let tags = existing_tags(tx, "remove_tags", &change.remove_tags).await?;
        t.remove_tags(tx, &tags).await?;
    }
    Ok(())
}
