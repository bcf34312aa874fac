//! The live event stream (Server-Sent Events) and how to subscribe to it.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use futures::{Stream, StreamExt};
use poem::web::{Data as State, sse::Event};
use poem_openapi::{
    Object, OpenApi,
    param::{Header, Query},
    payload::{EventStream, Json},
    types::ToJSON,
};
use tokio::sync::broadcast::{self, error::RecvError};

use super::{
    ApiTags,
    date_time::DateTime,
    envelope::{Data, data},
    errors::ApiResult,
    security::Caller,
};
use crate::{
    app::AppState,
    domain::{
        Store,
        events::{self, EVENT_NAMES, EventRow, envelope},
    },
};

pub struct RealtimeApi;

/// How to subscribe to the live event stream.
#[derive(Debug, Object)]
pub struct RealtimeConfig {
    /// Whether this server serves the stream.
    pub enabled: bool,
    /// Always `sse`: Server-Sent Events over plain HTTP.
    pub transport: String,
    /// Absolute URL of the stream; send the token as `Authorization: Bearer ...`.
    pub url: String,
    /// The event names it sends.
    pub events: Vec<String>,
    /// How to resume after a disconnect.
    pub resume: String,
}

/// One event as sent on the stream (`data:`) and to webhooks.
#[derive(Debug, Clone, Object)]
pub struct StreamEvent {
    /// Increasing; also the SSE `id:`.
    pub id: i64,
    /// The event name; also the SSE `event:`.
    #[oai(rename = "type")]
    pub kind: String,
    pub created_at: DateTime,
    /// `ticket` (a snapshot) and the change's own fields.
    pub data: serde_json::Value,
}

impl From<&EventRow> for StreamEvent {
    fn from(row: &EventRow) -> Self {
        let json = envelope(row);
        StreamEvent {
            id: row.id,
            kind: row.kind.clone(),
            created_at: DateTime(row.created_at),
            data: json["data"].clone(),
        }
    }
}

/// Events read from the outbox per query while catching up.
const CATCH_UP_BATCH: i64 = 500;

/// Catches up from the outbox after `last`, then follows the live broadcast, skipping what
/// was already sent and re-reading the outbox when it falls behind the broadcast.
fn follow(
    store: Store,
    live: broadcast::Receiver<Arc<EventRow>>,
    last: Option<i64>,
) -> impl Stream<Item = StreamEvent> + Send + 'static {
    struct Cursor {
        store: Store,
        live: broadcast::Receiver<Arc<EventRow>>,
        last: Option<i64>,
        backlog: VecDeque<EventRow>,
        catching_up: bool,
    }
    let cursor = Cursor {
        store,
        live,
        catching_up: last.is_some(),
        last,
        backlog: VecDeque::new(),
    };
    futures::stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(row) = c.backlog.pop_front() {
                c.last = Some(row.id);
                return Some((StreamEvent::from(&row), c));
            }
            if c.catching_up {
                let after = c.last.unwrap_or(0);
                let batch = match c.store.conn().await {
                    Ok(mut conn) => events::after(&mut conn, after, CATCH_UP_BATCH).await.ok()?,
                    Err(_) => return None,
                };
                c.catching_up = batch.len() as i64 == CATCH_UP_BATCH;
                c.backlog.extend(batch);
                continue;
            }
            match c.live.recv().await {
                Ok(row) if c.last.is_some_and(|last| row.id <= last) => continue,
                Ok(row) => {
                    c.last = Some(row.id);
                    return Some((StreamEvent::from(row.as_ref()), c));
                }
                Err(RecvError::Lagged(_)) => c.catching_up = true,
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

#[OpenApi(tag = "ApiTags::Realtime")]
impl RealtimeApi {
    /// Live event stream
    ///
    /// Requires `tickets:read`. Server-Sent Events: each event has `id:` (increasing),
    /// `event:` (its type) and `data:` (the event JSON, as webhooks receive it). Without a
    /// resume point the stream starts with the next event; with `Last-Event-ID` (or the
    /// `last_event_id` parameter) it first replays every later event, without gaps or
    /// duplicates. A comment is sent every 15 seconds to keep the connection open.
    #[oai(
        path = "/realtime/events",
        method = "get",
        operation_id = "realtime.events"
    )]
    async fn events(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        /// The id of the last event received; set by SSE clients when they reconnect.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<i64>>,
        /// The same as `Last-Event-ID`, for clients that cannot set headers.
        #[oai(name = "last_event_id")]
        last_event_id_param: Query<Option<i64>>,
    ) -> ApiResult<EventStream<futures::stream::BoxStream<'static, StreamEvent>>> {
        // Subscribe before reading the backlog, so nothing falls between the two.
        let live = state.events.subscribe();
        let last = last_event_id.0.or(last_event_id_param.0);
        let stream = follow(state.store.clone(), live, last).boxed();
        Ok(EventStream::new(stream)
            .keep_alive(Duration::from_secs(15))
            .to_event(|e| {
                Event::message(e.to_json_string())
                    .event_type(e.kind)
                    .id(e.id.to_string())
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
    async fn config(
        &self,
        _caller: Caller,
        state: State<&AppState>,
    ) -> ApiResult<Json<Data<RealtimeConfig>>> {
        let config = &state.config;
        Ok(data(RealtimeConfig {
            enabled: true,
            transport: "sse".into(),
            url: format!("{}{}/realtime/events", config.server.base_url(), config.api.prefix),
            events: EVENT_NAMES.iter().map(|e| e.to_string()).collect(),
            resume: "Reconnect with the Last-Event-ID header (or ?last_event_id=) set to the last id received."
                .into(),
        }))
    }
}
