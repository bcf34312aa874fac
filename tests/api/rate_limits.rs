//! Rate limits (contract §3, §8): per token, per client IP without a valid token, the headers on
//! every answer of the API, and the exact counts.

use reqwest::Method;
use serde_json::json;

use crate::{
    both_databases,
    support::{Reply, TestApp},
};

both_databases!(
    every_response_carries_the_rate_headers,
    a_token_makes_exactly_its_limit_then_429,
    a_refusal_counts_against_the_token,
    a_changed_limit_applies_at_once_even_below_what_was_used,
    each_token_has_its_own_bucket,
);

both_databases!(
    config = |c| c.api.unauthenticated_rate_limit = 3;
    requests_without_a_valid_token_are_limited_per_ip,
    document_and_docs_count_against_no_bucket,
);

both_databases!(
    config = |c| c.api.rate_limit = 5;
    a_null_rate_limit_gets_the_configured_default,
);

both_databases!(
    config = |c| c.api.unauthenticated_rate_limit = 2;
    forwarded_for_is_ignored_unless_trusted,
);

both_databases!(
    config = |c| {
        c.api.unauthenticated_rate_limit = 2;
        c.server.trust_forwarded_for = true;
    };
    behind_a_trusted_proxy_the_address_it_adds_is_the_client,
);

/// The legacy and the IETF headers agree and say `limit` / `remaining`.
#[track_caller]
fn assert_rate_headers(reply: &Reply, limit: u64, remaining: u64) {
    let status = reply.status;
    assert_eq!(
        reply.number("x-ratelimit-limit"),
        limit,
        "limit on a {status}"
    );
    assert_eq!(
        reply.number("x-ratelimit-remaining"),
        remaining,
        "remaining on a {status}"
    );
    let reset = reply.number("x-ratelimit-reset");
    assert!((1..=60).contains(&reset), "reset {reset} on a {status}");
    assert_eq!(
        reply.header("ratelimit-policy"),
        Some(format!("\"default\";q={limit};w=60").as_str())
    );
    assert_eq!(
        reply.header("ratelimit"),
        Some(format!("\"default\";r={remaining};t={reset}").as_str())
    );
}

#[track_caller]
fn assert_too_many(reply: Reply, limit: u64) {
    let reply = reply.expect(429);
    assert_eq!(
        reply.body,
        json!({ "message": "Too many requests.", "code": "rate_limited" })
    );
    assert_rate_headers(&reply, limit, 0);
    let retry = reply.number("retry-after");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(retry, reply.number("x-ratelimit-reset"));
}

async fn every_response_carries_the_rate_headers(app: TestApp) {
    // Test servers allow 10 000 a minute per token and per address.
    let (_, agent) = app.agent(&["agent"]).await;
    assert_rate_headers(
        &app.post("/auth/validate", &agent, json!({}))
            .await
            .expect(200),
        10_000,
        9_999,
    );
    assert_rate_headers(
        &app.get("/admin/api-tokens", &agent).await.expect(403),
        10_000,
        9_998,
    );
    assert!(
        app.post("/auth/validate", &agent, json!({}))
            .await
            .header("retry-after")
            .is_none()
    );

    // Without a valid token the address's bucket answers, 401s included.
    let url = app.url("/auth/validate");
    assert_rate_headers(
        &app.raw(Method::POST, &url, &[], "").await.expect(401),
        10_000,
        9_999,
    );
    let reply = app
        .raw(
            Method::POST,
            &url,
            &[("Authorization", "Bearer esc_unknown")],
            "",
        )
        .await
        .expect(401);
    assert_rate_headers(&reply, 10_000, 9_998);

    // 400, 404, 405 and 422 of the API are charged to the token and say so.
    let admin = app
        .user("Counted Admin", "counted@example.com", "admin")
        .await;
    let token = app.token(admin, &["*"]).await;
    let create = app.url("/admin/api-tokens/create");
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    assert_rate_headers(
        &app.raw(Method::POST, &create, &auth, "{oops")
            .await
            .expect(400),
        10_000,
        9_999,
    );
    assert_rate_headers(
        &app.post("/admin/api-tokens/create", &token, json!({}))
            .await
            .expect(422),
        10_000,
        9_998,
    );
    assert_rate_headers(
        &app.get("/no/such/thing", &token).await.expect(404),
        10_000,
        9_997,
    );
    assert_rate_headers(
        &app.get("/auth/validate", &token).await.expect(405),
        10_000,
        9_996,
    );
    assert_rate_headers(
        &app.delete("/admin/api-tokens/999999/delete", &token)
            .await
            .expect(404),
        10_000,
        9_995,
    );
    assert_rate_headers(
        &app.get("/admin/api-tokens", &token).await.expect(200),
        10_000,
        9_994,
    );
}

