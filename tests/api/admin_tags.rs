//! `/admin/tags` (contract §5 admin table, §8).

use serde_json::json;

use crate::{
    admin_fixtures::{count, insert_ticket, tag_ticket},
    both_databases,
    support::TestApp,
};

both_databases!(
    tag_crud_round_trip,
    tag_name_is_unique_regardless_of_case,
    tag_fields_are_validated,
    deleting_a_tag_removes_it_from_its_tickets,
    unknown_tag_is_not_found,
    racing_duplicate_is_recognised_by_the_unique_key,
);

async fn tag_crud_round_trip(app: TestApp) {
    let admin = app.admin_token.clone();
    let reply = app
        .post("/admin/tags/create", &admin, json!({"name": "  billing "}))
        .await
        .expect(201);
    assert_eq!(reply.message(), "Tag created.");
    assert_eq!(reply.data()["name"], "billing");
    assert_eq!(reply.data()["color"], "#6B7280");
    let id = reply.data()["id"].as_i64().unwrap();

    assert_eq!(
        app.get(&format!("/admin/tags/{id}"), &admin)
            .await
            .expect(200)
            .data()["name"],
        "billing"
    );
    let reply = app
        .patch(
            &format!("/admin/tags/{id}/update"),
            &admin,
            json!({"color": "#ff0000"}),
        )
        .await
        .expect(200);
    assert_eq!(reply.message(), "Tag updated.");
    assert_eq!(reply.data()["color"], "#FF0000");
    assert_eq!(reply.data()["name"], "billing");
    let list = app.get("/admin/tags", &admin).await.expect(200);
    assert_eq!(list.body["meta"]["total"], 1);
    assert_eq!(list.data()[0]["color"], "#FF0000");

    let reply = app
        .delete(&format!("/admin/tags/{id}/delete"), &admin)
        .await
        .expect(200);
    assert_eq!(reply.message(), "Tag deleted.");
    assert_eq!(reply.data(), &json!({"id": id, "outcome": "deleted"}));
    app.get(&format!("/admin/tags/{id}"), &admin)
        .await
        .expect(404);
}

async fn tag_name_is_unique_regardless_of_case(app: TestApp) {
    let admin = app.admin_token.clone();
    app.post("/admin/tags/create", &admin, json!({"name": "VIP"}))
        .await
        .expect(201);
    let other = app
        .post("/admin/tags/create", &admin, json!({"name": "urgent"}))
        .await
        .expect(201)
        .data()["id"]
        .clone();
    let reply = app
        .post("/admin/tags/create", &admin, json!({"name": "vip"}))
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("name"),
        Some("The name has already been taken.")
    );
    let reply = app
        .patch(
            &format!("/admin/tags/{other}/update"),
            &admin,
            json!({"name": "Vip"}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("name"),
        Some("The name has already been taken.")
    );
    // Renaming a tag to its own name (another case) is fine.
    app.patch(
        &format!("/admin/tags/{other}/update"),
        &admin,
        json!({"name": "URGENT"}),
    )
    .await
    .expect(200);
}

async fn tag_fields_are_validated(app: TestApp) {
    let admin = app.admin_token.clone();
    let reply = app
        .post("/admin/tags/create", &admin, json!({}))
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("name"),
        Some("The name field is required.")
    );
    let reply = app
        .post(
            "/admin/tags/create",
            &admin,
            json!({"name": "é".repeat(101), "color": "red"}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("name"),
        Some("The name may not be greater than 100 characters.")
    );
    assert_eq!(
        reply.field_error("color"),
        Some("The color must be a hex colour like #6B7280.")
    );
    app.post(
        "/admin/tags/create",
        &admin,
        json!({"name": "é".repeat(100)}),
    )
    .await
    .expect(201);
}

async fn deleting_a_tag_removes_it_from_its_tickets(app: TestApp) {
    let admin = app.admin_token.clone();
    let tag = app
        .post("/admin/tags/create", &admin, json!({"name": "doomed"}))
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    let kept = app
        .post("/admin/tags/create", &admin, json!({"name": "kept"}))
        .await
        .expect(201)
        .data()["id"]
        .as_i64()
        .unwrap();
    let ticket = insert_ticket(&app, None, None).await;
    tag_ticket(&app, ticket, tag).await;
    tag_ticket(&app, ticket, kept).await;
    app.delete(&format!("/admin/tags/{tag}/delete"), &admin)
        .await
        .expect(200);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM ticket_tags WHERE tag_id = ?",
            tag
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM ticket_tags WHERE ticket_id = ?",
            ticket
        )
        .await,
        1
    );
}

async fn unknown_tag_is_not_found(app: TestApp) {
    let admin = app.admin_token.clone();
    assert_eq!(
        app.get("/admin/tags/777", &admin)
            .await
            .expect(404)
            .message(),
        "Tag not found."
    );
    // 404 comes before validation.
    app.patch("/admin/tags/777/update", &admin, json!({"color": "nope"}))
        .await
        .expect(404);
    assert_eq!(
        app.delete("/admin/tags/777/delete", &admin)
            .await
            .expect(404)
            .message(),
        "Tag not found."
    );
}

/// Two creates that both pass the name check: the database's refusal must still read as a
/// duplicate (a 422), not a server error.
async fn racing_duplicate_is_recognised_by_the_unique_key(app: TestApp) {
    use escalated::store::{self, tags};
    let store = app.store().await;
    let mut conn = store.conn().await.unwrap();
    tags::insert(&mut conn, "race", "#000000", 0).await.unwrap();
    let err = tags::insert(&mut conn, "RACE", "#000000", 0)
        .await
        .unwrap_err();
    assert!(store::is_unique_violation(&err), "{err:?}");
    let other = tags::insert(&mut conn, "other", "#000000", 0)
        .await
        .unwrap();
    assert!(other > 0);
}
