//! `/admin/api-tokens` (contract §5, §8): list, create, update, revoke, and what each refuses.

use std::time::Duration;

use escalated::domain::users::{self, UserChanges};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{both_databases, support::TestApp};

both_databases!(
    list_is_paginated_and_never_shows_a_secret,
    create_answers_the_token_and_its_secret_once,
    create_requires_known_non_empty_abilities,
    create_refuses_customers_unknown_and_inactive_owners,
    create_checks_expiry,
    create_checks_rate_limit_and_null_means_default,
    create_checks_name,
    update_changes_what_it_is_given,
    update_validates_its_fields,
    update_of_an_unknown_or_non_numeric_id_is_404,
    delete_revokes_then_404,
    last_use_is_recorded_at_most_once_a_minute,
);

const CREATE: &str = "/admin/api-tokens/create";

fn is_rfc3339_utc(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.ends_with('Z') && !s.contains('.') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

async fn list_is_paginated_and_never_shows_a_secret(app: TestApp) {
    let agent_id = app.user("Lister", "lister@example.com", "agent").await;
    let mut secrets = vec![app.admin_token.clone()];
    for _ in 0..4 {
        secrets.push(app.token(agent_id, &["tickets:read"]).await);
    }
    // 5 tokens: the bootstrap admin's and 4 new ones.
    let reply = app
        .get("/admin/api-tokens", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(
        reply.body["meta"],
        json!({ "current_page": 1, "last_page": 1, "per_page": 25, "total": 5, "next_cursor": null })
    );
    assert_eq!(reply.data().as_array().unwrap().len(), 5);
    assert!(reply.body.get("message").is_none());

    let reply = app
        .get("/admin/api-tokens?per_page=2&page=2", &app.admin_token)
        .await
        .expect(200);
    let mut meta = reply.body["meta"].clone();
    assert!(meta["next_cursor"].is_string(), "a third page follows");
    meta.as_object_mut().unwrap().remove("next_cursor");
    assert_eq!(
        meta,
        json!({ "current_page": 2, "last_page": 3, "per_page": 2, "total": 5 })
    );
    let ids: Vec<i64> = reply
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1], "listed by id");

    let reply = app
        .get("/admin/api-tokens?per_page=2&page=9", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(reply.data(), &json!([]), "past the last page: empty data");
    assert_eq!(reply.body["meta"]["total"], 5);

    // Every field of the contract, and nothing secret anywhere in the answer.
    let reply = app
        .get("/admin/api-tokens?per_page=100", &app.admin_token)
        .await
        .expect(200);
    let text = reply.body.to_string();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a plain token is listed");
        assert!(
            !text.contains(&escalated::domain::tokens::hash(secret)),
            "a token hash is listed"
        );
    }
    for token in reply.data().as_array().unwrap() {
        let mut keys: Vec<&str> = token
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "abilities",
                "created_at",
                "expires_at",
                "id",
                "is_expired",
                "last_used_at",
                "last_used_ip",
                "name",
                "rate_limit",
                "user"
            ]
        );
        let mut user_keys: Vec<&str> = token["user"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        user_keys.sort();
        assert_eq!(user_keys, ["email", "id", "name"]);
        assert!(
            is_rfc3339_utc(&token["created_at"]),
            "{}",
            token["created_at"]
        );
    }
}

async fn create_answers_the_token_and_its_secret_once(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let reply = app
        .post(CREATE, &app.admin_token, json!({ "name": "Zapier", "user_id": agent_id, "abilities": ["tickets:read", "agent"] }))
        .await
        .expect(201);
    assert_eq!(reply.message(), "API token created.");
    let data = reply.data();
    let plain = data["plain_text_token"].as_str().unwrap();
    assert!(plain.starts_with("esc_") && plain.len() > 40, "{plain}");
    assert_eq!(data["name"], "Zapier");
    assert_eq!(data["user"]["id"], agent_id);
    assert_eq!(data["abilities"], json!(["tickets:read", "agent"]));
    assert!(
        data["expires_at"].is_null(),
        "no expiry given: never expires"
    );
    assert_eq!(data["is_expired"], false);
    assert!(data["last_used_at"].is_null() && data["last_used_ip"].is_null());
    assert!(data["rate_limit"].is_null());
    assert!(is_rfc3339_utc(&data["created_at"]));
    // The secret is shown this once only.
    let listed = app.listed_token(data["id"].as_i64().unwrap()).await;
    assert_eq!(listed["name"], "Zapier");
    assert!(listed.get("plain_text_token").is_none());
    // And it works.
    app.post("/auth/validate", plain, json!({}))
        .await
        .expect(200);
}

