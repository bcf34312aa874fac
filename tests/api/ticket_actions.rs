//! Custom ticket actions: `/admin/actions` and `/tickets/{reference}/actions` (contract §5, §7).

use serde_json::json;

use crate::{both_databases, support::TestApp};

both_databases!(
    actions_are_listed_by_visibility_and_run_like_macros,
    action_scripts_are_checked_when_saved,
);

const VIP: &str = r#"
fn visible(ticket, user) { ticket.requester.email.ends_with("@vip.example") }
fn enabled(ticket, user) { ticket.priority != "critical" }
fn run(ticket, user) {
    set_priority("critical");
    add_tag("vip");
    add_note("Escalated for " + ticket.requester.name + " by " + user.name);
}
"#;

async fn actions_are_listed_by_visibility_and_run_like_macros(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let created = app
        .post(
            "/admin/actions/create",
            &app.admin_token,
            json!({"key": "escalate-vip", "label": "Escalate VIP", "script": VIP}),
        )
        .await
        .expect(201);
    assert_eq!(created.message(), "Action created.");
    assert_eq!(created.data()["origin"], "database");
    let vip = app
        .ticket(
            &token,
            "Big customer",
            json!({"requester": {"name": "Vera", "email": "vera@vip.example"}}),
        )
        .await;
    let plain = app.ticket(&token, "Someone", json!({})).await;
    let (vip, plain) = (
        vip["reference"].as_str().unwrap(),
        plain["reference"].as_str().unwrap(),
    );
    let listed = app
        .get(&format!("/tickets/{vip}/actions"), &token)
        .await
        .expect(200);
    assert_eq!(
        listed.data(),
        &json!([{"key": "escalate-vip", "label": "Escalate VIP", "enabled": true}])
    );
    let none = app
        .get(&format!("/tickets/{plain}/actions"), &token)
        .await
        .expect(200);
    assert_eq!(none.data(), &json!([]));
    // Invisible and unknown are 404.
    app.post(
        &format!("/tickets/{plain}/actions/escalate-vip"),
        &token,
        json!({}),
    )
    .await
    .expect(404);
    app.post(&format!("/tickets/{vip}/actions/nope"), &token, json!({}))
        .await
        .expect(404);
    let ran = app
        .post(
            &format!("/tickets/{vip}/actions/escalate-vip"),
            &token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(ran.message(), "Action \"Escalate VIP\" done.");
    assert_eq!(ran.data()["ticket"]["priority"], "critical");
    assert_eq!(ran.data()["ticket"]["tags"][0]["name"], "vip");
    assert!(
        ran.data()["ticket"]["replies"][0]["body"]
            .as_str()
            .unwrap()
            .starts_with("Escalated for Vera by Agent")
    );
    assert_eq!(ran.data()["changes"].as_array().unwrap().len(), 3);
    // Now critical: visible but disabled, so 403.
    let listed = app
        .get(&format!("/tickets/{vip}/actions"), &token)
        .await
        .expect(200);
    assert_eq!(listed.data()[0]["enabled"], false);
    app.post(
        &format!("/tickets/{vip}/actions/escalate-vip"),
        &token,
        json!({}),
    )
    .await
    .expect(403);
    // An inactive action is gone from tickets.
    let id = created.data()["id"].as_i64().unwrap();
    app.patch(
        &format!("/admin/actions/{id}/update"),
        &app.admin_token,
        json!({"is_active": false}),
    )
    .await
    .expect(200);
    let listed = app
        .get(&format!("/tickets/{vip}/actions"), &token)
        .await
        .expect(200);
    assert_eq!(listed.data(), &json!([]));
    app.delete(&format!("/admin/actions/{id}/delete"), &app.admin_token)
        .await
        .expect(200);
    app.get(&format!("/admin/actions/{id}"), &app.admin_token)
        .await
        .expect(404);
}

async fn action_scripts_are_checked_when_saved(app: TestApp) {
    let admin = app.admin_token.clone();
    let bad_key = app
        .post(
            "/admin/actions/create",
            &admin,
            json!({"key": "Bad Key", "label": "x", "script": VIP}),
        )
        .await
        .expect(422);
    assert!(bad_key.field_error("key").is_some());
    let missing = app
        .post(
            "/admin/actions/create",
            &admin,
            json!({"key": "k", "label": "x", "script": "fn visible(t, u) { true }"}),
        )
        .await
        .expect(422);
    assert!(missing.field_error("script").unwrap().contains("enabled"));
    let broken = app
        .post(
            "/admin/actions/create",
            &admin,
            json!({"key": "k", "label": "x", "script": "fn visible(t, u) { true"}),
        )
        .await
        .expect(422);
    assert!(broken.field_error("script").unwrap().contains("line"));
    app.post(
        "/admin/actions/create",
        &admin,
        json!({"key": "k", "label": "x", "script": VIP}),
    )
    .await
    .expect(201);
    let taken = app
        .post(
            "/admin/actions/create",
            &admin,
            json!({"key": "k", "label": "y", "script": VIP}),
        )
        .await
        .expect(422);
    assert!(taken.field_error("key").is_some());
}
