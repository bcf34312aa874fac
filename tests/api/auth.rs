//! Authentication and abilities (contract §3, §4, §8).

use serde_json::json;

use crate::{both_databases, support::TestApp};

both_databases!(
    validate_returns_owner_abilities_and_token,
    missing_or_malformed_header_is_unauthenticated,
);

async fn validate_returns_owner_abilities_and_token(app: TestApp) {
    let (agent_id, token) = app.agent(&["agent"]).await;
    let reply = app
        .post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
    let data = reply.data();
    assert_eq!(data["user"]["id"], agent_id);
    assert_eq!(data["role"], "agent");
    assert_eq!(data["abilities"], json!(["agent"]));
    assert_eq!(data["token"]["name"], "test");
    assert!(data["token"]["expires_at"].is_null());
}

async fn missing_or_malformed_header_is_unauthenticated(app: TestApp) {
    use reqwest::Method;
    let url = app.url("/auth/validate");
    for headers in [
        vec![],
        vec![("Authorization", "Basic abc")],
        vec![("Authorization", "Bearer ")],
    ] {
        let reply = app.raw(Method::POST, &url, &headers, "").await.expect(401);
        assert_eq!(reply.message(), "Unauthenticated.");
    }
    let reply = app
        .raw(
            Method::POST,
            &url,
            &[("Authorization", "bearer esc_nope")],
            "",
        )
        .await
        .expect(401);
    assert_eq!(reply.message(), "Invalid token.");
}
