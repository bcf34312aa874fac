//! Error shapes (contract §3): every failure is the JSON envelope `{"message", "errors"?}` with the
//! contract's status, including the framework's own failures (unknown path, wrong method, a
//! body too large), so no default body of poem ever reaches a client.

use reqwest::Method;
use serde_json::json;

use crate::{
    both_databases,
    support::{Reply, TestApp},
};

both_databases!(
    body_that_is_not_json_is_400_invalid_json,
    missing_or_mistyped_fields_are_422_naming_the_field,
    a_body_that_is_not_an_object_is_422,
    bad_list_parameters_are_422,
    unknown_path_under_the_prefix_is_404,
    unknown_path_outside_the_prefix_is_404,
    wrong_method_is_405,
    an_unknown_resource_is_404_before_its_body_is_judged,
    every_failing_field_is_named_in_one_answer,
    a_body_field_the_endpoint_does_not_document_is_422_and_changes_nothing,
    errors_are_problem_details_when_asked,
    an_upload_that_is_not_a_form_is_415,
);

both_databases!(
    config = |c| c.server.max_body_bytes = 1024;
    oversize_body_is_413,
);

/// The envelope of a failure: JSON (by content type too), a non-empty `message`, a `code` (its
/// value is checked for every reply by `support`), and `errors` exactly on a 422.
#[track_caller]
fn assert_envelope(reply: &Reply) {
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type:?} on a {}",
        reply.status
    );
    let body = reply
        .body
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {}", reply.body));
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message: {}",
        reply.body
    );
    if reply.status == 422 {
        assert!(
            body["errors"].as_object().is_some_and(|e| !e.is_empty()),
            "422 without errors: {}",
            reply.body
        );
    } else {
        assert!(
            body.keys().all(|k| k == "message" || k == "code"),
            "only `message` and `code` outside a 422: {}",
            reply.body
        );
    }
}

async fn body_that_is_not_json_is_400_invalid_json(app: TestApp) {
    let bearer = format!("Bearer {}", app.admin_token);
    let targets = [
        (Method::POST, app.url("/admin/api-tokens/create")),
        (Method::PATCH, app.url("/admin/api-tokens/1/update")),
    ];
    let content_types = [
        None,
        Some("application/json"),
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ];
    for (method, url) in &targets {
        for content_type in content_types {
            for body in [
                "{nope",
                "name=x&user_id=1",
                "{\"name\": \"x\",}",
                "'single'",
                "\u{feff}{}",
            ] {
                let mut headers = vec![("Authorization", bearer.as_str())];
                if let Some(content_type) = content_type {
                    headers.push(("Content-Type", content_type));
                }
                let reply = app.raw(method.clone(), url, &headers, body).await;
                assert_eq!(
                    reply.status, 400,
                    "{method} {url} {content_type:?} {body:?}: {}",
                    reply.body
                );
                assert_eq!(
                    reply.body,
                    json!({ "message": "Invalid JSON.", "code": "invalid_json" })
                );
                assert_envelope(&reply);
            }
        }
    }
}

