//! Ticket operations as transactions: [`edit`] runs any change on one ticket; the rest are
//! the operations that are more than a single [`Editing`] call.

use super::{Actor, TicketRules, activity, activity::Kind, editing::Editing, view};
use crate::{
    domain::attachments,
    error::Result,
    store::{Store, Tx, attachments::AttachmentRow, tickets},
    time::Timestamp,
};

/// The ticket as a write leaves it, read inside the write's transaction before it commits
/// (contract §9.1: a write that committed is never answered with an error, which a second
/// read after the commit could be).
pub struct Shown {
    pub view: view::TicketView,
    pub files: Vec<AttachmentRow>,
    /// Its new version (`change_seq`, the ETag).
    pub version: i64,
}

/// Reads the ticket `reference` back inside `tx` for `viewer`, with its history written and
/// its new version taken (see [`Tx::stamp_changes`]).
#[tracing::instrument(skip_all, fields(reference = %reference))]
pub async fn shown(tx: &mut Tx, reference: &str, viewer: i64) -> Result<Shown> {
    tx.write_history().await?;
    let version = tx.stamp_changes().await?;
    let view = view::load(tx, reference, viewer).await?;
    let files = attachments::of_ticket(tx, view.ticket.id).await?;
    Ok(Shown {
        view,
        files,
        version,
    })
}

/// [`edit`] for a client's request: the write goes ahead only when the ticket is at one of
/// `expected` (its `If-Match`, when given), and answers what `change` returned with the ticket
/// as it now is for `viewer`, read before the commit.
pub async fn edit_shown<T>(
    store: &Store,
    rules_now: (&TicketRules, Timestamp),
    actor: &Actor,
    target: (&str, Option<&[i64]>),
    viewer: i64,
    change: impl AsyncFnOnce(&mut Editing, &mut Tx) -> Result<T>,
) -> Result<(T, Shown)> {
    let reference = target.0;
    edit_checked(store, rules_now, actor, target, change, async |tx| {
        shown(tx, reference, viewer).await
    })
    .await
}

/// [`edit_shown`] answering only the ticket's new version.
pub async fn edit_versioned<T>(
    store: &Store,
    rules_now: (&TicketRules, Timestamp),
    actor: &Actor,
    target: (&str, Option<&[i64]>),
    change: impl AsyncFnOnce(&mut Editing, &mut Tx) -> Result<T>,
) -> Result<(T, i64)> {
    edit_checked(store, rules_now, actor, target, change, async |tx| {
        tx.stamp_changes().await
    })
    .await
}

#[tracing::instrument(skip_all, fields(reference = %reference))]
async fn edit_checked<T, A>(
    store: &Store,
    (rules, now): (&TicketRules, Timestamp),
    actor: &Actor,
    (reference, expected): (&str, Option<&[i64]>),
    change: impl AsyncFnOnce(&mut Editing, &mut Tx) -> Result<T>,
    answer: impl AsyncFnOnce(&mut Tx) -> Result<A>,
) -> Result<(T, A)> {
    let mut tx = store.begin().await?;
    let mut editing = Editing::open(&mut tx, rules, now, reference, Some(actor)).await?;
    editing.expect(expected)?;
    let result = change(&mut editing, &mut tx).await?;
    editing.save(&mut tx).await?;
    let answer = answer(&mut tx).await?;
    tx.commit().await?;
    Ok((result, answer))
}

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
#[tracing::instrument(skip_all, fields(reference = %reference))]
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

/// Toggles the actor's follow at `now` if the ticket is at one of `expected` (when given);
/// returns `(following, followers_count, new version)`.
pub async fn toggle_follow(
    store: &Store,
    (rules, now): (&TicketRules, Timestamp),
    actor: &Actor,
    target: (&str, Option<&[i64]>),
) -> Result<(bool, i64, i64)> {
    let ((following, count), version) =
        edit_versioned(store, (rules, now), actor, target, async |t, tx| {
            let following = t.toggle_follow(tx).await?;
            let count = tickets::followers_count(tx, t.id()).await?;
            Ok((following, count))
        })
        .await?;
    Ok((following, count, version))
}

/// Soft-deletes at `now` if the ticket is at one of `expected` (when given): the ticket
/// disappears from every read.
#[tracing::instrument(skip_all, fields(reference = %reference))]
pub async fn delete(
    store: &Store,
    (rules, now): (&TicketRules, Timestamp),
    actor: &Actor,
    (reference, expected): (&str, Option<&[i64]>),
) -> Result<()> {
    let mut tx = store.begin().await?;
    let editing = Editing::open(&mut tx, rules, now, reference, Some(actor)).await?;
    editing.expect(expected)?;
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