async fn create_requires_known_non_empty_abilities(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    for abilities in [
        json!([]),
        json!(["root"]),
        json!(["tickets:read", "tickets:admin"]),
        json!(null),
    ] {
        let body = json!({ "name": "x", "user_id": agent_id, "abilities": abilities });
        let message = app
            .post(CREATE, &app.admin_token, body)
            .await
            .expect_invalid("abilities");
        assert!(!message.is_empty(), "abilities {abilities}");
    }
    let message = app
        .post(
            CREATE,
            &app.admin_token,
            json!({ "name": "x", "user_id": agent_id }),
        )
        .await
        .expect_invalid("abilities");
    assert_eq!(message, "The abilities field is required.");
    // Every documented name is accepted.
    for name in [
        "tickets:read",
        "tickets:write",
        "tickets:delete",
        "admin",
        "*",
        "agent",
    ] {
        app.post(
            CREATE,
            &app.admin_token,
            json!({ "name": "x", "user_id": agent_id, "abilities": [name] }),
        )
        .await
        .expect(201);
    }
}

async fn create_refuses_customers_unknown_and_inactive_owners(app: TestApp) {
    let customer = app
        .user("Carl Customer", "carl@example.com", "customer")
        .await;
    let (inactive, _) = app.agent(&["agent"]).await;
    let store = app.store().await;
    users::update(
        &store,
        inactive,
        UserChanges {
            is_active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for user_id in [customer, inactive, 999_999] {
        let body = json!({ "name": "x", "user_id": user_id, "abilities": ["agent"] });
        app.post(CREATE, &app.admin_token, body)
            .await
            .expect_invalid("user_id");
    }
    let admin = app
        .user("Another Admin", "another@example.com", "admin")
        .await;
    app.post(
        CREATE,
        &app.admin_token,
        json!({ "name": "x", "user_id": admin, "abilities": ["*"] }),
    )
    .await
    .expect(201);
}

async fn create_checks_expiry(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let body = |extra: Value| {
        let mut body = json!({ "name": "x", "user_id": agent_id, "abilities": ["agent"] });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let invalid = [
        (
            json!({ "expires_at": "2099-01-01T00:00:00Z", "expires_in_days": 3 }),
            "expires_at",
        ),
        (
            json!({ "expires_at": "2020-01-01T00:00:00Z" }),
            "expires_at",
        ),
        (json!({ "expires_at": "tomorrow" }), "expires_at"),
        (json!({ "expires_in_days": 0 }), "expires_in_days"),
        (json!({ "expires_in_days": -1 }), "expires_in_days"),
        (json!({ "expires_in_days": 366 }), "expires_in_days"),
    ];
    for (extra, field) in invalid {
        let reply = app
            .post(CREATE, &app.admin_token, body(extra.clone()))
            .await;
        assert_eq!(reply.status, 422, "{extra}: {}", reply.body);
        assert!(
            reply.field_error(field).is_some(),
            "{extra}: {}",
            reply.body
        );
    }
    let now = chrono::Utc::now().timestamp();
    for days in [1, 365] {
        let reply = app
            .post(
                CREATE,
                &app.admin_token,
                body(json!({ "expires_in_days": days })),
            )
            .await
            .expect(201);
        let at = chrono::DateTime::parse_from_rfc3339(reply.data()["expires_at"].as_str().unwrap())
            .unwrap()
            .timestamp();
        assert!((at - (now + days * 86_400)).abs() < 60, "{days} days");
    }
    // Any offset is accepted and answered in UTC.
    let reply = app
        .post(
            CREATE,
            &app.admin_token,
            body(json!({ "expires_at": "2099-01-01T01:00:00+01:00" })),
        )
        .await
        .expect(201);
    assert_eq!(reply.data()["expires_at"], "2099-01-01T00:00:00Z");
}

async fn create_checks_rate_limit_and_null_means_default(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    for limit in [json!(0), json!(-5), json!(100_001)] {
        let body = json!({ "name": "x", "user_id": agent_id, "abilities": ["agent"], "rate_limit": limit });
        app.post(CREATE, &app.admin_token, body)
            .await
            .expect_invalid("rate_limit");
    }
    for limit in [json!(1), json!(100_000), json!(null)] {
        let body = json!({ "name": "x", "user_id": agent_id, "abilities": ["agent"], "rate_limit": limit });
        let reply = app.post(CREATE, &app.admin_token, body).await.expect(201);
        assert_eq!(reply.data()["rate_limit"], limit);
        let listed = app.listed_token(reply.data()["id"].as_i64().unwrap()).await;
        assert_eq!(listed["rate_limit"], limit);
    }
}

async fn create_checks_name(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    for name in [json!(""), json!("   "), json!("n".repeat(256)), json!(42)] {
        let body = json!({ "name": name, "user_id": agent_id, "abilities": ["agent"] });
        app.post(CREATE, &app.admin_token, body)
            .await
            .expect_invalid("name");
    }
    let message = app
        .post(
            CREATE,
            &app.admin_token,
            json!({ "user_id": agent_id, "abilities": ["agent"] }),
        )
        .await
        .expect_invalid("name");
    assert_eq!(message, "The name field is required.");
    // 255 characters, counted as characters.
    let body = json!({ "name": "é".repeat(255), "user_id": agent_id, "abilities": ["agent"] });
    app.post(CREATE, &app.admin_token, body).await.expect(201);
}

async fn update_changes_what_it_is_given(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let (created, _) = app
        .created_token(
            agent_id,
            &["agent"],
            json!({ "rate_limit": 50, "expires_in_days": 10 }),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/admin/api-tokens/{id}/update");

    let reply = app
        .patch(&path, &app.admin_token, json!({ "name": "Renamed" }))
        .await
        .expect(200);
    assert_eq!(reply.message(), "Token updated.");
    let data = reply.data();
    assert_eq!(data["name"], "Renamed");
    assert_eq!(
        data["abilities"],
        json!(["agent"]),
        "fields not given stay as they were"
    );
    assert_eq!(data["rate_limit"], 50);
    assert_eq!(data["expires_at"], created["expires_at"]);
    assert!(data.get("plain_text_token").is_none());

    let reply = app
        .patch(&path, &app.admin_token, json!({ "abilities": ["tickets:read", "tickets:read", " admin "], "rate_limit": null, "expires_at": null }))
        .await
        .expect(200);
    assert_eq!(
        reply.data()["abilities"],
        json!(["tickets:read", "admin"]),
        "trimmed, without repeats"
    );
    assert!(
        reply.data()["rate_limit"].is_null(),
        "null returns to the default"
    );
    assert!(reply.data()["expires_at"].is_null(), "null: never expires");

    let reply = app
        .patch(&path, &app.admin_token, json!({}))
        .await
        .expect(200);
    assert_eq!(
        reply.data()["name"],
        "Renamed",
        "an empty change changes nothing"
    );
    let listed = app.listed_token(id).await;
    assert_eq!(listed["abilities"], json!(["tickets:read", "admin"]));
    assert!(listed["rate_limit"].is_null());
}

async fn update_validates_its_fields(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let (created, token) = app
        .created_token(agent_id, &["agent"], json!({ "rate_limit": 50 }))
        .await;
    let path = format!("/admin/api-tokens/{}/update", created["id"]);
    let invalid = [
        (json!({ "name": "  " }), "name"),
        (json!({ "name": "n".repeat(256) }), "name"),
        (json!({ "abilities": [] }), "abilities"),
        (json!({ "abilities": ["root"] }), "abilities"),
        (json!({ "rate_limit": 0 }), "rate_limit"),
        (json!({ "rate_limit": 100_001 }), "rate_limit"),
        (json!({ "rate_limit": "many" }), "rate_limit"),
        (json!({ "expires_at": "soon" }), "expires_at"),
    ];
    for (body, field) in invalid {
        let reply = app.patch(&path, &app.admin_token, body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert!(reply.field_error(field).is_some(), "{body}: {}", reply.body);
    }
    // Nothing was written by the refused changes.
    let listed = app.listed_token(created["id"].as_i64().unwrap()).await;
    assert_eq!(listed["name"], "test");
    assert_eq!(listed["abilities"], json!(["agent"]));
    assert_eq!(listed["rate_limit"], 50);
    app.post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
}

async fn update_of_an_unknown_or_non_numeric_id_is_404(app: TestApp) {
    for id in ["999999", "0", "-1"] {
        let reply = app
            .patch(
                &format!("/admin/api-tokens/{id}/update"),
                &app.admin_token,
                json!({ "name": "x" }),
            )
            .await;
        assert_eq!(reply.status, 404, "id {id}: {}", reply.body);
        assert_eq!(reply.message(), "Token not found.");
    }
    for id in ["abc", "1.5", "1e3"] {
        let reply = app
            .patch(
                &format!("/admin/api-tokens/{id}/update"),
                &app.admin_token,
                json!({ "name": "x" }),
            )
            .await;
        assert_eq!(reply.status, 404, "id {id}: {}", reply.body);
        assert!(!reply.message().is_empty());
        let reply = app
            .delete(&format!("/admin/api-tokens/{id}/delete"), &app.admin_token)
            .await;
        assert_eq!(reply.status, 404, "id {id}: {}", reply.body);
    }
    // 404 for the unknown token comes before validation of the body.
    let reply = app
        .patch(
            "/admin/api-tokens/999999/update",
            &app.admin_token,
            json!({ "abilities": [] }),
        )
        .await
        .expect(404);
    assert_eq!(reply.message(), "Token not found.");
}

async fn delete_revokes_then_404(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let (created, token) = app.created_token(agent_id, &["agent"], json!({})).await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/admin/api-tokens/{id}/delete");
    let reply = app.delete(&path, &app.admin_token).await.expect(200);
    assert_eq!(reply.body, json!({ "message": "Token revoked." }));
    assert!(app.listed_token(id).await.is_null());
    app.post("/auth/validate", &token, json!({}))
        .await
        .expect(401);
    let reply = app.delete(&path, &app.admin_token).await.expect(404);
    assert_eq!(reply.message(), "Token not found.");
    let reply = app
        .patch(
            &format!("/admin/api-tokens/{id}/update"),
            &app.admin_token,
            json!({ "name": "x" }),
        )
        .await
        .expect(404);
    assert_eq!(reply.message(), "Token not found.");
}

async fn last_use_is_recorded_at_most_once_a_minute(app: TestApp) {
    // The minute is the server's clock's: stopped, it moves only when the test says.
    app.clock.stop();
    let (agent_id, _) = app.agent(&["agent"]).await;
    let (created, token) = app.created_token(agent_id, &["agent"], json!({})).await;
    let id = created["id"].as_i64().unwrap();
    assert!(app.listed_token(id).await["last_used_at"].is_null());

    app.call(Method::POST, "/auth/validate", Some(&token), None)
        .await
        .expect(200);
    // The write happens off the request path: poll for it.
    let mut listed = Value::Null;
    for _ in 0..100 {
        listed = app.listed_token(id).await;
        if !listed["last_used_at"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = listed["last_used_at"].clone();
    assert!(
        is_rfc3339_utc(&first),
        "last_used_at was not recorded: {listed}"
    );
    assert_eq!(listed["last_used_ip"], "127.0.0.1");

    // A use 59 seconds later, within the minute: not recorded (the answer shows the use last
    // recorded, which a recording would have moved).
    app.clock.advance(Duration::from_secs(59));
    let reply = app
        .call(Method::POST, "/auth/validate", Some(&token), None)
        .await
        .expect(200);
    assert_eq!(reply.data()["token"]["last_used_at"], first);
    // A minute after the first: recorded again.
    app.clock.advance(Duration::from_secs(1));
    let reply = app
        .call(Method::POST, "/auth/validate", Some(&token), None)
        .await
        .expect(200);
    let second = reply.data()["token"]["last_used_at"].clone();
    assert_ne!(second, first);
    for _ in 0..100 {
        if app.listed_token(id).await["last_used_at"] == second {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "the use a minute later was never written: {}",
        app.listed_token(id).await
    );
}
