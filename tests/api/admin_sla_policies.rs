//! `/admin/sla-policies` (contract §5 admin table, §8).

use serde_json::{Value, json};

use crate::{admin_fixtures::insert_ticket, both_databases, support::TestApp};

both_databases!(
    fresh_database_has_the_standard_policy,
    sla_policy_crud_with_business_hours,
    sla_hours_name_every_priority_with_positive_hours,
    business_hours_are_validated,
    making_a_policy_default_takes_the_flag_from_the_others,
    deactivating_the_default_leaves_no_default,
    sla_policy_in_use_is_deactivated_instead_of_deleted,
    unused_sla_policy_is_deleted,
    sla_policy_name_is_unique,
    unknown_sla_policy_is_not_found,
);

fn hours(low: f64, medium: f64, high: f64, urgent: f64, critical: f64) -> Value {
    json!({"low": low, "medium": medium, "high": high, "urgent": urgent, "critical": critical})
}

fn policy(name: &str) -> Value {
    json!({
        "name": name,
        "first_response_hours": hours(12.0, 6.0, 3.0, 1.0, 0.5),
        "resolution_hours": hours(48.0, 24.0, 12.0, 6.0, 2.0),
    })
}

async fn create(app: &TestApp, body: Value) -> i64 {
    app.post("/admin/sla-policies/create", &app.admin_token, body)
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap()
}

async fn fresh_database_has_the_standard_policy(app: TestApp) {
    let reply = app
        .get("/admin/sla-policies", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(reply.body["meta"]["total"], 1);
    let standard = &reply.data()[0];
    assert_eq!(standard["name"], "Standard");
    assert_eq!(standard["is_default"], true);
    assert_eq!(standard["is_active"], true);
    assert_eq!(
        standard["first_response_hours"],
        json!({"low": 24, "medium": 8, "high": 4, "urgent": 2, "critical": 1})
    );
    assert_eq!(
        standard["resolution_hours"],
        json!({"low": 72, "medium": 48, "high": 24, "urgent": 8, "critical": 4})
    );
    assert!(standard["business_hours"].is_null(), "calendar hours");
}

async fn sla_policy_crud_with_business_hours(app: TestApp) {
    let admin = app.admin_token.clone();
    let mut body = policy("Office hours");
    body["description"] = json!("Weekdays, Paris time");
    body["business_hours"] = json!({
        "timezone": "Europe/Paris",
        "schedule": {"monday": ["09:00", "17:30"], "friday": ["09:00", "12:00"]},
        "holidays": ["2026-12-25"]
    });
    let reply = app
        .post("/admin/sla-policies/create", &admin, body)
        .await
        .expect(201);
    assert_eq!(reply.message(), "SLA policy created.");
    let p = reply.data().clone();
    assert_eq!(p["is_default"], false);
    assert_eq!(p["is_active"], true);
    assert_eq!(
        p["first_response_hours"]["critical"], 0.5,
        "fractional hours are kept"
    );
    assert_eq!(p["first_response_hours"]["low"], 12);
    assert_eq!(p["business_hours"]["timezone"], "Europe/Paris");
    assert_eq!(
        p["business_hours"]["schedule"]["monday"],
        json!(["09:00", "17:30"])
    );
    assert_eq!(p["business_hours"]["holidays"], json!(["2026-12-25"]));
    let id = p["id"].as_i64().unwrap();

    let reply = app
        .patch(
            &format!("/admin/sla-policies/{id}/update"),
            &admin,
            json!({"business_hours": null, "resolution_hours": hours(40.0, 20.0, 10.0, 5.0, 2.5)}),
        )
        .await
        .expect(200);
    assert_eq!(reply.message(), "SLA policy updated.");
    assert!(reply.data()["business_hours"].is_null());
    assert_eq!(reply.data()["resolution_hours"]["critical"], 2.5);
    assert_eq!(reply.data()["first_response_hours"]["low"], 12, "untouched");
    let shown = app
        .get(&format!("/admin/sla-policies/{id}"), &admin)
        .await
        .expect(200);
    assert_eq!(shown.data()["description"], "Weekdays, Paris time");
    assert_eq!(shown.data()["resolution_hours"]["low"], 40);
}

async fn sla_hours_name_every_priority_with_positive_hours(app: TestApp) {
    let admin = app.admin_token.clone();
    let mut body = policy("Partial");
    body["first_response_hours"]
        .as_object_mut()
        .unwrap()
        .remove("urgent");
    let reply = app
        .post("/admin/sla-policies/create", &admin, body)
        .await
        .expect(422);
    assert!(
        reply.field_error("first_response_hours.urgent").is_some(),
        "{}",
        reply.body
    );

    let mut body = policy("Negative");
    body["resolution_hours"]["high"] = json!(-1);
    body["first_response_hours"]["low"] = json!(0);
    let reply = app
        .post("/admin/sla-policies/create", &admin, body)
        .await
        .expect(422);
    assert!(
        reply.field_error("resolution_hours.high").is_some(),
        "{}",
        reply.body
    );
    assert!(reply.field_error("first_response_hours.low").is_some());

    let mut body = policy("Wordy");
    body["first_response_hours"]["medium"] = json!("eight");
    let reply = app
        .post("/admin/sla-policies/create", &admin, body)
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("first_response_hours.medium"),
        Some("The first response hours.medium field must be a number.")
    );

    let reply = app
        .post(
            "/admin/sla-policies/create",
            &admin,
            json!({"name": "No hours"}),
        )
        .await
        .expect(422);
    assert!(reply.field_error("first_response_hours").is_some());
}

