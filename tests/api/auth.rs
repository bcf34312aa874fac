//! Authentication and abilities (contract §3, §4, §8): every 401 and 403 the guard gives, and
//! edits that must apply on the very next request.

use escalated::domain::users::{self, UserChanges};
use reqwest::Method;
use serde_json::json;

use crate::{both_databases, support::TestApp};

both_databases!(
    validate_returns_owner_abilities_and_token,
    any_valid_staff_token_may_validate_whatever_its_abilities,
    missing_or_malformed_header_is_unauthenticated,
    bearer_scheme_is_matched_case_insensitively,
    unknown_token_is_invalid,
    expired_token_is_refused,
    token_lacking_the_ability_is_forbidden,
    agent_owner_bounds_a_star_token,
    deactivated_owner_loses_access,
    owner_demoted_to_customer_loses_access,
    revocation_applies_on_the_next_request,
    changed_abilities_apply_on_the_next_request,
    changed_name_and_expiry_show_on_the_next_request,
    path_spellings_do_not_slip_past_the_admin_check,
);

// The hammering requests of a revoked token count against the address: keep them from running
// into its limit.
both_databases!(
    config = |c| c.api.unauthenticated_rate_limit = 1_000_000;
    revocation_applies_even_while_the_token_is_in_use,
);

async fn validate_returns_owner_abilities_and_token(app: TestApp) {
    let (agent_id, token) = app.agent(&["agent"]).await;
    let reply = app
        .post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
    let data = reply.data();
    assert_eq!(data["user"]["id"], agent_id);
    assert_eq!(data["user"]["role"], "agent");
    assert!(
        data["user"]["email"]
            .as_str()
            .unwrap()
            .ends_with("@example.com")
    );
    assert_eq!(data["role"], "agent");
    assert_eq!(data["abilities"], json!(["agent"]));
    assert_eq!(data["token"]["name"], "test");
    assert!(data["token"]["id"].is_i64());
    assert!(data["token"]["expires_at"].is_null());
    assert!(
        reply.body.get("message").is_none(),
        "a read carries no message"
    );
}

async fn any_valid_staff_token_may_validate_whatever_its_abilities(app: TestApp) {
    for abilities in [
        &["tickets:read"][..],
        &["tickets:delete"],
        &["admin"],
        &["*"],
    ] {
        let (_, token) = app.agent(abilities).await;
        let reply = app
            .post("/auth/validate", &token, json!({}))
            .await
            .expect(200);
        assert_eq!(reply.data()["abilities"], json!(abilities));
    }
}

async fn missing_or_malformed_header_is_unauthenticated(app: TestApp) {
    let url = app.url("/auth/validate");
    let cases: [&[(&str, &str)]; 7] = [
        &[],
        &[("Authorization", "")],
        &[("Authorization", "Basic YWxpY2U6c2VjcmV0")],
        &[("Authorization", "Token esc_abc")],
        &[("Authorization", "Bearer")],
        &[("Authorization", "Bearer ")],
        &[("Authorization", "Bearer    ")],
    ];
    for headers in cases {
        let reply = app.raw(Method::POST, &url, headers, "").await;
        assert_eq!(reply.status, 401, "headers {headers:?}: {}", reply.body);
        assert_eq!(reply.message(), "Unauthenticated.", "headers {headers:?}");
    }
}

async fn bearer_scheme_is_matched_case_insensitively(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let url = app.url("/auth/validate");
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let header = format!("{scheme} {token}");
        app.raw(Method::POST, &url, &[("Authorization", &header)], "")
            .await
            .expect(200);
    }
}

async fn unknown_token_is_invalid(app: TestApp) {
    let url = app.url("/auth/validate");
    let (_, real) = app.agent(&["agent"]).await;
    // A well-formed token that was never issued, one that is not ours at all, and a real one
    // with a character changed.
    let mut tampered = real.clone();
    tampered.pop();
    tampered.push(if real.ends_with('A') { 'B' } else { 'A' });
    for token in [
        "esc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "nonsense",
        "esc_",
        tampered.as_str(),
    ] {
        let header = format!("Bearer {token}");
        let reply = app
            .raw(Method::POST, &url, &[("Authorization", &header)], "")
            .await
            .expect(401);
        assert_eq!(reply.message(), "Invalid token.", "token {token}");
    }
}

