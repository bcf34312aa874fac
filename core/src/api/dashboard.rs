//! `GET /dashboard` and `GET /realtime/config`.

use poem::web::Data as State;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    envelope::{Data, data},
    errors::ApiResult,
    security::Caller,
    ticket_resources::TicketSummary,
};
use crate::{
    app::AppState,
    domain::{events::EVENT_NAMES, tickets::dashboard},
};

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
pub struct DashboardResource {
    pub stats: DashboardStats,
    /// The 10 newest tickets.
    pub recent_tickets: Vec<TicketSummary>,
    pub needs_attention: NeedsAttention,
}

/// How to subscribe to the live event stream.
#[derive(Debug, Object)]
pub struct RealtimeConfig {
    /// Whether this server serves the stream.
    pub enabled: bool,
    pub transport: String,
    /// Absolute URL of the stream.
    pub url: String,
    /// The event names it sends.
    pub events: Vec<String>,
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
        let d = dashboard::load(&state.store, caller.0.user_id).await?;
        let summaries = |views: &[crate::domain::tickets::view::TicketView]| {
            views.iter().map(TicketSummary::from).collect()
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

    /// Live event stream configuration
    ///
    /// Requires `tickets:read`. Where and how to subscribe to the Server-Sent Events stream.
    #[oai(
        path = "/realtime/config",
        method = "get",
        operation_id = "realtime.config"
    )]
    async fn realtime(
        &self,
        _caller: Caller,
        state: State<&AppState>,
    ) -> ApiResult<Json<Data<RealtimeConfig>>> {
        let config = &state.config;
        Ok(data(RealtimeConfig {
            // The stream itself arrives with the event bus (issue 6); until then it is off.
            enabled: false,
            transport: "sse".into(),
            url: format!(
                "{}{}/realtime/events",
                config.server.base_url(),
                config.api.prefix
            ),
            events: EVENT_NAMES.iter().map(|e| e.to_string()).collect(),
        }))
    }
}