async fn missing_or_mistyped_fields_are_422_naming_the_field(app: TestApp) {
    let create = "/admin/api-tokens/create";
    let cases = [
        (json!({}), "name", "The name field is required."),
        (
            json!({ "name": "x", "abilities": ["agent"] }),
            "user_id",
            "The user id field is required.",
        ),
        (
            json!({ "name": "x", "user_id": "one", "abilities": ["agent"] }),
            "user_id",
            "The user id field must be an integer.",
        ),
        (
            json!({ "name": "x", "user_id": 1.5, "abilities": ["agent"] }),
            "user_id",
            "The user id field must be an integer.",
        ),
        (
            json!({ "name": ["x"], "user_id": 1, "abilities": ["agent"] }),
            "name",
            "The name field must be a string.",
        ),
        (
            json!({ "name": "x", "user_id": 1, "abilities": "agent" }),
            "abilities",
            "The abilities field must be a list.",
        ),
        (
            json!({ "name": "x", "user_id": 1, "abilities": ["agent"], "rate_limit": true }),
            "rate_limit",
            "The rate limit field must be an integer.",
        ),
        (
            json!({ "name": "x", "user_id": 1, "abilities": ["agent"], "expires_in_days": "3" }),
            "expires_in_days",
            "The expires in days field must be an integer.",
        ),
    ];
    for (body, field, message) in cases {
        let reply = app.post(create, &app.admin_token, body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert_envelope(&reply);
        assert_eq!(reply.message(), "Validation failed.");
        assert_eq!(
            reply.field_error(field),
            Some(message),
            "{body}: {}",
            reply.body
        );
    }
    // An empty body is an empty object: the required fields are missing, not the JSON.
    let bearer = format!("Bearer {}", app.admin_token);
    let reply = app
        .raw(
            Method::POST,
            &app.url(create),
            &[("Authorization", &bearer)],
            "",
        )
        .await;
    assert_eq!(
        reply.field_error("name"),
        Some("The name field is required."),
        "{}",
        reply.body
    );
    // A list element of the wrong type names its place.
    let reply = app
        .post(
            create,
            &app.admin_token,
            json!({ "name": "x", "user_id": 1, "abilities": [7] }),
        )
        .await
        .expect(422);
    let errors = reply.body["errors"].as_object().unwrap();
    assert!(
        errors.keys().all(|k| k.starts_with("abilities")),
        "{}",
        reply.body
    );
}

async fn a_body_that_is_not_an_object_is_422(app: TestApp) {
    let bearer = format!("Bearer {}", app.admin_token);
    for body in ["[]", "42", "\"text\"", "null", "true"] {
        let reply = app
            .raw(
                Method::POST,
                &app.url("/admin/api-tokens/create"),
                &[
                    ("Authorization", &bearer),
                    ("Content-Type", "application/json"),
                ],
                body,
            )
            .await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert_envelope(&reply);
        assert!(
            reply.field_error("body").is_some(),
            "{body}: {}",
            reply.body
        );
    }
}

async fn bad_list_parameters_are_422(app: TestApp) {
    for (query, field) in [
        ("page=0", "page"),
        ("page=-3", "page"),
        ("page=abc", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=ten", "per_page"),
    ] {
        let reply = app
            .get(&format!("/admin/api-tokens?{query}"), &app.admin_token)
            .await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.body);
        assert_envelope(&reply);
        assert!(
            reply.field_error(field).is_some(),
            "{query}: {}",
            reply.body
        );
    }
    for query in ["per_page=1", "per_page=100", "page=1000"] {
        app.get(&format!("/admin/api-tokens?{query}"), &app.admin_token)
            .await
            .expect(200);
    }
}

async fn unknown_path_under_the_prefix_is_404(app: TestApp) {
    for path in [
        "/nope",
        "/admin/api-tokens/1",
        "/auth",
        "/auth/validate/extra",
        "/tickets-not-yet",
    ] {
        let reply = app
            .call(Method::GET, path, Some(&app.admin_token), None)
            .await;
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
        assert_envelope(&reply);
    }
    // Authentication comes first: without a token the same paths are 401.
    let reply = app.call(Method::GET, "/nope", None, None).await.expect(401);
    assert_envelope(&reply);
    assert_eq!(reply.message(), "Unauthenticated.");
}

async fn unknown_path_outside_the_prefix_is_404(app: TestApp) {
    for path in [
        "/",
        "/nope",
        "/support",
        "/support/api",
        "/support/api/v2/auth/validate",
        "/openapi.json",
    ] {
        for method in [Method::GET, Method::POST, Method::DELETE] {
            let reply = app
                .raw(method.clone(), &format!("{}{path}", app.origin), &[], "")
                .await;
            assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
            assert_envelope(&reply);
            assert_eq!(reply.message(), "Not found.");
        }
    }
}

async fn wrong_method_is_405(app: TestApp) {
    let cases = [
        (Method::GET, "/auth/validate"),
        (Method::PUT, "/auth/validate"),
        (Method::DELETE, "/admin/api-tokens/create"),
        (Method::GET, "/admin/api-tokens/create"),
        (Method::POST, "/admin/api-tokens"),
        (Method::POST, "/admin/api-tokens/1/update"),
        (Method::GET, "/admin/api-tokens/1/delete"),
    ];
    for (method, path) in cases {
        let reply = app
            .call(method.clone(), path, Some(&app.admin_token), None)
            .await;
        assert_eq!(reply.status, 405, "{method} {path}: {}", reply.body);
        assert_envelope(&reply);
        assert_eq!(reply.message(), "Method not allowed.");
    }
}

async fn oversize_body_is_413(app: TestApp) {
    let bearer = format!("Bearer {}", app.admin_token);
    let url = app.url("/admin/api-tokens/create");
    // Valid JSON, just too long: 4 KiB against a 1 KiB limit.
    let big = json!({ "name": "n".repeat(4096), "user_id": 1, "abilities": ["*"] }).to_string();
    let reply = app
        .raw(
            Method::POST,
            &url,
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
            ],
            &big,
        )
        .await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_envelope(&reply);
    assert_eq!(reply.message(), "Request body too large.");
    // Just under the limit is parsed.
    let fits = json!({ "name": "padded", "user_id": 1, "abilities": ["*"] }).to_string()
        + " ".repeat(900).as_str();
    assert!(fits.len() < 1024);
    app.raw(Method::POST, &url, &[("Authorization", &bearer)], &fits)
        .await
        .expect(201);
}