async fn business_hours_are_validated(app: TestApp) {
    let admin = app.admin_token.clone();
    let mut body = policy("Broken hours");
    body["business_hours"] = json!({
        "schedule": {"monday": ["17:00", "09:00"], "funday": ["09:00", "10:00"], "tuesday": ["9am", "5pm"]},
        "holidays": ["2026-02-30"]
    });
    let reply = app
        .post("/admin/sla-policies/create", &admin, body)
        .await
        .expect(422);
    for field in [
        "business_hours.timezone",
        "business_hours.schedule.monday",
        "business_hours.schedule.funday",
        "business_hours.schedule.tuesday",
        "business_hours.holidays.0",
    ] {
        assert!(
            reply.field_error(field).is_some(),
            "{field} missing from {}",
            reply.body
        );
    }
    let mut body = policy("Not an object");
    body["business_hours"] = json!("9 to 5");
    let reply = app
        .post("/admin/sla-policies/create", &admin, body)
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("business_hours"),
        Some("The business hours must be an object.")
    );
    assert_eq!(
        app.get("/admin/sla-policies", &admin)
            .await
            .expect(200)
            .body["meta"]["total"],
        1
    );
}

async fn making_a_policy_default_takes_the_flag_from_the_others(app: TestApp) {
    let admin = app.admin_token.clone();
    let mut body = policy("Premium");
    body["is_default"] = json!(true);
    let premium = create(&app, body).await;
    assert_eq!(
        app.get("/admin/sla-policies/1", &admin)
            .await
            .expect(200)
            .data()["is_default"],
        false
    );
    let gold = create(&app, policy("Gold")).await;
    app.patch(
        &format!("/admin/sla-policies/{gold}/update"),
        &admin,
        json!({"is_default": true}),
    )
    .await
    .expect(200);
    let list = app.get("/admin/sla-policies", &admin).await.expect(200);
    let defaults: Vec<i64> = list
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["is_default"] == true)
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(defaults, vec![gold]);
    assert_ne!(premium, gold);
}

