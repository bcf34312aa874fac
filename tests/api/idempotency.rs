//! `Idempotency-Key` (contract §9.3): a retry gets the first answer and writes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    both_databases,
    support::{Reply, TestApp},
};

both_databases!(
    a_repeated_create_answers_the_first_ticket_and_creates_no_other,
    the_same_key_on_another_request_is_422,
    keys_belong_to_the_token_owner,
    a_malformed_key_is_422_and_runs_nothing,
    concurrent_duplicates_run_once,
    a_refusal_is_kept_like_a_success,
    reads_ignore_the_key,
    a_claim_left_running_is_409_then_taken_over_once_abandoned,
    a_claim_whose_write_committed_is_never_run_again,
    the_purge_job_forgets_keys_after_idempotency_hours,
    a_key_adds_one_lookup_and_one_answer_to_a_create,
);

const CREATE: &str = "/tickets/create";

async fn keyed(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    key: &str,
    body: Value,
) -> Reply {
    let auth = format!("Bearer {token}");
    app.raw(
        method,
        &app.url(path),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ],
        &body.to_string(),
    )
    .await
}

async fn ticket_count(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM tickets").await
}

async fn a_repeated_create_answers_the_first_ticket_and_creates_no_other(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let body = json!({"subject": "Printer on fire", "description": "Smoke"});
    let first = keyed(&app, Method::POST, CREATE, &token, "create-1", body.clone())
        .await
        .expect(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = keyed(&app, Method::POST, CREATE, &token, "create-1", body.clone())
        .await
        .expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body, "the first answer, byte for byte");
    assert_eq!(again.header("content-type"), first.header("content-type"));
    // The replay is a request like any other: it carries its own rate-limit fields.
    assert!(again.header("x-ratelimit-remaining").is_some());
    assert_eq!(ticket_count(&app).await, 1);
    // Another key is another request.
    keyed(&app, Method::POST, CREATE, &token, "create-2", body)
        .await
        .expect(201);
    assert_eq!(ticket_count(&app).await, 2);
}

async fn the_same_key_on_another_request_is_422(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let body = json!({"subject": "One", "description": "First"});
    let created = keyed(&app, Method::POST, CREATE, &token, "k", body)
        .await
        .expect(201);
    let reference = created.data()["reference"].as_str().unwrap().to_string();
    // Another body, another path, another method: each is 422 on the key and writes nothing.
    let other_body = json!({"subject": "Two", "description": "Second"});
    keyed(&app, Method::POST, CREATE, &token, "k", other_body.clone())
        .await
        .expect_invalid("idempotency_key");
    keyed(&app, Method::POST, "/tickets", &token, "k", other_body)
        .await
        .expect_invalid("idempotency_key");
    let status = json!({"status": "resolved"});
    keyed(
        &app,
        Method::PATCH,
        &format!("/tickets/{reference}/status"),
        &token,
        "k",
        status,
    )
    .await
    .expect_invalid("idempotency_key");
    assert_eq!(ticket_count(&app).await, 1);
    let shown = app
        .get(&format!("/tickets/{reference}"), &token)
        .await
        .expect(200);
    assert_eq!(shown.data()["status"], "open");
}

async fn keys_belong_to_the_token_owner(app: TestApp) {
    let (_, ann) = app.agent(&["agent"]).await;
    let (_, bob) = app.agent(&["agent"]).await;
    let body = json!({"subject": "Same", "description": "Same body"});
    keyed(&app, Method::POST, CREATE, &ann, "shared", body.clone())
        .await
        .expect(201);
    let bobs = keyed(&app, Method::POST, CREATE, &bob, "shared", body)
        .await
        .expect(201);
    assert_eq!(bobs.header("idempotent-replayed"), None);
    assert_eq!(ticket_count(&app).await, 2);
}

