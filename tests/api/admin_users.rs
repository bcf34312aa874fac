//! `/admin/users` (contract §5, admin table).

use serde_json::json;

use crate::{both_databases, support::TestApp};

both_databases!(
    admin_creates_lists_shows_and_updates_users,
    user_email_must_be_unique,
    user_fields_are_validated,
    unknown_user_is_not_found,
    deleting_a_user_deactivates_them,
    demoting_an_agent_refuses_their_token_at_once,
    deactivating_an_agent_refuses_their_token_at_once,
    admins_cannot_demote_or_deactivate_themselves,
    admin_lists_are_paginated,
);

async fn admin_creates_lists_shows_and_updates_users(app: TestApp) {
    let admin = app.admin_token.clone();
    let reply = app
        .post(
            "/admin/users/create",
            &admin,
            json!({"name": "Ann Agent", "email": "Ann@Example.com", "role": "agent"}),
        )
        .await
        .expect(201);
    assert_eq!(reply.message(), "User created.");
    let user = reply.data().clone();
    assert_eq!(user["email"], "ann@example.com");
    assert_eq!(user["role"], "agent");
    assert_eq!(user["is_active"], true);
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));
    let id = user["id"].as_i64().unwrap();

    let shown = app
        .get(&format!("/admin/users/{id}"), &admin)
        .await
        .expect(200);
    assert_eq!(shown.data()["name"], "Ann Agent");

    let list = app.get("/admin/users", &admin).await.expect(200);
    assert_eq!(list.body["meta"]["total"], 2, "the bootstrap admin and Ann");
    assert!(
        list.data()
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == id)
    );

    let reply = app
        .patch(
            &format!("/admin/users/{id}/update"),
            &admin,
            json!({"name": "Ann Admin", "role": "admin"}),
        )
        .await
        .expect(200);
    assert_eq!(reply.message(), "User updated.");
    assert_eq!(reply.data()["name"], "Ann Admin");
    assert_eq!(reply.data()["role"], "admin");
    assert_eq!(reply.data()["email"], "ann@example.com");
}

