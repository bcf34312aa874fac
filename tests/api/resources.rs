//! The read-only resource lists (contract §5, §8): `/agents`, `/departments`, `/tags`,
//! `/canned-responses`, `/macros`.

use serde_json::{Value, json};

use crate::{both_databases, support::TestApp};

both_databases!(
    agents_lists_active_agents_and_admins_only,
    departments_lists_active_departments_with_their_agents,
    tags_lists_every_tag_by_name,
    personal_canned_responses_are_seen_only_by_their_owner,
    personal_macros_are_seen_only_by_their_owner,
    resource_lists_need_tickets_read,
    agent_tokens_cannot_reach_admin_crud,
);

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

/// A second admin with an admin token: makes personal things through the admin API.
async fn second_admin(app: &TestApp) -> (i64, String) {
    let id = app.user("Ada Admin", "ada@example.com", "admin").await;
    (id, app.token(id, &["*"]).await)
}

async fn agents_lists_active_agents_and_admins_only(app: TestApp) {
    let (agent, token) = app.agent(&["tickets:read"]).await;
    let customer = app
        .user("Cleo Customer", "cleo@example.com", "customer")
        .await;
    let gone = app.user("Gus Gone", "gus@example.com", "agent").await;
    app.delete(&format!("/admin/users/{gone}/delete"), &app.admin_token)
        .await
        .expect(200);
    let reply = app.get("/agents", &token).await.expect(200);
    assert!(reply.body.get("meta").is_none(), "not paginated");
    let listed = ids(reply.data());
    assert!(listed.contains(&agent));
    assert!(!listed.contains(&customer), "never customers");
    assert!(!listed.contains(&gone), "never inactive users");
    assert_eq!(listed.len(), 2, "the agent and the bootstrap admin");
    let me = reply
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == agent)
        .unwrap();
    assert_eq!(me["role"], "agent");
    assert!(me["email"].as_str().unwrap().ends_with("@example.com"));
    let admin = reply
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] != agent)
        .unwrap();
    assert_eq!(admin["role"], "admin");
}

async fn departments_lists_active_departments_with_their_agents(app: TestApp) {
    let admin = app.admin_token.clone();
    let (agent, token) = app.agent(&["tickets:read"]).await;
    let (leaver, _) = app.agent(&["agent"]).await;
    let open = app
        .post(
            "/admin/departments/create",
            &admin,
            json!({"name": "Support", "agent_ids": [agent, leaver]}),
        )
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    app.post(
        "/admin/departments/create",
        &admin,
        json!({"name": "Closed desk", "is_active": false}),
    )
    .await
    .expect(201);
    app.patch(
        &format!("/admin/users/{leaver}/update"),
        &admin,
        json!({"is_active": false}),
    )
    .await
    .expect(200);
    let reply = app.get("/departments", &token).await.expect(200);
    assert_eq!(
        ids(reply.data()),
        vec![open],
        "inactive departments are left out"
    );
    assert_eq!(
        ids(&reply.data()[0]["agents"]),
        vec![agent],
        "inactive agents are left out"
    );
}

async fn tags_lists_every_tag_by_name(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read"]).await;
    for name in ["zeta", "alpha", "mid"] {
        app.post(
            "/admin/tags/create",
            &app.admin_token,
            json!({"name": name, "color": "#112233"}),
        )
        .await
        .expect(201);
    }
    let reply = app.get("/tags", &token).await.expect(200);
    let names: Vec<&str> = reply
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "mid", "zeta"]);
    assert_eq!(reply.data()[0]["color"], "#112233");
}

async fn personal_canned_responses_are_seen_only_by_their_owner(app: TestApp) {
    let (_, ada) = second_admin(&app).await;
    let (_, agent) = app.agent(&["tickets:read"]).await;
    let create = |title: &'static str, shared: bool| {
        let ada = ada.clone();
        let app = &app;
        async move {
            app.post(
                "/admin/canned-responses/create",
                &ada,
                json!({"title": title, "body": "Hello", "is_shared": shared}),
            )
            .await
            .expect(201)
            .data()["id"]
                .as_i64()
                .unwrap()
        }
    };
    let shared = create("Shared", true).await;
    let personal = create("Ada's own", false).await;
    assert_eq!(
        ids(app.get("/canned-responses", &ada).await.expect(200).data()),
        vec![personal, shared]
    );
    assert_eq!(
        ids(app
            .get("/canned-responses", &agent)
            .await
            .expect(200)
            .data()),
        vec![shared]
    );
    assert_eq!(
        ids(app
            .get("/canned-responses", &app.admin_token)
            .await
            .expect(200)
            .data()),
        vec![shared]
    );
    // Admins manage every response, personal ones included.
    assert_eq!(
        app.get("/admin/canned-responses", &app.admin_token)
            .await
            .expect(200)
            .body["meta"]["total"],
        2
    );
}

async fn personal_macros_are_seen_only_by_their_owner(app: TestApp) {
    let (ada_id, ada) = second_admin(&app).await;
    let (_, agent) = app.agent(&["tickets:read"]).await;
    let shared = app
        .post("/admin/macros/create", &ada, json!({"name": "Shared", "order": 2, "actions": [{"type": "set_priority", "value": "high"}]}))
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    let personal = app
        .post(
            "/admin/macros/create",
            &ada,
            json!({"name": "Mine", "order": 1, "is_shared": false, "script": "follow();"}),
        )
        .await
        .expect(201);
    assert_eq!(personal.data()["owner"]["id"], ada_id);
    let personal = personal.data()["id"].as_i64().unwrap();

    let reply = app.get("/macros", &ada).await.expect(200);
    assert_eq!(ids(reply.data()), vec![personal, shared], "by order");
    assert_eq!(reply.data()[0]["kind"], "script");
    let seen = app.get("/macros", &agent).await.expect(200);
    assert_eq!(ids(seen.data()), vec![shared]);
    let item = &seen.data()[0];
    assert_eq!(item["kind"], "actions");
    assert_eq!(item["is_shared"], true);
    assert_eq!(item["order"], 2);
    assert_eq!(
        item["actions"],
        json!([{"type": "set_priority", "value": "high"}])
    );
}

async fn resource_lists_need_tickets_read(app: TestApp) {
    let (id, _) = app.agent(&["agent"]).await;
    let write_only = app.token(id, &["tickets:write"]).await;
    for path in [
        "/agents",
        "/departments",
        "/tags",
        "/canned-responses",
        "/macros",
    ] {
        let reply = app.get(path, &write_only).await.expect(403);
        assert_eq!(reply.message(), "Insufficient permissions.", "{path}");
    }
}

async fn agent_tokens_cannot_reach_admin_crud(app: TestApp) {
    let (_, token) = app.agent(&["*"]).await;
    for kind in [
        "users",
        "departments",
        "tags",
        "canned-responses",
        "macros",
        "sla-policies",
    ] {
        app.get(&format!("/admin/{kind}"), &token).await.expect(403);
        app.get(&format!("/admin/{kind}/1"), &token)
            .await
            .expect(403);
        app.post(&format!("/admin/{kind}/create"), &token, json!({}))
            .await
            .expect(403);
        app.patch(&format!("/admin/{kind}/1/update"), &token, json!({}))
            .await
            .expect(403);
        app.delete(&format!("/admin/{kind}/1/delete"), &token)
            .await
            .expect(403);
    }
}
