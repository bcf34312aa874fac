//! `GET /dashboard`.

use poem::web::Data as State;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    envelope::{Data, data},
    errors::ApiResult,
    security::Caller,
    ticket_resources::TicketSummary,
};
use crate::{app::AppState, domain::tickets::dashboard};

pub struct DashboardApi;

#[derive(Debug, Object)]
pub struct DashboardStats {
    /// Tickets not resolved or closed.
    pub open: i64,
    /// Open tickets assigned to the caller.
    pub assigned: i64,
    /// Open tickets assigned to nobody.
    pub unassigned: i64,
    /// Open tickets past an SLA target.
    pub sla_breached: i64,
    /// Tickets resolved since 00:00 UTC today.
    pub resolved_today: i64,
}

#[derive(Debug, Object)]
pub struct NeedsAttention {
    /// Up to 5 open tickets past an SLA target, newest first.
    pub sla_breaching: Vec<TicketSummary>,
    /// Up to 5 open, unassigned urgent or critical tickets, newest first.
    pub unassigned_urgent: Vec<TicketSummary>,
}

#[derive(Debug, Object)]
#[oai(rename = "Dashboard")]
pub struct DashboardResource {
    pub stats: DashboardStats,
    /// The 10 newest tickets.
    pub recent_tickets: Vec<TicketSummary>,
    pub needs_attention: NeedsAttention,
}

#[OpenApi(tag = "ApiTags::Dashboard")]
impl DashboardApi {
    /// Agent dashboard
    ///
    /// Requires `tickets:read`. Counts of open, assigned-to-me, unassigned, SLA-breached and
    /// resolved-today tickets, the newest tickets, and what needs attention.
    #[oai(path = "/dashboard", method = "get", operation_id = "dashboard.show")]
    async fn dashboard(
        &self,
        caller: Caller,
        state: State<&AppState>,
    ) -> ApiResult<Json<Data<DashboardResource>>> {
        let d = dashboard::load(&state.store, state.clock.now(), caller.0.user_id).await?;
        let summaries = |views: &[crate::domain::tickets::view::TicketView]| {
            views
                .iter()
                .map(|v| TicketSummary::new(v, &state.rules))
                .collect()
        };
        Ok(data(DashboardResource {
            stats: DashboardStats {
                open: d.open,
                assigned: d.assigned,
                unassigned: d.unassigned,
                sla_breached: d.sla_breached,
                resolved_today: d.resolved_today,
            },
            recent_tickets: summaries(&d.recent),
            needs_attention: NeedsAttention {
                sla_breaching: summaries(&d.sla_breaching),
                unassigned_urgent: summaries(&d.unassigned_urgent),
            },
        }))
    }
}
