//! `/admin/macros` (contract §5 admin table, §8 action vocabulary).

use serde_json::json;

use crate::{both_databases, support::TestApp};

both_databases!(
    macro_with_actions_round_trips,
    macro_with_script_is_stored,
    macro_needs_exactly_one_of_actions_or_script,
    macro_action_types_and_values_are_checked,
    macro_actions_are_limited_to_fifty,
    macro_update_switches_between_actions_and_script,
    unknown_macro_is_not_found,
);

fn every_action() -> serde_json::Value {
    json!([
        {"type": "set_status", "value": "resolved"},
        {"type": "set_priority", "value": "urgent"},
        {"type": "set_type", "value": "incident"},
        {"type": "assign", "value": 2},
        {"type": "assign", "value": "Agent@Example.com"},
        {"type": "unassign"},
        {"type": "set_department", "value": 1},
        {"type": "add_tag", "value": "vip"},
        {"type": "remove_tag", "value": "new"},
        {"type": "add_reply", "value": "We are on it."},
        {"type": "add_note", "value": "Escalated by macro."},
        {"type": "follow", "value": null}
    ])
}

async fn macro_with_actions_round_trips(app: TestApp) {
    let admin = app.admin_token.clone();
    let reply = app
        .post(
            "/admin/macros/create",
            &admin,
            json!({"name": "Close as resolved", "order": 3, "actions": every_action()}),
        )
        .await
        .expect(201);
    assert_eq!(reply.message(), "Macro created.");
    let m = reply.data().clone();
    assert_eq!(m["kind"], "actions");
    assert_eq!(m["order"], 3);
    assert_eq!(m["is_shared"], true);
    assert!(m["script"].is_null());
    let actions = m["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 12);
    assert_eq!(
        actions[0],
        json!({"type": "set_status", "value": "resolved"})
    );
    assert_eq!(
        actions[4],
        json!({"type": "assign", "value": "agent@example.com"})
    );
    assert_eq!(actions[5], json!({"type": "unassign", "value": null}));
    let id = m["id"].as_i64().unwrap();
    let shown = app
        .get(&format!("/admin/macros/{id}"), &admin)
        .await
        .expect(200);
    assert_eq!(shown.data()["actions"], m["actions"]);
    assert_eq!(
        app.get("/admin/macros", &admin).await.expect(200).body["meta"]["total"],
        1
    );
    let reply = app
        .delete(&format!("/admin/macros/{id}/delete"), &admin)
        .await
        .expect(200);
    assert_eq!(reply.message(), "Macro deleted.");
    app.get(&format!("/admin/macros/{id}"), &admin)
        .await
        .expect(404);
}

async fn macro_with_script_is_stored(app: TestApp) {
    let admin = app.admin_token.clone();
    let script = "if ticket.priority == \"low\" {\n    set_priority(\"medium\");\n}\n";
    let reply = app
        .post(
            "/admin/macros/create",
            &admin,
            json!({"name": "Bump", "script": script}),
        )
        .await
        .expect(201);
    assert_eq!(reply.data()["kind"], "script");
    assert_eq!(reply.data()["script"], script);
    assert!(reply.data()["actions"].is_null());
    let reply = app
        .post(
            "/admin/macros/create",
            &admin,
            json!({"name": "Blank", "script": "  "}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("script"),
        Some("The script field is required.")
    );
}

async fn macro_needs_exactly_one_of_actions_or_script(app: TestApp) {
    let admin = app.admin_token.clone();
    let reply = app
        .post("/admin/macros/create", &admin, json!({"name": "Nothing"}))
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("actions"),
        Some("Give either actions or script.")
    );
    let reply = app
        .post(
            "/admin/macros/create",
            &admin,
            json!({"name": "Both", "script": "follow();", "actions": [{"type": "follow"}]}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("actions"),
        Some("Give either actions or script, not both.")
    );
    let reply = app
        .post(
            "/admin/macros/create",
            &admin,
            json!({"name": "Empty", "actions": []}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("actions"),
        Some("The actions field is required.")
    );
    assert_eq!(
        app.get("/admin/macros", &admin).await.expect(200).body["meta"]["total"],
        0
    );
}

async fn macro_action_types_and_values_are_checked(app: TestApp) {
    let admin = app.admin_token.clone();
    let actions = json!([
        {"type": "set_status", "value": "done"},
        {"type": "explode", "value": 1},
        {"type": "set_priority", "value": "High"},
        {"type": "assign", "value": 1.5},
        {"type": "unassign", "value": 3},
        {"type": "set_department", "value": "Billing"},
        {"type": "add_tag", "value": ""},
        {"type": "add_note", "value": 5},
        {"type": "set_type", "value": "incident"},
        {"value": "resolved"}
    ]);
    let reply = app
        .post(
            "/admin/macros/create",
            &admin,
            json!({"name": "Bad", "actions": actions}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("actions.9.type"),
        Some("The actions.9.type field is required."),
        "{}",
        reply.body
    );
    let reply = app
        .post(
            "/admin/macros/create",
            &admin,
            json!({"name": "Bad", "actions": &actions.as_array().unwrap()[..9]}),
        )
        .await
        .expect(422);
    let errors = reply.body["errors"].as_object().unwrap();
    for field in [
        "actions.0.value",
        "actions.1.type",
        "actions.2.value",
        "actions.3.value",
        "actions.4.value",
        "actions.5.value",
        "actions.6.value",
        "actions.7.value",
    ] {
        assert!(
            errors.contains_key(field),
            "{field} missing from {}",
            reply.body
        );
    }
    assert!(!errors.contains_key("actions.8.value"));
    assert!(
        reply
            .field_error("actions.1.type")
            .unwrap()
            .starts_with("Unknown action type 'explode'.")
    );
    assert_eq!(
        reply.field_error("actions.0.value"),
        Some(
            "The set_status value must be one of: open, in_progress, waiting_on_customer, waiting_on_agent, escalated, resolved, closed, reopened."
        )
    );
}

async fn macro_actions_are_limited_to_fifty(app: TestApp) {
    let admin = app.admin_token.clone();
    let fifty: Vec<_> = (0..50).map(|_| json!({"type": "follow"})).collect();
    app.post(
        "/admin/macros/create",
        &admin,
        json!({"name": "Fifty", "actions": fifty}),
    )
    .await
    .expect(201);
    let fifty_one: Vec<_> = (0..51).map(|_| json!({"type": "follow"})).collect();
    let reply = app
        .post(
            "/admin/macros/create",
            &admin,
            json!({"name": "Too many", "actions": fifty_one}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("actions"),
        Some("The actions may not have more than 50 items.")
    );
}

async fn macro_update_switches_between_actions_and_script(app: TestApp) {
    let admin = app.admin_token.clone();
    let id = app
        .post(
            "/admin/macros/create",
            &admin,
            json!({"name": "Flip", "description": "d", "actions": [{"type": "follow"}]}),
        )
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    let reply = app
        .patch(
            &format!("/admin/macros/{id}/update"),
            &admin,
            json!({"script": "follow();"}),
        )
        .await
        .expect(200);
    assert_eq!(reply.message(), "Macro updated.");
    assert_eq!(reply.data()["kind"], "script");
    assert!(reply.data()["actions"].is_null());
    let reply = app
        .patch(
            &format!("/admin/macros/{id}/update"),
            &admin,
            json!({"actions": [{"type": "add_tag", "value": "x"}], "description": null}),
        )
        .await
        .expect(200);
    assert_eq!(reply.data()["kind"], "actions");
    assert!(reply.data()["script"].is_null());
    assert!(reply.data()["description"].is_null());
    let reply = app
        .patch(
            &format!("/admin/macros/{id}/update"),
            &admin,
            json!({"name": "Renamed", "order": -2}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.data()["kind"],
        "actions",
        "leaving both out keeps what the macro does"
    );
    assert_eq!(reply.data()["order"], -2);
    let reply = app
        .patch(
            &format!("/admin/macros/{id}/update"),
            &admin,
            json!({"script": "x", "actions": [{"type": "follow"}]}),
        )
        .await
        .expect(422);
    assert!(reply.field_error("actions").is_some());
}

async fn unknown_macro_is_not_found(app: TestApp) {
    let admin = app.admin_token.clone();
    assert_eq!(
        app.get("/admin/macros/404", &admin)
            .await
            .expect(404)
            .message(),
        "Macro not found."
    );
    app.patch("/admin/macros/404/update", &admin, json!({"actions": []}))
        .await
        .expect(404);
    assert_eq!(
        app.delete("/admin/macros/404/delete", &admin)
            .await
            .expect(404)
            .message(),
        "Macro not found."
    );
}
