//! Changing tickets: the conversation, the state machine, priority, assignment, followers,
//! tags and deletion (contract §5, §6, §8).

use serde_json::json;

use crate::{both_databases, support::TestApp};

both_databases!(
    replies_and_notes_are_recorded_and_marked,
    first_public_agent_reply_records_the_first_response_once,
    reply_rejects_blank_bodies_after_checking_the_ticket,
    twenty_concurrent_replies_all_land,
    status_follows_the_state_machine_with_its_timestamps,
    forbidden_or_unknown_statuses_are_422_and_change_nothing,
    same_status_is_200_without_activity,
    priority_change_moves_sla_due_times_and_logs_old_and_new,
    same_priority_is_200_without_activity,
    assign_takes_active_staff_and_null_unassigns,
    assign_refuses_customers_inactive_and_unknown_users,
    follow_toggles,
    tags_sync_logs_each_addition_and_removal,
    delete_is_admin_only_soft_and_final,
);

both_databases!(
    config = |c| {
        c.tickets.transitions = [("closed".to_string(), vec!["open".to_string()])].into();
    };
    configured_transitions_are_this_servers_own,
);

/// `tickets.transitions` is a setting of the server that reads it, not of the process: a second
/// server started beside it keeps the contract's table.
async fn configured_transitions_are_this_servers_own(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app
        .ticket(&token, "Reopened the other way", json!({}))
        .await;
    let path = format!("/tickets/{}/status", t["reference"].as_str().unwrap());
    app.patch(&path, &token, json!({"status": "closed"}))
        .await
        .expect(200);
    let open = app
        .patch(&path, &token, json!({"status": "open"}))
        .await
        .expect(200);
    assert_eq!(open.data()["status"], "open");

    let Some(other) = TestApp::spawn(app.backend).await else {
        return;
    };
    let (_, token) = other.agent(&["agent"]).await;
    let t = other.ticket(&token, "By the contract", json!({})).await;
    let path = format!("/tickets/{}/status", t["reference"].as_str().unwrap());
    let closed = other
        .patch(&path, &token, json!({"status": "closed"}))
        .await
        .expect(200);
    assert_eq!(closed.data()["allowed_transitions"], json!(["reopened"]));
    other
        .patch(&path, &token, json!({"status": "open"}))
        .await
        .expect_invalid("status");
}

