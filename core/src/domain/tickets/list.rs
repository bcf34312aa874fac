//! The ticket list: filters, sorting and pagination, checked before any SQL is built.

use super::{
    Priority, Status, TicketType, search,
    view::{self, TicketView},
};
use crate::{
    error::Result,
    store::{
        Store,
        tickets::{self, SortColumn, TicketFilter},
    },
};

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub department_id: Option<i64>,
    pub assigned_to: Option<i64>,
    pub unassigned: bool,
    pub ticket_type: Option<TicketType>,
    pub search: Option<String>,
    pub sla_breached: bool,
    pub following: bool,
    pub sort: Option<SortColumn>,
    pub descending: Option<bool>,
    pub limit: i64,
    pub offset: i64,
}

/// A page of ticket summaries and the total matching.
/// From this many matching tickets on, a search page walks the list order and probes the
/// matches rather than reading them all first: reading a match costs about as much as walking
/// ~10 rows, and with 2,000 or more matches a page end is found within a short walk.
const DENSE_SEARCH: i64 = 2_000;

pub async fn list(store: &Store, viewer_id: i64, q: &ListQuery) -> Result<(Vec<TicketView>, i64)> {
    let terms = match q.search.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(text) => Some(search::parse(text)?),
    };
    let mut filter = TicketFilter {
        status: q.status.map(|s| s.as_str().to_string()),
        priority: q.priority.map(Priority::rank),
        department_id: q.department_id,
        assignee_id: q.assigned_to,
        unassigned: q.unassigned,
        ticket_type: q.ticket_type.map(|t| t.as_str().to_string()),
        search: terms,
        sla_breached: q.sla_breached,
        followed_by: q.following.then_some(viewer_id),
        ..TicketFilter::default()
    };
    let mut conn = store.conn().await?;
    // Counting every matching row is the costliest statement of a page on a large table; the
    // total is reused until this node commits anything (see `Store::cached_count`).
    let total = store
        .cached_count(
            format!("tickets:{filter:?}"),
            tickets::count(&mut conn, &filter),
        )
        .await?;
    // The count also tells how a search page is cheapest to read (see `SearchPlan`).
    if let Some(search) = &mut filter.search {
        search.dense = total >= DENSE_SEARCH;
    }
    let rows = tickets::page(
        &mut conn,
        &filter,
        q.sort.unwrap_or(SortColumn::CreatedAt),
        q.descending.unwrap_or(true),
        q.limit,
        q.offset,
    )
    .await?;
    Ok((view::decorate(&mut conn, rows, viewer_id).await?, total))
}
