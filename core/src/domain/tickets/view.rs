//! The read model: tickets with their tags and followers, and for one ticket its conversation
//! and history, as typed values (the rows convert here, once; see [`super::ticket`]). Loading
//! a page costs a fixed number of queries, whatever its size.

use std::collections::HashMap;

use super::ticket::{Activity, Label, Reply, Ticket};
use crate::{
    error::{Error, Result},
    store::{
        activities, replies,
        tickets::{self, TicketRow},
    },
};

#[derive(Debug, Clone)]
pub struct TicketView {
    pub ticket: Ticket,
    pub tags: Vec<Label>,
    pub followers_count: i64,
    pub is_following: bool,
    /// Present on a single ticket, absent in lists.
    pub conversation: Option<Conversation>,
}

#[derive(Debug, Clone, Default)]
pub struct Conversation {
    pub replies: Vec<Reply>,
    pub activities: Vec<Activity>,
}

/// Adds tags and follower figures to rows: two queries for any number of rows.
#[tracing::instrument(skip_all, fields(tickets = rows.len()))]
pub async fn decorate(
    conn: &mut sqlx::AnyConnection,
    rows: Vec<TicketRow>,
    viewer_id: i64,
) -> Result<Vec<TicketView>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut tags: HashMap<i64, Vec<Label>> = HashMap::new();
    for t in tickets::tags_of(conn, &ids).await? {
        tags.entry(t.ticket_id).or_default().push(Label {
            id: t.id,
            name: t.name,
            color: t.color,
        });
    }
    let followers: HashMap<i64, (i64, bool)> = tickets::follower_stats(conn, &ids, viewer_id)
        .await?
        .into_iter()
        .map(|s| (s.ticket_id, (s.followers, s.following != 0)))
        .collect();
    rows.into_iter()
        .map(|row| {
            let (followers_count, is_following) =
                followers.get(&row.id).copied().unwrap_or_default();
            Ok(TicketView {
                tags: tags.remove(&row.id).unwrap_or_default(),
                followers_count,
                is_following,
                conversation: None,
                ticket: Ticket::try_from(row)?,
            })
        })
        .collect()
}

/// One ticket with everything: six queries.
#[tracing::instrument(name = "load_ticket", skip_all, fields(reference = %reference))]
pub async fn load(
    conn: &mut sqlx::AnyConnection,
    reference: &str,
    viewer_id: i64,
) -> Result<TicketView> {
    let row = tickets::find_by_reference(conn, reference)
        .await?
        .ok_or_else(|| Error::not_found("Ticket"))?;
    let id = row.id;
    let mut view = decorate(conn, vec![row], viewer_id)
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("Ticket"))?;
    view.conversation = Some(Conversation {
        replies: replies::of_ticket(conn, id)
            .await?
            .into_iter()
            .map(Reply::from)
            .collect(),
        activities: activities::of_ticket(conn, id)
            .await?
            .into_iter()
            .map(Activity::try_from)
            .collect::<Result<_>>()?,
    });
    Ok(view)
}

/// Several tickets with everything, as [`load`] shows one: a fixed number of queries for any
/// number of rows.
#[tracing::instrument(name = "load_tickets", skip_all, fields(tickets = rows.len()))]
pub async fn load_many(
    conn: &mut sqlx::AnyConnection,
    rows: Vec<TicketRow>,
    viewer_id: i64,
) -> Result<Vec<TicketView>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut replies_of: HashMap<i64, Vec<Reply>> = HashMap::new();
    for reply in replies::of_tickets(conn, &ids).await? {
        replies_of
            .entry(reply.ticket_id)
            .or_default()
            .push(Reply::from(reply));
    }
    let mut activities_of: HashMap<i64, Vec<Activity>> = HashMap::new();
    for activity in activities::of_tickets(conn, &ids).await? {
        activities_of
            .entry(activity.ticket_id)
            .or_default()
            .push(Activity::try_from(activity)?);
    }
    let mut views = decorate(conn, rows, viewer_id).await?;
    for view in &mut views {
        view.conversation = Some(Conversation {
            replies: replies_of.remove(&view.ticket.id).unwrap_or_default(),
            activities: activities_of.remove(&view.ticket.id).unwrap_or_default(),
        });
    }
    Ok(views)
}

/// `Ticket not found.` unless the ticket `reference` exists (and is not deleted).
pub async fn exists(conn: &mut sqlx::AnyConnection, reference: &str) -> Result<()> {
    tickets::find_by_reference(conn, reference)
        .await?
        .map(|_| ())
        .ok_or_else(|| Error::not_found("Ticket"))
}