async fn a_token_makes_exactly_its_limit_then_429(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let token = app
        .token_with(agent_id, &["agent"], json!({ "rate_limit": 3 }))
        .await;
    for remaining in [2, 1, 0] {
        let reply = app
            .post("/auth/validate", &token, json!({}))
            .await
            .expect(200);
        assert_rate_headers(&reply, 3, remaining);
    }
    for _ in 0..2 {
        assert_too_many(app.post("/auth/validate", &token, json!({})).await, 3);
    }
}

async fn a_refusal_counts_against_the_token(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let token = app
        .token_with(agent_id, &["agent"], json!({ "rate_limit": 3 }))
        .await;
    assert_rate_headers(
        &app.get("/admin/api-tokens", &token).await.expect(403),
        3,
        2,
    );
    assert_rate_headers(
        &app.get("/admin/api-tokens", &token).await.expect(403),
        3,
        1,
    );
    assert_rate_headers(
        &app.post("/auth/validate", &token, json!({}))
            .await
            .expect(200),
        3,
        0,
    );
    assert_too_many(app.post("/auth/validate", &token, json!({})).await, 3);
    // The ability is checked before the limit, so a forbidden request stays a 403.
    let reply = app.get("/admin/api-tokens", &token).await.expect(403);
    assert_eq!(reply.message(), "Insufficient permissions.");
    assert_rate_headers(&reply, 3, 0);
}

async fn a_changed_limit_applies_at_once_even_below_what_was_used(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let (created, token) = app
        .created_token(agent_id, &["agent"], json!({ "rate_limit": 5 }))
        .await;
    let update = format!("/admin/api-tokens/{}/update", created["id"]);
    for _ in 0..4 {
        app.post("/auth/validate", &token, json!({}))
            .await
            .expect(200);
    }
    // 4 used; the new limit of 2 is already spent.
    app.patch(&update, &app.admin_token, json!({ "rate_limit": 2 }))
        .await
        .expect(200);
    assert_too_many(app.post("/auth/validate", &token, json!({})).await, 2);
    // Raised again: the requests already made in this window still count.
    app.patch(&update, &app.admin_token, json!({ "rate_limit": 10 }))
        .await
        .expect(200);
    assert_rate_headers(
        &app.post("/auth/validate", &token, json!({}))
            .await
            .expect(200),
        10,
        5,
    );
    // Back to the default.
    app.patch(&update, &app.admin_token, json!({ "rate_limit": null }))
        .await
        .expect(200);
    assert_rate_headers(
        &app.post("/auth/validate", &token, json!({}))
            .await
            .expect(200),
        10_000,
        9_994,
    );
}

async fn each_token_has_its_own_bucket(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let first = app
        .token_with(agent_id, &["agent"], json!({ "rate_limit": 1 }))
        .await;
    let second = app
        .token_with(agent_id, &["agent"], json!({ "rate_limit": 1 }))
        .await;
    app.post("/auth/validate", &first, json!({}))
        .await
        .expect(200);
    assert_too_many(app.post("/auth/validate", &first, json!({})).await, 1);
    assert_rate_headers(
        &app.post("/auth/validate", &second, json!({}))
            .await
            .expect(200),
        1,
        0,
    );
    // Nor does a spent token spend its address's bucket.
    let reply = app
        .raw(Method::POST, &app.url("/auth/validate"), &[], "")
        .await
        .expect(401);
    assert_rate_headers(&reply, 10_000, 9_999);
}

async fn requests_without_a_valid_token_are_limited_per_ip(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let (created, expired) = app.created_token(agent_id, &["agent"], json!({})).await;
    app.patch(
        &format!("/admin/api-tokens/{}/update", created["id"]),
        &app.admin_token,
        json!({ "expires_at": "2020-01-01T00:00:00Z" }),
    )
    .await
    .expect(200);
    let url = app.url("/auth/validate");
    let expired = format!("Bearer {expired}");
    // Missing, unknown and expired tokens all charge the address.
    type Headers<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Headers, &str, u64); 3] = [
        (&[], "Unauthenticated.", 2),
        (
            &[("Authorization", "Bearer esc_guess")],
            "Invalid token.",
            1,
        ),
        (
            &[("Authorization", expired.as_str())],
            "Token has expired.",
            0,
        ),
    ];
    for (headers, message, remaining) in cases {
        let reply = app.raw(Method::POST, &url, headers, "").await.expect(401);
        assert_eq!(reply.message(), message);
        assert_rate_headers(&reply, 3, remaining);
    }
    // Guessing is throttled...
    assert_too_many(
        app.raw(
            Method::POST,
            &url,
            &[("Authorization", "Bearer esc_guess2")],
            "",
        )
        .await,
        3,
    );
    assert_too_many(
        app.raw(Method::GET, &app.url("/admin/api-tokens"), &[], "")
            .await,
        3,
    );
    // ...while a valid token from the same address goes on with its own bucket.
    let reply = app
        .post("/auth/validate", &app.admin_token, json!({}))
        .await
        .expect(200);
    assert_eq!(reply.number("x-ratelimit-limit"), 10_000);
}