async fn expired_token_is_refused(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let (created, token) = app
        .created_token(
            agent_id,
            &["agent"],
            json!({ "expires_at": "2099-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(created["expires_at"], "2099-01-01T00:00:00Z");
    assert_eq!(created["is_expired"], false);
    // Used once, so the lookup is cached...
    app.post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
    // ...and a past expiry (allowed on update) still applies at once.
    let id = created["id"].as_i64().unwrap();
    let reply = app
        .patch(
            &format!("/admin/api-tokens/{id}/update"),
            &app.admin_token,
            json!({ "expires_at": "2020-01-01T00:00:00Z" }),
        )
        .await
        .expect(200);
    assert_eq!(reply.data()["is_expired"], true);
    let reply = app
        .post("/auth/validate", &token, json!({}))
        .await
        .expect(401);
    assert_eq!(reply.message(), "Token has expired.");
    assert_eq!(app.listed_token(id).await["is_expired"], true);
    // `null` makes it never expire again.
    app.patch(
        &format!("/admin/api-tokens/{id}/update"),
        &app.admin_token,
        json!({ "expires_at": null }),
    )
    .await
    .expect(200);
    let reply = app
        .post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
    assert!(reply.data()["token"]["expires_at"].is_null());
}

async fn token_lacking_the_ability_is_forbidden(app: TestApp) {
    // An admin owner, so only the token's abilities are in the way.
    let admin = app
        .user("Second Admin", "admin2@example.com", "admin")
        .await;
    let limited = app
        .token(admin, &["tickets:read", "tickets:write", "tickets:delete"])
        .await;
    let reply = app.get("/admin/api-tokens", &limited).await.expect(403);
    assert_eq!(reply.message(), "Insufficient permissions.");
    let reply = app
        .post("/admin/api-tokens/create", &limited, json!({}))
        .await
        .expect(403);
    assert_eq!(
        reply.message(),
        "Insufficient permissions.",
        "403 comes before validation"
    );
    for abilities in [&["admin"][..], &["*"]] {
        let allowed = app.token(admin, abilities).await;
        app.get("/admin/api-tokens", &allowed).await.expect(200);
    }
}

async fn agent_owner_bounds_a_star_token(app: TestApp) {
    let (_, star) = app.agent(&["*"]).await;
    app.post("/auth/validate", &star, json!({}))
        .await
        .expect(200);
    for (method, path) in [
        (Method::GET, "/admin/api-tokens"),
        (Method::POST, "/admin/api-tokens/create"),
        (Method::PATCH, "/admin/api-tokens/1/update"),
        (Method::DELETE, "/admin/api-tokens/1/delete"),
    ] {
        let reply = app
            .call(method.clone(), path, Some(&star), Some(json!({})))
            .await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.body);
        assert_eq!(reply.message(), "Insufficient permissions.");
    }
    // The admin's own token is untouched by that.
    assert!(app.listed_token(1).await.is_object());
}

async fn deactivated_owner_loses_access(app: TestApp) {
    let (agent_id, token) = app.agent(&["*"]).await;
    let store = app.store().await;
    users::update(
        &store,
        agent_id,
        UserChanges {
            is_active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let reply = app
        .post("/auth/validate", &token, json!({}))
        .await
        .expect(403);
    assert_eq!(reply.message(), "User no longer has agent access.");
    // A deactivated admin too, whatever the token may do.
    let admin = app
        .user("Old Admin", "old-admin@example.com", "admin")
        .await;
    let token = app.token(admin, &["*"]).await;
    users::update(
        &store,
        admin,
        UserChanges {
            is_active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let reply = app.get("/admin/api-tokens", &token).await.expect(403);
    assert_eq!(reply.message(), "User no longer has agent access.");
}

async fn owner_demoted_to_customer_loses_access(app: TestApp) {
    let (agent_id, token) = app.agent(&["agent"]).await;
    let store = app.store().await;
    users::update(
        &store,
        agent_id,
        UserChanges {
            role: Some("customer".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let reply = app
        .post("/auth/validate", &token, json!({}))
        .await
        .expect(403);
    assert_eq!(reply.message(), "User no longer has agent access.");
    // An admin demoted to agent keeps agent access but loses /admin.
    let admin = app
        .user("Demoted Admin", "demoted@example.com", "admin")
        .await;
    let token = app.token(admin, &["*"]).await;
    users::update(
        &store,
        admin,
        UserChanges {
            role: Some("agent".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
    let reply = app.get("/admin/api-tokens", &token).await.expect(403);
    assert_eq!(reply.message(), "Insufficient permissions.");
}

async fn revocation_applies_on_the_next_request(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let (created, token) = app.created_token(agent_id, &["agent"], json!({})).await;
    let id = created["id"].as_i64().unwrap();
    app.post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
    app.delete(&format!("/admin/api-tokens/{id}/delete"), &app.admin_token)
        .await
        .expect(200);
    let reply = app
        .post("/auth/validate", &token, json!({}))
        .await
        .expect(401);
    assert_eq!(reply.message(), "Invalid token.");
}

async fn changed_abilities_apply_on_the_next_request(app: TestApp) {
    let admin = app
        .user("Token Admin", "token-admin@example.com", "admin")
        .await;
    let (created, token) = app.created_token(admin, &["*"], json!({})).await;
    let update = format!("/admin/api-tokens/{}/update", created["id"]);
    app.get("/admin/api-tokens", &token).await.expect(200);

    app.patch(
        &update,
        &app.admin_token,
        json!({ "abilities": ["tickets:read"] }),
    )
    .await
    .expect(200);
    let reply = app.get("/admin/api-tokens", &token).await.expect(403);
    assert_eq!(reply.message(), "Insufficient permissions.");
    let reply = app
        .post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
    assert_eq!(reply.data()["abilities"], json!(["tickets:read"]));

    app.patch(&update, &app.admin_token, json!({ "abilities": ["admin"] }))
        .await
        .expect(200);
    app.get("/admin/api-tokens", &token).await.expect(200);
}

async fn changed_name_and_expiry_show_on_the_next_request(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let (created, token) = app.created_token(agent_id, &["agent"], json!({})).await;
    app.post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
    let update = format!("/admin/api-tokens/{}/update", created["id"]);
    app.patch(
        &update,
        &app.admin_token,
        json!({ "name": "Renamed", "expires_at": "2098-05-06T07:08:09Z" }),
    )
    .await
    .expect(200);
    let reply = app
        .post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
    assert_eq!(reply.data()["token"]["name"], "Renamed");
    assert_eq!(reply.data()["token"]["expires_at"], "2098-05-06T07:08:09Z");
}

async fn path_spellings_do_not_slip_past_the_admin_check(app: TestApp) {
    // The guard decides on the path as routed: an agent's `*` token gets nothing under /admin,
    // however the path is spelled.
    let (_, star) = app.agent(&["*"]).await;
    let bearer = format!("Bearer {star}");
    for path in [
        "/admin/api-tokens",
        "/admin/api-tokens/",
        "/%61dmin/api-tokens",
        "//admin/api-tokens",
        "/admin%2Fapi-tokens",
        "/ADMIN/api-tokens",
    ] {
        let reply = app
            .raw(
                Method::GET,
                &format!("{}{path}", app.base),
                &[("Authorization", &bearer)],
                "",
            )
            .await;
        assert!(
            reply.status == 403 || reply.status == 404,
            "{path}: {} {}",
            reply.status,
            reply.body
        );
    }
}

async fn revocation_applies_even_while_the_token_is_in_use(app: TestApp) {
    // Lookups racing the edits: an edit drops the cached entry, so concurrent requests read the
    // row again while the revocation commits. None of them may leave the old row cached.
    let (agent_id, _) = app.agent(&["agent"]).await;
    for round in 0..30 {
        let (created, token) = app.created_token(agent_id, &["agent"], json!({})).await;
        let id = created["id"].as_i64().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut hammers = Vec::new();
        for _ in 0..3 {
            let (client, url, token, stop) = (
                app.client.clone(),
                app.url("/auth/validate"),
                token.clone(),
                stop.clone(),
            );
            hammers.push(tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = client.post(&url).bearer_auth(&token).send().await;
                }
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let update = format!("/admin/api-tokens/{id}/update");
        app.patch(
            &update,
            &app.admin_token,
            json!({ "name": format!("round {round}") }),
        )
        .await
        .expect(200);
        app.delete(&format!("/admin/api-tokens/{id}/delete"), &app.admin_token)
            .await
            .expect(200);
        let next = app.post("/auth/validate", &token, json!({})).await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let later = app.post("/auth/validate", &token, json!({})).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for hammer in hammers {
            hammer.await.unwrap();
        }
        assert_eq!(
            next.status, 401,
            "round {round}: the next request after revocation: {}",
            next.body
        );
        assert_eq!(
            later.status, 401,
            "round {round}: a later request: {}",
            later.body
        );
    }
}