async fn user_email_must_be_unique(app: TestApp) {
    let admin = app.admin_token.clone();
    app.user("Ann", "ann@example.com", "agent").await;
    let bob = app.user("Bob", "bob@example.com", "agent").await;
    let reply = app
        .post(
            "/admin/users/create",
            &admin,
            json!({"name": "Ann 2", "email": "ANN@example.com", "role": "customer"}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("email"),
        Some("The email has already been taken.")
    );
    let reply = app
        .patch(
            &format!("/admin/users/{bob}/update"),
            &admin,
            json!({"email": "ann@example.com"}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("email"),
        Some("The email has already been taken.")
    );
    // Keeping one's own address is no conflict.
    app.patch(
        &format!("/admin/users/{bob}/update"),
        &admin,
        json!({"email": "bob@example.com"}),
    )
    .await
    .expect(200);
}

async fn user_fields_are_validated(app: TestApp) {
    let admin = app.admin_token.clone();
    let reply = app
        .post(
            "/admin/users/create",
            &admin,
            json!({"email": "x@example.com", "role": "agent"}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("name"),
        Some("The name field is required.")
    );
    let reply = app
        .post(
            "/admin/users/create",
            &admin,
            json!({"name": "X", "email": "not-an-email", "role": "boss"}),
        )
        .await
        .expect(422);
    assert_eq!(reply.message(), "Validation failed.");
    assert!(reply.field_error("email").is_some());
    assert_eq!(
        reply.field_error("role"),
        Some("The selected role is invalid.")
    );
    let reply = app
        .post(
            "/admin/users/create",
            &admin,
            json!({"name": "X", "email": "x@example.com", "role": "agent", "is_active": "yes"}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("is_active"),
        Some("The is active field must be true or false.")
    );
}

async fn unknown_user_is_not_found(app: TestApp) {
    let admin = app.admin_token.clone();
    assert_eq!(
        app.get("/admin/users/9999", &admin)
            .await
            .expect(404)
            .message(),
        "User not found."
    );
    let reply = app
        .patch("/admin/users/9999/update", &admin, json!({"name": "X"}))
        .await
        .expect(404);
    assert_eq!(reply.message(), "User not found.");
    assert_eq!(
        app.delete("/admin/users/9999/delete", &admin)
            .await
            .expect(404)
            .message(),
        "User not found."
    );
}

async fn deleting_a_user_deactivates_them(app: TestApp) {
    let admin = app.admin_token.clone();
    let id = app.user("Cleo", "cleo@example.com", "customer").await;
    let reply = app
        .delete(&format!("/admin/users/{id}/delete"), &admin)
        .await
        .expect(200);
    assert_eq!(reply.message(), "User deleted.");
    assert_eq!(reply.data()["outcome"], "deactivated");
    let shown = app
        .get(&format!("/admin/users/{id}"), &admin)
        .await
        .expect(200);
    assert_eq!(
        shown.data()["is_active"],
        false,
        "the user is kept, deactivated"
    );
}

async fn demoting_an_agent_refuses_their_token_at_once(app: TestApp) {
    let (agent, token) = app.agent(&["agent"]).await;
    app.get("/agents", &token).await.expect(200);
    app.patch(
        &format!("/admin/users/{agent}/update"),
        &app.admin_token,
        json!({"role": "customer"}),
    )
    .await
    .expect(200);
    let reply = app.get("/agents", &token).await.expect(403);
    assert_eq!(reply.message(), "User no longer has agent access.");
}

async fn deactivating_an_agent_refuses_their_token_at_once(app: TestApp) {
    let admin = app.admin_token.clone();
    let (agent, token) = app.agent(&["agent"]).await;
    app.get("/agents", &token).await.expect(200);
    app.patch(
        &format!("/admin/users/{agent}/update"),
        &admin,
        json!({"is_active": false}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/agents", &token).await.expect(403).message(),
        "User no longer has agent access."
    );
    app.patch(
        &format!("/admin/users/{agent}/update"),
        &admin,
        json!({"is_active": true}),
    )
    .await
    .expect(200);
    app.get("/agents", &token).await.expect(200);
    app.delete(&format!("/admin/users/{agent}/delete"), &admin)
        .await
        .expect(200);
    assert_eq!(
        app.get("/agents", &token).await.expect(403).message(),
        "User no longer has agent access."
    );
}

async fn admins_cannot_demote_or_deactivate_themselves(app: TestApp) {
    let admin = app.admin_token.clone();
    let me = app
        .post("/auth/validate", &admin, json!({}))
        .await
        .expect(200)
        .data()["user"]["id"]
        .as_i64()
        .unwrap();
    let reply = app
        .patch(
            &format!("/admin/users/{me}/update"),
            &admin,
            json!({"role": "agent", "is_active": false}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("role"),
        Some("You cannot remove your own admin role.")
    );
    assert_eq!(
        reply.field_error("is_active"),
        Some("You cannot deactivate yourself.")
    );
    let reply = app
        .delete(&format!("/admin/users/{me}/delete"), &admin)
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("id"),
        Some("You cannot deactivate yourself.")
    );
    app.get("/admin/users", &admin).await.expect(200);
}

async fn admin_lists_are_paginated(app: TestApp) {
    let admin = app.admin_token.clone();
    for i in 0..3 {
        app.user(&format!("U{i}"), &format!("u{i}@example.com"), "customer")
            .await;
    }
    let reply = app
        .get("/admin/users?per_page=2&page=2", &admin)
        .await
        .expect(200);
    assert_eq!(
        reply.body["meta"],
        json!({"current_page": 2, "last_page": 2, "per_page": 2, "total": 4, "next_cursor": null})
    );
    assert_eq!(reply.data().as_array().unwrap().len(), 2);
    assert_eq!(
        app.get("/admin/users?page=9", &admin)
            .await
            .expect(200)
            .data(),
        &json!([])
    );
    for path in [
        "/admin/users",
        "/admin/departments",
        "/admin/tags",
        "/admin/canned-responses",
        "/admin/macros",
        "/admin/sla-policies",
    ] {
        let reply = app
            .get(&format!("{path}?per_page=0"), &admin)
            .await
            .expect(422);
        assert!(reply.field_error("per_page").is_some(), "{path}");
        let reply = app
            .get(&format!("{path}?per_page=1"), &admin)
            .await
            .expect(200);
        assert_eq!(reply.body["meta"]["per_page"], 1, "{path}");
    }
}
