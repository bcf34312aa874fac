//! `/admin/departments` (contract §5 admin table, §8).

use serde_json::json;

use crate::{
    admin_fixtures::{count, insert_ticket},
    both_databases,
    support::TestApp,
};

both_databases!(
    department_crud_with_agents,
    department_agents_must_be_active_agents_or_admins,
    department_name_is_unique,
    department_sla_policy_must_be_an_active_policy,
    department_in_use_is_deactivated_instead_of_deleted,
    unused_department_is_deleted_with_its_agents,
    unknown_department_is_not_found,
);

async fn department_crud_with_agents(app: TestApp) {
    let admin = app.admin_token.clone();
    let (ann, _) = app.agent(&["agent"]).await;
    let (bob, _) = app.agent(&["agent"]).await;
    let reply = app
        .post(
            "/admin/departments/create",
            &admin,
            json!({"name": "Billing", "description": "Money matters", "agent_ids": [ann, ann], "sla_policy_id": 1}),
        )
        .await
        .expect(201);
    assert_eq!(reply.message(), "Department created.");
    let department = reply.data().clone();
    assert_eq!(department["is_active"], true);
    assert_eq!(department["sla_policy_id"], 1);
    assert_eq!(
        department["agents"].as_array().unwrap().len(),
        1,
        "duplicates are ignored"
    );
    assert_eq!(department["agents"][0]["id"], ann);
    assert!(
        department["agents"][0]["email"]
            .as_str()
            .unwrap()
            .contains('@')
    );
    let id = department["id"].as_i64().unwrap();

    let reply = app
        .patch(
            &format!("/admin/departments/{id}/update"),
            &admin,
            json!({"agent_ids": [bob], "description": null, "sla_policy_id": null}),
        )
        .await
        .expect(200);
    assert_eq!(reply.message(), "Department updated.");
    assert_eq!(reply.data()["agents"].as_array().unwrap().len(), 1);
    assert_eq!(reply.data()["agents"][0]["id"], bob);
    assert!(reply.data()["description"].is_null());
    assert!(reply.data()["sla_policy_id"].is_null());
    assert_eq!(reply.data()["name"], "Billing");

    // Leaving agent_ids out keeps the agents.
    let reply = app
        .patch(
            &format!("/admin/departments/{id}/update"),
            &admin,
            json!({"is_active": false}),
        )
        .await
        .expect(200);
    assert_eq!(reply.data()["agents"][0]["id"], bob);
    let shown = app
        .get(&format!("/admin/departments/{id}"), &admin)
        .await
        .expect(200);
    assert_eq!(shown.data()["is_active"], false);
    let list = app.get("/admin/departments", &admin).await.expect(200);
    assert_eq!(list.body["meta"]["total"], 1);
    assert_eq!(list.data()[0]["agents"][0]["id"], bob);
}

async fn department_agents_must_be_active_agents_or_admins(app: TestApp) {
    let admin = app.admin_token.clone();
    let customer = app.user("Cleo", "cleo@example.com", "customer").await;
    let (agent, _) = app.agent(&["agent"]).await;
    let reply = app
        .post(
            "/admin/departments/create",
            &admin,
            json!({"name": "Sales", "agent_ids": [agent, customer, 9999]}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("agent_ids"),
        Some(format!("These ids are not active agents or admins: {customer}, 9999.").as_str())
    );
    let too_many: Vec<i64> = (1..=501).collect();
    let reply = app
        .post(
            "/admin/departments/create",
            &admin,
            json!({"name": "Sales", "agent_ids": too_many}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("agent_ids"),
        Some("The agent ids may not have more than 500 items.")
    );
    let reply = app
        .post(
            "/admin/departments/create",
            &admin,
            json!({"name": "Sales", "agent_ids": ["x"]}),
        )
        .await
        .expect(422);
    assert!(reply.field_error("agent_ids.0").is_some());
    assert_eq!(
        app.get("/admin/departments", &admin).await.expect(200).body["meta"]["total"],
        0,
        "nothing was written"
    );
}

async fn department_name_is_unique(app: TestApp) {
    let admin = app.admin_token.clone();
    app.post(
        "/admin/departments/create",
        &admin,
        json!({"name": "Support"}),
    )
    .await
    .expect(201);
    let other = app
        .post(
            "/admin/departments/create",
            &admin,
            json!({"name": "Sales"}),
        )
        .await
        .expect(201)
        .data()["id"]
        .clone();
    let reply = app
        .post(
            "/admin/departments/create",
            &admin,
            json!({"name": "support"}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("name"),
        Some("The name has already been taken.")
    );
    let reply = app
        .patch(
            &format!("/admin/departments/{other}/update"),
            &admin,
            json!({"name": "SUPPORT"}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("name"),
        Some("The name has already been taken.")
    );
    let reply = app
        .post("/admin/departments/create", &admin, json!({"name": "  "}))
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("name"),
        Some("The name field is required.")
    );
}

async fn department_sla_policy_must_be_an_active_policy(app: TestApp) {
    let admin = app.admin_token.clone();
    let reply = app
        .post(
            "/admin/departments/create",
            &admin,
            json!({"name": "Ops", "sla_policy_id": 4242}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("sla_policy_id"),
        Some("The selected sla policy id is invalid.")
    );
    app.patch(
        "/admin/sla-policies/1/update",
        &admin,
        json!({"is_active": false}),
    )
    .await
    .expect(200);
    let reply = app
        .post(
            "/admin/departments/create",
            &admin,
            json!({"name": "Ops", "sla_policy_id": 1}),
        )
        .await
        .expect(422);
    assert!(reply.field_error("sla_policy_id").is_some());
}

async fn department_in_use_is_deactivated_instead_of_deleted(app: TestApp) {
    let admin = app.admin_token.clone();
    let id = app
        .post(
            "/admin/departments/create",
            &admin,
            json!({"name": "Legacy"}),
        )
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    insert_ticket(&app, Some(id), None).await;
    let reply = app
        .delete(&format!("/admin/departments/{id}/delete"), &admin)
        .await
        .expect(200);
    assert_eq!(reply.message(), "Department deleted.");
    assert_eq!(reply.data()["outcome"], "deactivated");
    let shown = app
        .get(&format!("/admin/departments/{id}"), &admin)
        .await
        .expect(200);
    assert_eq!(shown.data()["is_active"], false);
}

async fn unused_department_is_deleted_with_its_agents(app: TestApp) {
    let admin = app.admin_token.clone();
    let (agent, _) = app.agent(&["agent"]).await;
    let id = app
        .post(
            "/admin/departments/create",
            &admin,
            json!({"name": "Temp", "agent_ids": [agent]}),
        )
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    let reply = app
        .delete(&format!("/admin/departments/{id}/delete"), &admin)
        .await
        .expect(200);
    assert_eq!(reply.data()["outcome"], "deleted");
    app.get(&format!("/admin/departments/{id}"), &admin)
        .await
        .expect(404);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM department_agents WHERE department_id = ?",
            id
        )
        .await,
        0
    );
}

async fn unknown_department_is_not_found(app: TestApp) {
    let admin = app.admin_token.clone();
    assert_eq!(
        app.get("/admin/departments/31337", &admin)
            .await
            .expect(404)
            .message(),
        "Department not found."
    );
    app.patch(
        "/admin/departments/31337/update",
        &admin,
        json!({"name": ""}),
    )
    .await
    .expect(404);
    assert_eq!(
        app.delete("/admin/departments/31337/delete", &admin)
            .await
            .expect(404)
            .message(),
        "Department not found."
    );
}
