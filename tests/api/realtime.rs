//! The live event stream: Server-Sent Events from the outbox, in order, resumable.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::{both_databases, support::TestApp};

both_databases!(
    stream_sends_a_tickets_events_in_order,
    stream_resumes_after_last_event_id_without_gaps_or_duplicates,
    stream_resumes_after_the_last_event_id_query_parameter,
    a_refused_change_publishes_no_event,
    stream_needs_a_token_with_read_ability,
);

/// Reads SSE messages as `(id, event, data)` until `n` arrived (or 10 s passed).
async fn read_events(
    app: &TestApp,
    token: &str,
    last_event_id: Option<i64>,
    n: usize,
) -> Vec<(i64, String, Value)> {
    read(open_events(app, token, last_event_id).await, n).await
}

/// Opens the stream: once this returns, the server has subscribed it to new events.
async fn open_events(app: &TestApp, token: &str, last_event_id: Option<i64>) -> reqwest::Response {
    let mut req = app
        .client
        .get(app.url("/realtime/events"))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    subscribe(req).await
}

/// Like [`read_events`], resuming with `?last_event_id=` instead of the header.
async fn read_events_after(
    app: &TestApp,
    token: &str,
    last_event_id: i64,
    n: usize,
) -> Vec<(i64, String, Value)> {
    let url = app.url(&format!("/realtime/events?last_event_id={last_event_id}"));
    read(subscribe(app.client.get(url).bearer_auth(token)).await, n).await
}

/// Sends the stream's request; once the answer's headers are in, the server has subscribed it.
async fn subscribe(req: reqwest::RequestBuilder) -> reqwest::Response {
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    resp
}

/// Reads SSE messages from `resp` as `(id, event, data)` until `n` arrived (or 10 s passed).
async fn read(resp: reqwest::Response, n: usize) -> Vec<(i64, String, Value)> {
    let mut body = resp.bytes_stream();
    let mut buffer = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while out.len() < n {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("events arrive in time");
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap().unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                message
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            };
            if let (Some(id), Some(event), Some(data)) =
                (field("id:"), field("event:"), field("data:"))
            {
                out.push((
                    id.parse().unwrap(),
                    event,
                    serde_json::from_str(&data).unwrap(),
                ));
            }
        }
    }
    out
}

async fn stream_sends_a_tickets_events_in_order(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    // Subscribed before the writes (the answer's headers come after the subscription), so no
    // event can be written before the stream listens.
    let stream = open_events(&app, &token, None).await;
    let reader = read(stream, 3);
    let writer = async {
        let t = app.ticket(&token, "Live", json!({})).await;
        app.patch(
            &format!("/tickets/{}/status", t["reference"].as_str().unwrap()),
            &token,
            json!({"status": "resolved"}),
        )
        .await
        .expect(200);
    };
    let (events, ()) = tokio::join!(reader, writer);
    let kinds: Vec<&str> = events.iter().map(|(_, e, _)| e.as_str()).collect();
    assert_eq!(
        kinds,
        ["ticket.created", "ticket.status_changed", "ticket.updated"]
    );
    assert!(events.windows(2).all(|w| w[0].0 < w[1].0), "ids increase");
    let (id, kind, data) = &events[1];
    assert_eq!(data["id"], *id);
    assert_eq!(data["type"], *kind);
    assert_eq!(data["data"]["ticket"]["reference"], "ESC-00001");
    assert_eq!(data["data"]["old"], "open");
    assert_eq!(data["data"]["new"], "resolved");
    assert!(data["created_at"].as_str().unwrap().ends_with('Z'));
}

async fn stream_resumes_after_last_event_id_without_gaps_or_duplicates(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Resume", json!({})).await;
    let reference = t["reference"].as_str().unwrap();
    for body in ["one", "two", "three"] {
        app.post(
            &format!("/tickets/{reference}/reply"),
            &token,
            json!({"body": body}),
        )
        .await
        .expect(201);
    }
    // 1 created + 3 × (reply.created, ticket.updated) = 7 events in the outbox.
    let all = read_events(&app, &token, Some(0), 7).await;
    let ids: Vec<i64> = all.iter().map(|e| e.0).collect();
    let resumed = read_events(&app, &token, Some(ids[2]), 4).await;
    assert_eq!(
        resumed.iter().map(|e| e.0).collect::<Vec<_>>(),
        ids[3..].to_vec()
    );
    assert_eq!(resumed[0].1, all[3].1);
}

async fn stream_resumes_after_the_last_event_id_query_parameter(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Resume by query", json!({})).await;
    let reference = t["reference"].as_str().unwrap();
    app.post(
        &format!("/tickets/{reference}/reply"),
        &token,
        json!({"body": "one"}),
    )
    .await
    .expect(201);
    // ticket.created, reply.created, ticket.updated.
    let all = read_events(&app, &token, Some(0), 3).await;
    let resumed = read_events_after(&app, &token, all[0].0, 2).await;
    assert_eq!(
        resumed.iter().map(|e| e.0).collect::<Vec<_>>(),
        [all[1].0, all[2].0],
        "the events after the one named, and no other"
    );
}

async fn a_refused_change_publishes_no_event(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Quiet", json!({})).await;
    let before = app.scalar("SELECT COUNT(*) FROM events").await;
    app.post(
        &format!("/tickets/{}/tags", t["reference"].as_str().unwrap()),
        &token,
        json!({"tag_ids": [404]}),
    )
    .await
    .expect(422);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM events").await, before);
}

async fn stream_needs_a_token_with_read_ability(app: TestApp) {
    let resp = app
        .client
        .get(app.url("/realtime/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let (_, writer_only) = app.agent(&["tickets:write"]).await;
    let resp = app
        .client
        .get(app.url("/realtime/events"))
        .bearer_auth(writer_only)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}
