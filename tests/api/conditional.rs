//! `ETag`, `If-None-Match` and `If-Match` (contract §9.3) on tickets and admin items.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    both_databases,
    support::{Reply, TestApp},
};

both_databases!(
    a_ticket_answers_a_stable_etag_and_304_while_it_is_current,
    a_write_with_the_current_version_answers_the_next_one,
    a_stale_if_match_is_412_on_every_ticket_write_and_changes_nothing,
    of_two_writers_holding_one_version_exactly_one_writes,
    a_write_answers_what_a_read_after_it_shows,
    admin_items_answer_etags_304_and_412,
);

/// A request with the bearer `token`, one more `header`, and a JSON `body` when given.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    header: (&str, &str),
    body: Option<Value>,
) -> Reply {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str()), header];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    app.raw(method, &app.url(path), &headers, &body).await
}

fn etag(reply: &Reply) -> String {
    reply
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag (status {}): {}", reply.status, reply.body))
        .to_string()
}

fn reference(ticket: &Value) -> String {
    ticket["reference"].as_str().unwrap().to_string()
}

async fn a_ticket_answers_a_stable_etag_and_304_while_it_is_current(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let created = app
        .post(
            "/tickets/create",
            &token,
            json!({"subject": "Tagged", "description": "d"}),
        )
        .await
        .expect(201);
    let at_creation = etag(&created);
    let path = format!("/tickets/{}", reference(created.data()));
    let read = app.get(&path, &token).await.expect(200);
    assert_eq!(
        etag(&read),
        at_creation,
        "the create answered the version GET shows"
    );
    assert!(at_creation.starts_with("W/\""), "{at_creation}");
    assert_eq!(etag(&app.get(&path, &token).await), at_creation, "stable");

    let cached = send(
        &app,
        Method::GET,
        &path,
        &token,
        ("if-none-match", &at_creation),
        None,
    )
    .await
    .expect(304);
    assert_eq!(cached.body, Value::String(String::new()), "304 has no body");
    assert_eq!(etag(&cached), at_creation);
    // A list of tags, one of them current, and `*` are current too; another version is not.
    let listed = format!("\"999999\", {at_creation}");
    send(
        &app,
        Method::GET,
        &path,
        &token,
        ("if-none-match", &listed),
        None,
    )
    .await
    .expect(304);
    send(
        &app,
        Method::GET,
        &path,
        &token,
        ("if-none-match", "W/\"999999\""),
        None,
    )
    .await
    .expect(200);

    app.post(&format!("{path}/reply"), &token, json!({"body": "hi"}))
        .await
        .expect(201);
    let after = send(
        &app,
        Method::GET,
        &path,
        &token,
        ("if-none-match", &at_creation),
        None,
    )
    .await
    .expect(200);
    assert_ne!(etag(&after), at_creation, "a reply is a new version");
    assert_eq!(after.data()["replies"].as_array().unwrap().len(), 1);
}

async fn a_write_with_the_current_version_answers_the_next_one(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let ticket = app.ticket(&token, "Versions", json!({})).await;
    let path = format!("/tickets/{}", reference(&ticket));
    let first = etag(&app.get(&path, &token).await);
    let changed = send(
        &app,
        Method::PATCH,
        &format!("{path}/status"),
        &token,
        ("if-match", &first),
        Some(json!({"status": "in_progress"})),
    )
    .await
    .expect(200);
    let second = etag(&changed);
    assert_ne!(second, first);
    assert_eq!(etag(&app.get(&path, &token).await), second);
    // `*` accepts any version of a ticket that exists.
    let starred = send(
        &app,
        Method::POST,
        &format!("{path}/follow"),
        &token,
        ("if-match", "*"),
        Some(json!({})),
    )
    .await
    .expect(200);
    let third = etag(&starred);
    assert_ne!(third, second, "a follow is a new version");
    assert_eq!(etag(&app.get(&path, &token).await), third);
    // A reply answers its ticket's new version too.
    let replied = send(
        &app,
        Method::POST,
        &format!("{path}/reply"),
        &token,
        ("if-match", &third),
        Some(json!({"body": "On it."})),
    )
    .await
    .expect(201);
    assert_eq!(etag(&app.get(&path, &token).await), etag(&replied));
}