async fn document_and_docs_count_against_no_bucket(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let token = app
        .token_with(agent_id, &["agent"], json!({ "rate_limit": 1 }))
        .await;
    app.post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
    for path in ["/openapi.json", "/docs"] {
        for auth in [None, Some(token.as_str())] {
            for _ in 0..5 {
                let reply = app.call(Method::GET, path, auth, None).await.expect(200);
                for header in [
                    "x-ratelimit-limit",
                    "x-ratelimit-remaining",
                    "x-ratelimit-reset",
                    "ratelimit",
                    "ratelimit-policy",
                ] {
                    assert!(reply.header(header).is_none(), "{path} carries {header}");
                }
            }
        }
    }
    // Neither the address nor the token was charged by any of that.
    let reply = app
        .raw(Method::POST, &app.url("/auth/validate"), &[], "")
        .await
        .expect(401);
    assert_rate_headers(&reply, 3, 2);
    assert_too_many(app.post("/auth/validate", &token, json!({})).await, 1);
}

async fn a_null_rate_limit_gets_the_configured_default(app: TestApp) {
    let (agent_id, _) = app.agent(&["agent"]).await;
    let default = app
        .token_with(agent_id, &["agent"], json!({ "rate_limit": null }))
        .await;
    let own = app
        .token_with(agent_id, &["agent"], json!({ "rate_limit": 7 }))
        .await;
    assert_rate_headers(
        &app.post("/auth/validate", &default, json!({}))
            .await
            .expect(200),
        5,
        4,
    );
    assert_rate_headers(
        &app.post("/auth/validate", &own, json!({}))
            .await
            .expect(200),
        7,
        6,
    );
    // A limit above the default is honoured too.
    for _ in 0..6 {
        app.post("/auth/validate", &own, json!({}))
            .await
            .expect(200);
    }
    assert_too_many(app.post("/auth/validate", &own, json!({})).await, 7);
}

async fn forwarded_for_is_ignored_unless_trusted(app: TestApp) {
    let url = app.url("/auth/validate");
    for (i, remaining) in [(1, 1), (2, 0)] {
        let forwarded = format!("198.51.100.{i}");
        let reply = app
            .raw(Method::POST, &url, &[("X-Forwarded-For", &forwarded)], "")
            .await
            .expect(401);
        assert_rate_headers(&reply, 2, remaining);
    }
    assert_too_many(
        app.raw(
            Method::POST,
            &url,
            &[("X-Forwarded-For", "198.51.100.3")],
            "",
        )
        .await,
        2,
    );
    // And the recorded address is the peer's.
    let (agent_id, _) = app.agent(&["agent"]).await;
    let (created, token) = app.created_token(agent_id, &["agent"], json!({})).await;
    let bearer = format!("Bearer {token}");
    app.raw(
        Method::POST,
        &url,
        &[
            ("Authorization", &bearer),
            ("X-Forwarded-For", "198.51.100.9"),
        ],
        "",
    )
    .await
    .expect(200);
    assert_eq!(
        last_used_ip(&app, created["id"].as_i64().unwrap()).await,
        "127.0.0.1"
    );
}

async fn behind_a_trusted_proxy_the_address_it_adds_is_the_client(app: TestApp) {
    let url = app.url("/auth/validate");
    // The client may send any X-Forwarded-For; the proxy appends the address it saw. Varying
    // the client's part does not buy a fresh bucket.
    for (i, remaining) in [(1, 1), (2, 0)] {
        let forwarded = format!("203.0.113.{i}, 198.51.100.7");
        let reply = app
            .raw(Method::POST, &url, &[("X-Forwarded-For", &forwarded)], "")
            .await
            .expect(401);
        assert_rate_headers(&reply, 2, remaining);
    }
    assert_too_many(
        app.raw(
            Method::POST,
            &url,
            &[("X-Forwarded-For", "203.0.113.3, 198.51.100.7")],
            "",
        )
        .await,
        2,
    );
    // Another client behind the same proxy has its own bucket.
    let reply = app
        .raw(
            Method::POST,
            &url,
            &[("X-Forwarded-For", "198.51.100.8")],
            "",
        )
        .await
        .expect(401);
    assert_rate_headers(&reply, 2, 1);
    // A token's last use records that address too.
    let (agent_id, _) = app.agent(&["agent"]).await;
    let (created, token) = app.created_token(agent_id, &["agent"], json!({})).await;
    let bearer = format!("Bearer {token}");
    let headers = [
        ("Authorization", bearer.as_str()),
        ("X-Forwarded-For", "10.9.8.7, 198.51.100.9"),
    ];
    app.raw(Method::POST, &url, &headers, "").await.expect(200);
    assert_eq!(
        last_used_ip(&app, created["id"].as_i64().unwrap()).await,
        "198.51.100.9"
    );
}

/// `last_used_ip` of token `id`, once the (asynchronous) write has landed.
async fn last_used_ip(app: &TestApp, id: i64) -> String {
    for _ in 0..100 {
        if let Some(ip) = app.listed_token(id).await["last_used_ip"].as_str() {
            return ip.to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("last_used_ip of token {id} was never recorded");
}