async fn a_malformed_key_is_422_and_runs_nothing(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let body = json!({"subject": "S", "description": "D"});
    let too_long = "k".repeat(256);
    for key in ["", "has space", too_long.as_str()] {
        let message = keyed(&app, Method::POST, CREATE, &token, key, body.clone())
            .await
            .expect_invalid("idempotency_key");
        assert!(message.contains("1 to 255 visible ASCII"), "{message}");
    }
    // The longest key is fine.
    keyed(&app, Method::POST, CREATE, &token, &"k".repeat(255), body)
        .await
        .expect(201);
    assert_eq!(ticket_count(&app).await, 1);
}

async fn concurrent_duplicates_run_once(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let body = json!({"subject": "Race", "description": "Twenty at once"});
    let replies = futures::future::join_all(
        (0..20).map(|_| keyed(&app, Method::POST, CREATE, &token, "race", body.clone())),
    )
    .await;
    let created: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    let busy = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!(created.len() + busy, 20, "each is the answer or 409");
    let fresh = created
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(fresh, 1, "exactly one ran");
    for reply in replies.iter().filter(|r| r.status == 409) {
        assert_eq!(
            reply.body["code"].as_str().unwrap_or("conflict"),
            "conflict"
        );
        assert!(reply.header("retry-after").is_some());
    }
    assert_eq!(ticket_count(&app).await, 1);
    // Once the first finished, every retry gets its answer.
    let later = keyed(&app, Method::POST, CREATE, &token, "race", body)
        .await
        .expect(201);
    assert_eq!(later.header("idempotent-replayed"), Some("true"));
}

async fn a_refusal_is_kept_like_a_success(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let empty = json!({"subject": "", "description": "D"});
    let first = keyed(&app, Method::POST, CREATE, &token, "bad", empty.clone()).await;
    first.expect_invalid("subject");
    let again = keyed(&app, Method::POST, CREATE, &token, "bad", empty).await;
    assert_eq!(again.status, 422);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(ticket_count(&app).await, 0);
}

async fn reads_ignore_the_key(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let auth = format!("Bearer {token}");
    for _ in 0..2 {
        let reply = app
            .raw(
                Method::GET,
                &app.url("/tickets"),
                &[("authorization", &auth), ("idempotency-key", "read")],
                "",
            )
            .await
            .expect(200);
        assert_eq!(reply.header("idempotent-replayed"), None);
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM idempotency_keys").await, 0);
}

/// A node that died mid-request leaves its claim unfinished: retries wait (409) while it may
/// still be running, and take it over once it is abandoned, since nothing of it committed.
async fn a_claim_left_running_is_409_then_taken_over_once_abandoned(app: TestApp) {
    let (user_id, token) = app.agent(&["agent"]).await;
    let body = json!({"subject": "Lost", "description": "Node died"});
    let fingerprint = escalated::domain::idempotency::fingerprint(
        "POST",
        &format!("{}{CREATE}", app.config.api.prefix),
        body.to_string().as_bytes(),
    );
    let now = escalated::time::now();
    insert_claim(&app, user_id, "lost", &fingerprint, now, None).await;
    let busy = keyed(&app, Method::POST, CREATE, &token, "lost", body.clone()).await;
    assert_eq!(busy.status, 409, "{}", busy.body);
    assert_eq!(busy.header("retry-after"), Some("1"));
    assert_eq!(ticket_count(&app).await, 0);
    // Abandoned: created longer ago than the takeover delay.
    let old = now - escalated::domain::idempotency::ABANDONED_AFTER - 1;
    let store = app.store().await;
    sqlx::query("UPDATE idempotency_keys SET created_at = ?")
        .bind(old)
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;
    let ran = keyed(&app, Method::POST, CREATE, &token, "lost", body)
        .await
        .expect(201);
    assert_eq!(ran.header("idempotent-replayed"), None);
    assert_eq!(ticket_count(&app).await, 1);
}

/// The first request's write committed but its answer was never kept (the database went away
/// in between): a retry must not write again, however old the claim.
async fn a_claim_whose_write_committed_is_never_run_again(app: TestApp) {
    let (user_id, token) = app.agent(&["agent"]).await;
    let body = json!({"subject": "Applied", "description": "Answer lost"});
    let fingerprint = escalated::domain::idempotency::fingerprint(
        "POST",
        &format!("{}{CREATE}", app.config.api.prefix),
        body.to_string().as_bytes(),
    );
    let old = escalated::time::now() - escalated::domain::idempotency::ABANDONED_AFTER - 1;
    insert_claim(&app, user_id, "applied", &fingerprint, old, Some(old)).await;
    let reply = keyed(&app, Method::POST, CREATE, &token, "applied", body).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.message().contains("was applied"), "{}", reply.body);
    assert_eq!(ticket_count(&app).await, 0);
}