async fn a_stale_if_match_is_412_on_every_ticket_write_and_changes_nothing(app: TestApp) {
    let (me, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let admin = app.admin_token.clone();
    let tag = app.tag("stale").await;
    let macro_id = app
        .post(
            "/admin/macros/create",
            &admin,
            json!({"name": "Escalate", "is_shared": true, "actions": [{"type": "set_priority", "value": "urgent"}]}),
        )
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    let ticket = app.ticket(&token, "Stale", json!({})).await;
    let path = format!("/tickets/{}", reference(&ticket));
    let stale = etag(&app.get(&path, &token).await);
    app.post(
        &format!("{path}/reply"),
        &token,
        json!({"body": "moved on"}),
    )
    .await
    .expect(201);
    let before = app.get(&path, &token).await.expect(200);
    let current = etag(&before);
    let writes: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::PATCH,
            format!("{path}/status"),
            Some(json!({"status": "resolved"})),
            &token,
        ),
        (
            Method::PATCH,
            format!("{path}/priority"),
            Some(json!({"priority": "high"})),
            &token,
        ),
        (
            Method::POST,
            format!("{path}/assign"),
            Some(json!({"agent_id": me})),
            &token,
        ),
        (
            Method::POST,
            format!("{path}/reply"),
            Some(json!({"body": "lost"})),
            &token,
        ),
        (
            Method::POST,
            format!("{path}/tags"),
            Some(json!({"tag_ids": [tag]})),
            &token,
        ),
        (
            Method::POST,
            format!("{path}/follow"),
            Some(json!({})),
            &token,
        ),
        (
            Method::POST,
            format!("{path}/macro"),
            Some(json!({"macro_id": macro_id})),
            &token,
        ),
        (Method::DELETE, path.clone(), None, &admin),
    ];
    for if_match in [stale.as_str(), "\"not-a-version\"", "W/\"0\", W/\"1\""] {
        for (method, target, body, who) in &writes {
            let refused = send(
                &app,
                method.clone(),
                target,
                who,
                ("if-match", if_match),
                body.clone(),
            )
            .await
            .expect(412);
            assert_eq!(
                refused.message(),
                "Precondition failed.",
                "{method} {target}"
            );
            assert_eq!(refused.body["code"], "precondition_failed");
        }
    }
    let after = app.get(&path, &token).await.expect(200);
    assert_eq!(after.body, before.body, "nothing changed");
    assert_eq!(etag(&after), current);
    // The current version passes, on the last write too.
    send(
        &app,
        Method::DELETE,
        &path,
        &admin,
        ("if-match", &current),
        None,
    )
    .await
    .expect(200);
    app.get(&path, &token).await.expect(404);
}

async fn of_two_writers_holding_one_version_exactly_one_writes(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let ticket = app.ticket(&token, "Race", json!({})).await;
    let path = format!("/tickets/{}", reference(&ticket));
    for round in 0..3 {
        let version = etag(&app.get(&path, &token).await);
        let body = |n: usize| Some(json!({"body": format!("round {round} writer {n}")}));
        let target = format!("{path}/reply");
        let (a, b) = tokio::join!(
            send(
                &app,
                Method::POST,
                &target,
                &token,
                ("if-match", &version),
                body(1)
            ),
            send(
                &app,
                Method::POST,
                &target,
                &token,
                ("if-match", &version),
                body(2)
            ),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [201, 412],
            "round {round}: {} / {}",
            a.body,
            b.body
        );
    }
    let replies = app.get(&path, &token).await.data()["replies"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(replies, 3, "one reply per round");
}

async fn a_write_answers_what_a_read_after_it_shows(app: TestApp) {
    let (me, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let tag = app.tag("shown").await;
    let created = app
        .post(
            "/tickets/create",
            &token,
            json!({"subject": "Shown", "description": "d", "tags": [tag]}),
        )
        .await
        .expect(201);
    let path = format!("/tickets/{}", reference(created.data()));
    assert_eq!(created.data(), app.get(&path, &token).await.data());
    for (method, target, body) in [
        (Method::PATCH, "status", json!({"status": "in_progress"})),
        (Method::PATCH, "priority", json!({"priority": "urgent"})),
        (Method::POST, "assign", json!({"agent_id": me})),
        (Method::POST, "tags", json!({"tag_ids": []})),
    ] {
        let written = app
            .call(
                method,
                &format!("{path}/{target}"),
                Some(&token),
                Some(body),
            )
            .await
            .expect(200);
        let read = app.get(&path, &token).await;
        assert_eq!(written.data(), read.data(), "{target}");
        assert_eq!(etag(&written), etag(&read), "{target}");
        let activities = written.data()["activities"].as_array().unwrap();
        assert!(
            !activities.is_empty(),
            "the answer shows the write's own history"
        );
    }
}

async fn admin_items_answer_etags_304_and_412(app: TestApp) {
    let admin = app.admin_token.clone();
    let id = app
        .post("/admin/tags/create", &admin, json!({"name": "versioned"}))
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/admin/tags/{id}");
    let first = app.get(&path, &admin).await.expect(200);
    let version = etag(&first);
    assert_eq!(etag(&app.get(&path, &admin).await), version, "stable");
    send(
        &app,
        Method::GET,
        &path,
        &admin,
        ("if-none-match", &version),
        None,
    )
    .await
    .expect(304);
    let updated = send(
        &app,
        Method::PATCH,
        &format!("{path}/update"),
        &admin,
        ("if-match", &version),
        Some(json!({"name": "renamed"})),
    )
    .await
    .expect(200);
    let renamed = etag(&updated);
    assert_ne!(renamed, version);
    let read = app.get(&path, &admin).await;
    assert_eq!(
        etag(&read),
        renamed,
        "the update answered the version GET shows"
    );
    send(
        &app,
        Method::GET,
        &path,
        &admin,
        ("if-none-match", &version),
        None,
    )
    .await
    .expect(200);
    // The old version no longer passes: nothing changes.
    let refused = send(
        &app,
        Method::PATCH,
        &format!("{path}/update"),
        &admin,
        ("if-match", &version),
        Some(json!({"name": "lost update"})),
    )
    .await
    .expect(412);
    assert_eq!(refused.body["code"], "precondition_failed");
    send(
        &app,
        Method::DELETE,
        &format!("{path}/delete"),
        &admin,
        ("if-match", &version),
        None,
    )
    .await
    .expect(412);
    let still = app.get(&path, &admin).await.expect(200);
    assert_eq!(still.data()["name"], "renamed");
    send(
        &app,
        Method::DELETE,
        &format!("{path}/delete"),
        &admin,
        ("if-match", &renamed),
        None,
    )
    .await
    .expect(200);
    app.get(&path, &admin).await.expect(404);
}
