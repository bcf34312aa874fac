//! The change feed (`GET /tickets/changes`): every ticket changed after a point of the change
//! sequence, in change order, each in its current state; deleted ones as tombstones.
//!
//! Every write transaction that changes a ticket stamps it with the next change number as it
//! commits (`store::Tx::commit`), and numbers become visible in order, so "after N" never
//! skips a change. A ticket changed again moves to its new number: a client that follows the
//! feed to its end holds the latest state of every ticket.

use std::collections::HashMap;

use super::view::{self, TicketView};
use crate::{
    error::Result,
    store::{
        Store,
        attachments::{self, AttachmentRow},
        tickets,
    },
};

/// Most tickets in one page of the feed.
pub const MAX_PER_PAGE: i64 = 1000;

/// One entry of the feed.
pub enum Change {
    /// A live ticket as `GET /tickets/{reference}` shows it, with its attachments.
    Ticket(Box<TicketView>, Vec<AttachmentRow>),
    Deleted {
        reference: String,
    },
}

/// Up to `limit` changes after change number `after`, and the number to resume from (the last
/// one's, or `after` when nothing changed since). A fixed number of queries for any page.
///
/// The page also stops before the ticket that would take its replies, notes and activities past
/// `max_entries` (never before its first ticket): what a page holds in memory is bounded by
/// that, not only by the number of tickets, and the next page goes on from there.
#[tracing::instrument(name = "change_feed", skip_all)]
pub async fn after(
    store: &Store,
    after: i64,
    (limit, max_entries): (i64, i64),
    viewer_id: i64,
) -> Result<(Vec<(i64, Change)>, i64)> {
    let mut conn = store.conn().await?;
    let mut rows = tickets::changed_after(&mut conn, after, limit).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let sizes = tickets::conversation_sizes(&mut conn, &ids).await?;
    let mut carried = 0;
    let fits = rows
        .iter()
        .position(|r| {
            carried += 1 + sizes.get(&r.id).copied().unwrap_or(0);
            carried > max_entries
        })
        .map_or(rows.len(), |past| past.max(1));
    rows.truncate(fits);
    let next = rows.last().map_or(after, |r| r.change_seq);
    let (deleted, live): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.deleted_at.is_some());
    let ids: Vec<i64> = live.iter().map(|r| r.id).collect();
    let mut files: HashMap<i64, Vec<AttachmentRow>> = HashMap::new();
    for file in attachments::of_tickets(&mut conn, &ids).await? {
        files
            .entry(file.ticket_id.unwrap_or(0))
            .or_default()
            .push(file);
    }
    let mut changes: Vec<(i64, Change)> = view::load_many(&mut conn, live, viewer_id)
        .await?
        .into_iter()
        .map(|v| {
            let mine = files.remove(&v.ticket.id).unwrap_or_default();
            (v.ticket.change_seq, Change::Ticket(Box::new(v), mine))
        })
        .collect();
    changes.extend(deleted.into_iter().map(|r| {
        (
            r.change_seq,
            Change::Deleted {
                reference: r.reference,
            },
        )
    }));
    changes.sort_by_key(|(seq, _)| *seq);
    Ok((changes, next))
}
