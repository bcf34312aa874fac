//! Ticket operations as transactions: [`edit`] runs any change on one ticket; the rest are
//! the operations that are more than a single [`Editing`] call.

use super::{Actor, TicketRules, activity, activity::Kind, editing::Editing};
use crate::{
    error::Result,
    store::{Store, Tx, tickets},
    time::Timestamp,
};

/// Locks the ticket `reference` (404 when there is none), runs `change` at `now` under `rules`,
/// saves the ticket and commits, all in one transaction; an error anywhere leaves nothing
/// written.
pub async fn edit<T>(
    store: &Store,
    (rules, now): (&TicketRules, Timestamp),
    actor: &Actor,
    reference: &str,
    change: impl AsyncFnOnce(&mut Editing, &mut Tx) -> Result<T>,
) -> Result<T> {
    edit_as(store, (rules, now), Some(actor), reference, change).await
}

/// [`edit`] for an optional actor: `None` is the system (plugins acting for nobody, jobs).
pub async fn edit_as<T>(
    store: &Store,
    (rules, now): (&TicketRules, Timestamp),
    actor: Option<&Actor>,
    reference: &str,
    change: impl AsyncFnOnce(&mut Editing, &mut Tx) -> Result<T>,
) -> Result<T> {
    let mut tx = store.begin().await?;
    let mut editing = Editing::open(&mut tx, rules, now, reference, actor).await?;
    let result = change(&mut editing, &mut tx).await?;
    editing.save(&mut tx).await?;
    tx.commit().await?;
    Ok(result)
}

/// Toggles the actor's follow at `now`; returns `(following, followers_count)`.
pub async fn toggle_follow(
    store: &Store,
    (rules, now): (&TicketRules, Timestamp),
    actor: &Actor,
    reference: &str,
) -> Result<(bool, i64)> {
    edit(store, (rules, now), actor, reference, async |t, tx| {
        let following = t.toggle_follow(tx).await?;
        let count = tickets::followers_count(tx, t.id()).await?;
        Ok((following, count))
    })
    .await
}

/// Soft-deletes at `now`: the ticket disappears from every read.
pub async fn delete(
    store: &Store,
    (rules, now): (&TicketRules, Timestamp),
    actor: &Actor,
    reference: &str,
) -> Result<()> {
    let mut tx = store.begin().await?;
    let editing = Editing::open(&mut tx, rules, now, reference, Some(actor)).await?;
    let id = editing.id();
    activity::record(
        &mut tx,
        id,
        Some(actor),
        Kind::Deleted,
        serde_json::json!({}),
        editing.now,
    );
    editing.emit(&mut tx, "ticket.deleted", serde_json::json!({}));
    tickets::soft_delete(&mut tx, id, editing.now).await?;
    tx.commit().await
}