/// Kept answers go after `api.idempotency_hours`; the write of a keyed request has marked its
/// claim in its own commit.
async fn the_purge_job_forgets_keys_after_idempotency_hours(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let body = json!({"subject": "Kept", "description": "For a while"});
    keyed(&app, Method::POST, CREATE, &token, "old", body.clone())
        .await
        .expect(201);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM idempotency_keys WHERE committed_at IS NOT NULL")
            .await,
        1,
        "the create's commit marked its claim"
    );
    let store = app.store().await;
    let hours = app.config.api.idempotency_hours;
    let now = escalated::time::now();
    let kept = escalated::domain::idempotency::purge(&store, now, hours)
        .await
        .unwrap();
    assert_eq!(kept, 0, "a fresh answer is kept");
    let later = now + i64::from(hours) * 3600 + 1;
    let purged = escalated::domain::idempotency::purge(&store, later, hours)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    store.close().await;
    // Forgotten: the same key runs again.
    keyed(&app, Method::POST, CREATE, &token, "old", body)
        .await
        .expect(201);
    assert_eq!(ticket_count(&app).await, 2);
}

async fn insert_claim(
    app: &TestApp,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    created_at: i64,
    committed_at: Option<i64>,
) {
    let store = app.store().await;
    sqlx::query(
        "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, committed_at, created_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(user_id)
    .bind(key)
    .bind(fingerprint)
    .bind(committed_at)
    .bind(created_at)
    .execute(store.pool())
    .await
    .unwrap();
    store.close().await;
}

/// What a key costs a create: looking the key up, and keeping the answer; the claim itself is
/// one more statement inside the create's own commit, never a transaction of its own.
async fn a_key_adds_one_lookup_and_one_answer_to_a_create(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("idempotency-key", "cost"),
    ];
    let body = json!({"subject": "Cost", "description": "Counted"}).to_string();
    let (keyed, statements) = app
        .raw_recording_queries(Method::POST, CREATE, &token, &headers, &body)
        .await;
    keyed.expect(201);
    let touching: Vec<usize> = (0..statements.len())
        .filter(|&i| statements[i].contains("idempotency_keys"))
        .collect();
    let shown: Vec<&String> = touching.iter().map(|&i| &statements[i]).collect();
    assert_eq!(touching.len(), 3, "{shown:#?}");
    assert!(shown[0].starts_with("SELECT"), "{}", shown[0]);
    assert!(shown[1].starts_with("INSERT"), "{}", shown[1]);
    assert!(shown[2].starts_with("UPDATE"), "{}", shown[2]);
    // The claim is part of the create's commit: on SQLite in the commit's one batch, on MySQL
    // followed by the create's own statements, not by a commit of its own.
    let claim = touching[1];
    let after = statements.get(claim + 1).map(String::as_str).unwrap_or("");
    assert!(
        statements[claim].contains("RELEASE member")
            || (after != "COMMIT" && !after.is_empty() && !after.contains("idempotency_keys")),
        "{:#?}",
        &statements[claim.saturating_sub(2)..(claim + 3).min(statements.len())]
    );
    // On MySQL the answer is one statement in autocommit mode: no transaction of its own.
    if app.store().await.dialect() == escalated::store::Dialect::MySql {
        let answer = touching[2];
        assert!(
            !statements[answer + 1..].iter().any(|s| s == "COMMIT")
                && !statements[answer - 1].starts_with("BEGIN"),
            "{:#?}",
            &statements[answer - 1..]
        );
    }
}