async fn deactivating_the_default_leaves_no_default(app: TestApp) {
    let admin = app.admin_token.clone();
    let reply = app
        .patch(
            "/admin/sla-policies/1/update",
            &admin,
            json!({"is_active": false}),
        )
        .await
        .expect(200);
    assert_eq!(reply.data()["is_active"], false);
    assert_eq!(reply.data()["is_default"], false);
    let reply = app
        .patch(
            "/admin/sla-policies/1/update",
            &admin,
            json!({"is_default": true}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("is_default"),
        Some("An inactive policy cannot be the default.")
    );
    let reply = app
        .patch(
            "/admin/sla-policies/1/update",
            &admin,
            json!({"is_default": true, "is_active": true}),
        )
        .await
        .expect(200);
    assert_eq!(reply.data()["is_default"], true);
}

async fn sla_policy_in_use_is_deactivated_instead_of_deleted(app: TestApp) {
    let admin = app.admin_token.clone();
    let by_ticket = create(&app, policy("Used by a ticket")).await;
    insert_ticket(&app, None, Some(by_ticket)).await;
    let reply = app
        .delete(&format!("/admin/sla-policies/{by_ticket}/delete"), &admin)
        .await
        .expect(200);
    assert_eq!(reply.message(), "SLA policy deleted.");
    assert_eq!(reply.data()["outcome"], "deactivated");
    assert_eq!(
        app.get(&format!("/admin/sla-policies/{by_ticket}"), &admin)
            .await
            .expect(200)
            .data()["is_active"],
        false
    );

    let by_department = create(&app, policy("Used by a department")).await;
    app.post(
        "/admin/departments/create",
        &admin,
        json!({"name": "VIP desk", "sla_policy_id": by_department}),
    )
    .await
    .expect(201);
    let reply = app
        .delete(
            &format!("/admin/sla-policies/{by_department}/delete"),
            &admin,
        )
        .await
        .expect(200);
    assert_eq!(reply.data()["outcome"], "deactivated");
    app.get(&format!("/admin/sla-policies/{by_department}"), &admin)
        .await
        .expect(200);

    // The Standard policy may go too; with no default, new tickets get none.
    insert_ticket(&app, None, Some(1)).await;
    app.delete("/admin/sla-policies/1/delete", &admin)
        .await
        .expect(200);
    let standard = app.get("/admin/sla-policies/1", &admin).await.expect(200);
    assert_eq!(standard.data()["is_active"], false);
    assert_eq!(standard.data()["is_default"], false);
}

async fn unused_sla_policy_is_deleted(app: TestApp) {
    let admin = app.admin_token.clone();
    let id = create(&app, policy("Short-lived")).await;
    let reply = app
        .delete(&format!("/admin/sla-policies/{id}/delete"), &admin)
        .await
        .expect(200);
    assert_eq!(reply.data()["outcome"], "deleted");
    assert_eq!(
        app.get(&format!("/admin/sla-policies/{id}"), &admin)
            .await
            .expect(404)
            .message(),
        "SLA policy not found."
    );
}

async fn sla_policy_name_is_unique(app: TestApp) {
    let admin = app.admin_token.clone();
    let reply = app
        .post("/admin/sla-policies/create", &admin, policy("standard"))
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("name"),
        Some("The name has already been taken.")
    );
    let other = create(&app, policy("Other")).await;
    let reply = app
        .patch(
            &format!("/admin/sla-policies/{other}/update"),
            &admin,
            json!({"name": "STANDARD"}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("name"),
        Some("The name has already been taken.")
    );
}

async fn unknown_sla_policy_is_not_found(app: TestApp) {
    let admin = app.admin_token.clone();
    assert_eq!(
        app.get("/admin/sla-policies/99", &admin)
            .await
            .expect(404)
            .message(),
        "SLA policy not found."
    );
    app.patch("/admin/sla-policies/99/update", &admin, json!({"name": ""}))
        .await
        .expect(404);
    app.delete("/admin/sla-policies/99/delete", &admin)
        .await
        .expect(404);
}