async fn replies_and_notes_are_recorded_and_marked(app: TestApp) {
    let (agent_id, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Chat", json!({})).await;
    let path = format!("/tickets/{}", t["reference"].as_str().unwrap());
    let reply = app
        .post(
            &format!("{path}/reply"),
            &token,
            json!({"body": "Hello there"}),
        )
        .await
        .expect(201);
    assert_eq!(reply.message(), "Reply sent.");
    assert_eq!(reply.data()["is_internal_note"], false);
    assert_eq!(reply.data()["author"]["id"], agent_id);
    let note = app
        .post(
            &format!("{path}/reply"),
            &token,
            json!({"body": "Customer is grumpy", "is_internal_note": true}),
        )
        .await
        .expect(201);
    assert_eq!(note.message(), "Note added.");
    let shown = app.get(&path, &token).await.expect(200);
    let replies = shown.data()["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0]["body"], "Hello there");
    assert_eq!(replies[1]["is_internal_note"], true);
    let kinds: Vec<&str> = shown.data()["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "replied", "note_added"]);
    assert!(shown.data()["last_reply_at"].is_string());
}

async fn first_public_agent_reply_records_the_first_response_once(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app
        .ticket(
            &token,
            "SLA",
            json!({"requester": {"email": "c@example.com"}}),
        )
        .await;
    let path = format!("/tickets/{}", t["reference"].as_str().unwrap());
    app.post(
        &format!("{path}/reply"),
        &token,
        json!({"body": "note", "is_internal_note": true}),
    )
    .await
    .expect(201);
    assert!(
        app.get(&path, &token).await.data()["sla"]["first_response_at"].is_null(),
        "a note is no response"
    );
    app.post(&format!("{path}/reply"), &token, json!({"body": "first"}))
        .await
        .expect(201);
    let first = app.get(&path, &token).await.data()["sla"]["first_response_at"].clone();
    assert!(first.is_string());
    // The second reply comes 100 s later by the server's clock.
    app.clock.advance(std::time::Duration::from_secs(100));
    app.post(&format!("{path}/reply"), &token, json!({"body": "second"}))
        .await
        .expect(201);
    assert_eq!(
        app.get(&path, &token).await.data()["sla"]["first_response_at"],
        first,
        "recorded once"
    );
}

async fn reply_rejects_blank_bodies_after_checking_the_ticket(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Blank", json!({})).await;
    let path = format!("/tickets/{}/reply", t["reference"].as_str().unwrap());
    for body in [
        json!({}),
        json!({"body": "  "}),
        json!({"body": "x".repeat(65_536)}),
        json!({"body": 3}),
    ] {
        let reply = app.post(&path, &token, body).await.expect(422);
        assert!(reply.field_error("body").is_some());
    }
    // An unknown ticket is 404 before its body is judged.
    let reply = app
        .post("/tickets/ESC-99999/reply", &token, json!({}))
        .await
        .expect(404);
    assert_eq!(reply.message(), "Ticket not found.");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM replies").await, 0);
}

async fn twenty_concurrent_replies_all_land(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Busy", json!({})).await;
    let path = format!("/tickets/{}/reply", t["reference"].as_str().unwrap());
    let replies = (0..20).map(|i| {
        let (app, token, path) = (&app, &token, &path);
        async move {
            app.post_until_served(path, token, json!({"body": format!("reply {i}")}))
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(replies).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    // One reply per request: a request refused 503 and sent again wrote nothing the first time.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM replies").await, 20);
}

async fn status_follows_the_state_machine_with_its_timestamps(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Lifecycle", json!({})).await;
    let path = format!("/tickets/{}/status", t["reference"].as_str().unwrap());
    let resolved = app
        .patch(&path, &token, json!({"status": "resolved"}))
        .await
        .expect(200);
    assert_eq!(resolved.message(), "Status updated.");
    assert_eq!(resolved.data()["status"], "resolved");
    assert!(resolved.data()["resolved_at"].is_string());
    assert_eq!(
        resolved.data()["allowed_transitions"],
        json!(["reopened", "closed"])
    );
    let closed = app
        .patch(&path, &token, json!({"status": "closed"}))
        .await
        .expect(200);
    assert!(closed.data()["closed_at"].is_string());
    assert!(closed.data()["resolved_at"].is_string());
    let reopened = app
        .patch(&path, &token, json!({"status": "reopened"}))
        .await
        .expect(200);
    assert!(reopened.data()["resolved_at"].is_null());
    assert!(reopened.data()["closed_at"].is_null());
    let activity = reopened.data()["activities"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(activity["type"], "status_changed");
    assert_eq!(
        activity["properties"],
        json!({"old": "closed", "new": "reopened"})
    );
    assert!(activity["causer"]["id"].is_i64());
}

async fn forbidden_or_unknown_statuses_are_422_and_change_nothing(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Strict", json!({})).await;
    let path = format!("/tickets/{}/status", t["reference"].as_str().unwrap());
    app.patch(&path, &token, json!({"status": "closed"}))
        .await
        .expect(200);
    let refused = app
        .patch(&path, &token, json!({"status": "open"}))
        .await
        .expect(422);
    assert!(refused.field_error("status").unwrap().contains("closed"));
    for body in [
        json!({"status": "done"}),
        json!({"status": "OPEN"}),
        json!({}),
    ] {
        app.patch(&path, &token, body).await.expect(422);
    }
    let shown = app
        .get(
            &format!("/tickets/{}", t["reference"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(shown.data()["status"], "closed");
    // 404 before validation.
    app.patch(
        "/tickets/ESC-99999/status",
        &token,
        json!({"status": "bogus"}),
    )
    .await
    .expect(404);
}

async fn same_status_is_200_without_activity(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Same", json!({})).await;
    let reply = app
        .patch(
            &format!("/tickets/{}/status", t["reference"].as_str().unwrap()),
            &token,
            json!({"status": "open"}),
        )
        .await
        .expect(200);
    assert_eq!(reply.data()["activities"].as_array().unwrap().len(), 1);
    assert_eq!(reply.data()["updated_at"], t["updated_at"]);
}

async fn priority_change_moves_sla_due_times_and_logs_old_and_new(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app
        .ticket(&token, "Faster", json!({"priority": "low"}))
        .await;
    let reply = app
        .patch(
            &format!("/tickets/{}/priority", t["reference"].as_str().unwrap()),
            &token,
            json!({"priority": "critical"}),
        )
        .await
        .expect(200);
    assert_eq!(reply.message(), "Priority updated.");
    let d = reply.data();
    assert_eq!(d["priority"], "critical");
    let at =
        |v: &serde_json::Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        (at(&d["sla"]["first_response_due_at"]) - at(&d["created_at"])).num_hours(),
        1
    );
    assert_eq!(
        (at(&d["sla"]["resolution_due_at"]) - at(&d["created_at"])).num_hours(),
        4
    );
    let last = d["activities"].as_array().unwrap().last().unwrap();
    assert_eq!(last["type"], "priority_changed");
    assert_eq!(last["properties"], json!({"old": "low", "new": "critical"}));
    app.patch(
        &format!("/tickets/{}/priority", t["reference"].as_str().unwrap()),
        &token,
        json!({"priority": "severe"}),
    )
    .await
    .expect(422);
}

async fn same_priority_is_200_without_activity(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Same", json!({})).await;
    let reply = app
        .patch(
            &format!("/tickets/{}/priority", t["reference"].as_str().unwrap()),
            &token,
            json!({"priority": "medium"}),
        )
        .await
        .expect(200);
    assert_eq!(reply.data()["activities"].as_array().unwrap().len(), 1);
}

async fn assign_takes_active_staff_and_null_unassigns(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let other = app.user("Olga", "olga@example.com", "agent").await;
    let t = app.ticket(&token, "Who", json!({})).await;
    let path = format!("/tickets/{}/assign", t["reference"].as_str().unwrap());
    let reply = app
        .post(&path, &token, json!({"agent_id": other}))
        .await
        .expect(200);
    assert_eq!(reply.message(), "Ticket assigned.");
    assert_eq!(
        reply.data()["assignee"],
        json!({"id": other, "name": "Olga", "email": "olga@example.com"})
    );
    assert_eq!(
        reply.data()["status"],
        "open",
        "assignment does not change the status"
    );
    let logged = reply.data()["activities"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (logged["type"].as_str(), &logged["properties"]),
        (Some("assigned"), &json!({"old": null, "new": other}))
    );
    let reply = app
        .post(&path, &token, json!({"agent_id": null}))
        .await
        .expect(200);
    assert_eq!(reply.message(), "Ticket unassigned.");
    assert!(reply.data()["assignee"].is_null());
    let logged = reply.data()["activities"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (logged["type"].as_str(), &logged["properties"]),
        (Some("unassigned"), &json!({"old": other, "new": null}))
    );
    let missing = app.post(&path, &token, json!({})).await.expect(422);
    assert!(missing.field_error("agent_id").is_some());
}

async fn assign_refuses_customers_inactive_and_unknown_users(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let customer = app.user("Cid", "cid@example.com", "customer").await;
    let inactive = app.user("Ina", "ina@example.com", "agent").await;
    app.exec("UPDATE users SET is_active = 0 WHERE email = 'ina@example.com'")
        .await;
    let t = app.ticket(&token, "Nobody", json!({})).await;
    let path = format!("/tickets/{}/assign", t["reference"].as_str().unwrap());
    for id in [customer, inactive, 999_999] {
        let reply = app
            .post(&path, &token, json!({"agent_id": id}))
            .await
            .expect(422);
        assert!(reply.field_error("agent_id").is_some());
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM tickets WHERE assignee_id IS NOT NULL")
            .await,
        0
    );
}

async fn follow_toggles(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let (_, other) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Watch", json!({})).await;
    let path = format!("/tickets/{}/follow", t["reference"].as_str().unwrap());
    let on = app.post(&path, &token, json!({})).await.expect(200);
    assert_eq!(on.message(), "Following ticket.");
    assert_eq!(on.data(), &json!({"following": true, "followers_count": 1}));
    let also = app.post(&path, &other, json!({})).await.expect(200);
    assert_eq!(also.data()["followers_count"], 2);
    let shown = app
        .get(
            &format!("/tickets/{}", t["reference"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(
        (
            shown.data()["is_following"].as_bool(),
            shown.data()["followers_count"].as_i64()
        ),
        (Some(true), Some(2))
    );
    let off = app.post(&path, &token, json!({})).await.expect(200);
    assert_eq!(off.message(), "Unfollowed ticket.");
    assert_eq!(
        off.data(),
        &json!({"following": false, "followers_count": 1})
    );
}

async fn tags_sync_logs_each_addition_and_removal(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let (a, b, c) = (
        app.tag("alpha").await,
        app.tag("beta").await,
        app.tag("gamma").await,
    );
    let t = app.ticket(&token, "Tags", json!({"tags": [a, b]})).await;
    let path = format!("/tickets/{}/tags", t["reference"].as_str().unwrap());
    let reply = app
        .post(&path, &token, json!({"tag_ids": [b, c]}))
        .await
        .expect(200);
    assert_eq!(reply.message(), "Tags updated.");
    let names: Vec<&str> = reply.data()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["beta", "gamma"]);
    let logged: Vec<(String, serde_json::Value)> = reply.data()["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"].as_str().unwrap().starts_with("tag_"))
        .map(|a| {
            (
                a["type"].as_str().unwrap().to_string(),
                a["properties"].clone(),
            )
        })
        .collect();
    assert_eq!(
        logged,
        vec![
            (
                "tag_removed".to_string(),
                json!({"tag": {"id": a, "name": "alpha"}})
            ),
            (
                "tag_added".to_string(),
                json!({"tag": {"id": c, "name": "gamma"}})
            ),
        ]
    );
    let unknown = app
        .post(&path, &token, json!({"tag_ids": [c, 4242]}))
        .await
        .expect(422);
    assert!(unknown.field_error("tag_ids").unwrap().contains("4242"));
    let cleared = app
        .post(&path, &token, json!({"tag_ids": []}))
        .await
        .expect(200);
    assert_eq!(cleared.data()["tags"], json!([]));
    app.post(
        &path,
        &token,
        json!({"tag_ids": (0..51).collect::<Vec<_>>()}),
    )
    .await
    .expect(422);
}

async fn delete_is_admin_only_soft_and_final(app: TestApp) {
    let (_, agent) = app.agent(&["*"]).await;
    let t = app.ticket(&agent, "Doomed", json!({})).await;
    let path = format!("/tickets/{}", t["reference"].as_str().unwrap());
    let refused = app.delete(&path, &agent).await.expect(403);
    assert_eq!(refused.message(), "Insufficient permissions.");
    let reply = app
        .delete(&path, &app.admin_token.clone())
        .await
        .expect(200);
    assert_eq!(reply.message(), "Ticket deleted.");
    app.get(&path, &agent).await.expect(404);
    app.delete(&path, &app.admin_token.clone())
        .await
        .expect(404);
    let list = app.get("/tickets", &agent).await.expect(200);
    assert_eq!(list.body["meta"]["total"], 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM tickets WHERE deleted_at IS NOT NULL")
            .await,
        1
    );
}
