//! The agent dashboard: counts and short lists (contract §5, §8).

use super::{
    Priority,
    view::{self, TicketView},
};
use crate::{
    error::Result,
    store::{
        Store,
        keyset::Window,
        tickets::{self, SortColumn, TicketFilter},
    },
    time,
};

pub struct Dashboard {
    pub open: i64,
    pub assigned: i64,
    pub unassigned: i64,
    pub sla_breached: i64,
    pub resolved_today: i64,
    pub recent: Vec<TicketView>,
    pub sla_breaching: Vec<TicketView>,
    pub unassigned_urgent: Vec<TicketView>,
}

/// The dashboard of `viewer_id` at `now` (which day "today" is).
#[tracing::instrument(name = "load_dashboard", skip_all)]
pub async fn load(store: &Store, now: time::Timestamp, viewer_id: i64) -> Result<Dashboard> {
    let mut conn = store.conn().await?;
    let open = TicketFilter {
        open_only: true,
        ..TicketFilter::default()
    };
    let mine = TicketFilter {
        assignee_id: Some(viewer_id),
        ..open.clone()
    };
    let unassigned = TicketFilter {
        unassigned: true,
        ..open.clone()
    };
    let breached = TicketFilter {
        sla_breached: true,
        ..open.clone()
    };
    let resolved_today = TicketFilter {
        resolved_since: Some(time::start_of_day(now)),
        ..TicketFilter::default()
    };
    let urgent_unassigned = TicketFilter {
        min_priority: Some(Priority::Urgent.rank()),
        ..unassigned.clone()
    };
    let newest = async |conn: &mut sqlx::AnyConnection, filter: &TicketFilter, n: i64| {
        let first = Window::Offset {
            limit: n,
            offset: 0,
        };
        let mut rows = tickets::page(conn, filter, SortColumn::CreatedAt, true, &first).await?;
        // The page reads one row more, to tell whether more follow; not wanted here.
        rows.truncate(usize::try_from(n).unwrap_or(0));
        Ok::<_, crate::error::Error>(rows)
    };
    let recent = newest(&mut conn, &TicketFilter::default(), 10).await?;
    let sla_breaching = newest(&mut conn, &breached, 5).await?;
    let unassigned_urgent = newest(&mut conn, &urgent_unassigned, 5).await?;
    Ok(Dashboard {
        open: tickets::count(&mut conn, &open).await?,
        assigned: tickets::count(&mut conn, &mine).await?,
        unassigned: tickets::count(&mut conn, &unassigned).await?,
        sla_breached: tickets::count(&mut conn, &breached).await?,
        resolved_today: tickets::count(&mut conn, &resolved_today).await?,
        recent: view::decorate(&mut conn, recent, viewer_id).await?,
        sla_breaching: view::decorate(&mut conn, sla_breaching, viewer_id).await?,
        unassigned_urgent: view::decorate(&mut conn, unassigned_urgent, viewer_id).await?,
    })
}
