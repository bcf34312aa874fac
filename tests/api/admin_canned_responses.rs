//! `/admin/canned-responses` (contract §5 admin table).

use serde_json::json;

use crate::{both_databases, support::TestApp};

both_databases!(
    canned_response_crud_round_trip,
    canned_response_fields_are_validated,
    personal_canned_response_belongs_to_its_creator,
    unknown_canned_response_is_not_found,
);

async fn canned_response_crud_round_trip(app: TestApp) {
    let admin = app.admin_token.clone();
    let reply = app
        .post(
            "/admin/canned-responses/create",
            &admin,
            json!({"title": "Thanks", "body": "Thanks for writing!\n", "category": "General"}),
        )
        .await
        .expect(201);
    assert_eq!(reply.message(), "Canned response created.");
    let canned = reply.data().clone();
    assert_eq!(canned["is_shared"], true);
    assert!(canned["owner"].is_null());
    assert_eq!(
        canned["body"], "Thanks for writing!\n",
        "bodies are kept as written"
    );
    let id = canned["id"].as_i64().unwrap();

    let reply = app
        .patch(
            &format!("/admin/canned-responses/{id}/update"),
            &admin,
            json!({"title": "Thank you", "category": null}),
        )
        .await
        .expect(200);
    assert_eq!(reply.message(), "Canned response updated.");
    assert_eq!(reply.data()["title"], "Thank you");
    assert!(reply.data()["category"].is_null());
    assert_eq!(
        app.get(&format!("/admin/canned-responses/{id}"), &admin)
            .await
            .expect(200)
            .data()["title"],
        "Thank you"
    );
    assert_eq!(
        app.get("/admin/canned-responses", &admin)
            .await
            .expect(200)
            .body["meta"]["total"],
        1
    );

    let reply = app
        .delete(&format!("/admin/canned-responses/{id}/delete"), &admin)
        .await
        .expect(200);
    assert_eq!(reply.message(), "Canned response deleted.");
    app.get(&format!("/admin/canned-responses/{id}"), &admin)
        .await
        .expect(404);
}

async fn canned_response_fields_are_validated(app: TestApp) {
    let admin = app.admin_token.clone();
    let reply = app
        .post(
            "/admin/canned-responses/create",
            &admin,
            json!({"body": "   "}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("title"),
        Some("The title field is required.")
    );
    let reply = app
        .post(
            "/admin/canned-responses/create",
            &admin,
            json!({"title": "T", "body": "   "}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("body"),
        Some("The body field is required.")
    );
    let reply = app
        .post(
            "/admin/canned-responses/create",
            &admin,
            json!({"title": "T", "body": "x".repeat(65_536), "category": "c".repeat(256)}),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("body"),
        Some("The body may not be greater than 65535 characters.")
    );
    assert_eq!(
        reply.field_error("category"),
        Some("The category may not be greater than 255 characters.")
    );
}

async fn personal_canned_response_belongs_to_its_creator(app: TestApp) {
    let admin = app.admin_token.clone();
    let me = app
        .post("/auth/validate", &admin, json!({}))
        .await
        .expect(200)
        .data()["user"]
        .clone();
    let reply = app
        .post(
            "/admin/canned-responses/create",
            &admin,
            json!({"title": "Mine", "body": "Only for me.", "is_shared": false}),
        )
        .await
        .expect(201);
    assert_eq!(reply.data()["is_shared"], false);
    assert_eq!(
        reply.data()["owner"],
        json!({"id": me["id"], "name": me["name"]})
    );
    let id = reply.data()["id"].as_i64().unwrap();
    let reply = app
        .patch(
            &format!("/admin/canned-responses/{id}/update"),
            &admin,
            json!({"is_shared": true}),
        )
        .await
        .expect(200);
    assert!(
        reply.data()["owner"].is_null(),
        "a shared response has no owner"
    );
}

async fn unknown_canned_response_is_not_found(app: TestApp) {
    let admin = app.admin_token.clone();
    assert_eq!(
        app.get("/admin/canned-responses/5", &admin)
            .await
            .expect(404)
            .message(),
        "Canned response not found."
    );
    app.patch(
        "/admin/canned-responses/5/update",
        &admin,
        json!({"title": ""}),
    )
    .await
    .expect(404);
    app.delete("/admin/canned-responses/5/delete", &admin)
        .await
        .expect(404);
}