/// Contract §8: authentication, ability, rate limit, then 404, then validation.
async fn an_unknown_resource_is_404_before_its_body_is_judged(app: TestApp) {
    let admin = app.admin_token.clone();
    for kind in [
        "api-tokens",
        "users",
        "departments",
        "tags",
        "canned-responses",
        "macros",
        "sla-policies",
    ] {
        let reply = app
            .patch(
                &format!("/admin/{kind}/987654/update"),
                &admin,
                json!({"name": 42}),
            )
            .await;
        assert_eq!(reply.status, 404, "{kind}: {}", reply.body);
        assert!(
            reply.message().ends_with("not found."),
            "{kind}: {}",
            reply.message()
        );
    }
    let (_, token) = app.agent(&["agent"]).await;
    for (path, body) in [
        ("/tickets/ESC-99999/status", json!({"status": 42})),
        ("/tickets/ESC-99999/priority", json!({"priority": []})),
        ("/tickets/ESC-99999/assign", json!({"agent_id": "x"})),
        ("/tickets/ESC-99999/tags", json!({"tag_ids": "x"})),
    ] {
        let reply = app
            .call(
                reqwest::Method::PATCH,
                path,
                Some(&token),
                Some(body.clone()),
            )
            .await;
        let reply = if reply.status == 405 {
            app.post(path, &token, body).await
        } else {
            reply
        };
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
        assert_eq!(reply.message(), "Ticket not found.");
    }
}

async fn every_failing_field_is_named_in_one_answer(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let empty = app.post("/tickets/create", &token, json!({})).await;
    assert_eq!(empty.status, 422, "{}", empty.body);
    assert_eq!(
        empty.field_error("subject"),
        Some("The subject field is required.")
    );
    assert_eq!(
        empty.field_error("description"),
        Some("The description field is required.")
    );
    let mistyped = app
        .post(
            "/tickets/create",
            &token,
            json!({"subject": 5, "description": ["x"], "department_id": "sales"}),
        )
        .await;
    assert_eq!(mistyped.status, 422, "{}", mistyped.body);
    for field in ["subject", "description", "department_id"] {
        assert!(
            mistyped.field_error(field).is_some(),
            "{field}: {}",
            mistyped.body
        );
    }
}

async fn a_body_field_the_endpoint_does_not_document_is_422_and_changes_nothing(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let typo = app
        .post(
            "/tickets/create",
            &token,
            json!({"subject": "Printer", "description": "On fire", "prioritee": "urgent"}),
        )
        .await;
    assert_eq!(typo.status, 422, "{}", typo.body);
    assert_eq!(
        typo.field_error("prioritee"),
        Some("The prioritee field is not allowed.")
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM tickets").await, 0);
    // On an addressed resource too, once it is found.
    let ticket = app.ticket(&token, "Exists", json!({})).await;
    let reference = ticket["reference"].as_str().unwrap();
    app.patch(
        &format!("/tickets/{reference}/status"),
        &token,
        json!({"status": "resolved", "note": "done"}),
    )
    .await
    .expect_invalid("note");
    let shown = app
        .get(&format!("/tickets/{reference}"), &token)
        .await
        .expect(200);
    assert_eq!(shown.data()["status"], "open");
}

/// Contract §9.1: `Accept: application/problem+json` gets the same error as RFC 9457 problem
/// details, whatever made it (an endpoint, the guard, the router); successes are unchanged.
async fn errors_are_problem_details_when_asked(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let bearer = format!("Bearer {token}");
    let problem = [("Accept", "application/problem+json")];
    let with_token = [("Accept", "application/json, application/problem+json")];
    // Method, URL, headers, body, the status and the code expected.
    type Case<'a> = (
        Method,
        String,
        &'a [(&'a str, &'a str)],
        &'a str,
        u16,
        &'a str,
    );
    let cases: [Case; 3] = [
        (
            Method::POST,
            app.url("/tickets/create"),
            &with_token,
            "{}",
            422,
            "validation_failed",
        ),
        (
            Method::GET,
            app.url("/tickets"),
            &problem,
            "",
            401,
            "unauthenticated",
        ),
        (
            Method::GET,
            format!("{}/nowhere", app.origin),
            &problem,
            "",
            404,
            "not_found",
        ),
    ];
    for (method, url, accept, body, status, code) in cases {
        let mut headers = accept.to_vec();
        if status != 401 {
            headers.push(("Authorization", &bearer));
        }
        let reply = app.raw(method.clone(), &url, &headers, body).await;
        assert_eq!(reply.status, status, "{method} {url}: {}", reply.body);
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{method} {url}"
        );
        let fields = reply.body.as_object().expect("an object");
        assert_eq!(fields["type"], "about:blank");
        assert_eq!(fields["status"], status);
        assert_eq!(fields["code"], code);
        assert!(fields["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(fields["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(!fields.contains_key("message"), "{}", reply.body);
        if status == 422 {
            assert_eq!(
                reply.body["errors"]["subject"],
                "The subject field is required."
            );
        }
    }
    // A success is the usual envelope, whatever the Accept header says.
    let reply = app
        .raw(
            Method::GET,
            &app.url("/tickets"),
            &[
                ("Accept", "application/problem+json"),
                ("Authorization", &bearer),
            ],
            "",
        )
        .await
        .expect(200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert!(reply.body["data"].is_array());
}

async fn an_upload_that_is_not_a_form_is_415(app: TestApp) {
    let bearer = format!("Bearer {}", app.admin_token);
    let reply = app
        .raw(
            Method::POST,
            &app.url("/attachments"),
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
            ],
            r#"{"file": "aGVsbG8="}"#,
        )
        .await;
    assert_eq!(reply.status, 415, "{}", reply.body);
    assert_envelope(&reply);
    assert_eq!(reply.body["code"], "unsupported_media_type");
}
