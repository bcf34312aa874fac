//! Creating, showing and changing tickets (contract §5, §6, §8).

use serde_json::{Value, json};

use crate::{both_databases, support::TestApp};

both_databases!(
    create_answers_201_with_the_full_ticket,
    create_alias_post_tickets_works,
    create_rejects_bad_input_and_writes_nothing,
    create_finds_or_creates_the_requester_by_email,
    create_with_department_and_tags,
    references_stay_unique_under_50_concurrent_creates,
    show_is_404_for_unknown_or_numeric_references,
    html_is_stored_verbatim,
    a_201_carries_the_location_of_what_it_made,
);

async fn create_answers_201_with_the_full_ticket(app: TestApp) {
    let (agent_id, token) = app.agent(&["agent"]).await;
    let reply = app
        .post(
            "/tickets/create",
            &token,
            json!({"subject": "Printer on fire", "description": "Smoke everywhere"}),
        )
        .await
        .expect(201);
    assert_eq!(reply.message(), "Ticket created.");
    let t = reply.data();
    assert_eq!(t["reference"], "ESC-00001");
    assert_eq!(t["subject"], "Printer on fire");
    assert_eq!(t["description"], "Smoke everywhere");
    assert_eq!(t["status"], "open");
    assert_eq!(t["status_label"], "Open");
    assert_eq!(t["priority"], "medium");
    assert_eq!(t["priority_label"], "Medium");
    assert_eq!(t["ticket_type"], "question");
    assert_eq!(t["channel"], "api");
    assert_eq!(t["requester"]["id"], agent_id);
    assert!(t["assignee"].is_null());
    assert!(t["department"].is_null());
    assert_eq!(t["tags"], json!([]));
    assert_eq!(t["followers_count"], 0);
    assert_eq!(t["is_following"], false);
    assert_eq!(t["sla_breached"], false);
    assert_eq!(
        t["allowed_transitions"],
        json!([
            "in_progress",
            "waiting_on_customer",
            "waiting_on_agent",
            "escalated",
            "resolved",
            "closed"
        ])
    );
    // The Standard policy attaches: medium = 8h first response, 48h resolution.
    let created = chrono::DateTime::parse_from_rfc3339(t["created_at"].as_str().unwrap()).unwrap();
    let due = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(t["sla"][field].as_str().unwrap()).unwrap()
    };
    assert_eq!((due("first_response_due_at") - created).num_hours(), 8);
    assert_eq!((due("resolution_due_at") - created).num_hours(), 48);
    assert!(t["sla"]["policy_id"].is_i64());
    assert!(t["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(t["activities"][0]["type"], "created");
    assert_eq!(t["replies"], json!([]));
}

async fn create_alias_post_tickets_works(app: TestApp) {
    let (_, token) = app.agent(&["tickets:write", "tickets:read"]).await;
    let reply = app
        .post(
            "/tickets",
            &token,
            json!({"subject": "Alias", "description": "x"}),
        )
        .await
        .expect(201);
    assert_eq!(reply.data()["reference"], "ESC-00001");
}

async fn create_rejects_bad_input_and_writes_nothing(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"description": "x"}), "subject"),
        (json!({"subject": "   ", "description": "x"}), "subject"),
        (
            json!({"subject": "é".repeat(256), "description": "x"}),
            "subject",
        ),
        (json!({"subject": "x"}), "description"),
        (
            json!({"subject": "x", "description": "x".repeat(65_536)}),
            "description",
        ),
        (json!({"subject": 5, "description": "x"}), "subject"),
        (
            json!({"subject": "x", "description": "x", "priority": "huge"}),
            "priority",
        ),
        (
            json!({"subject": "x", "description": "x", "ticket_type": "rant"}),
            "ticket_type",
        ),
        (
            json!({"subject": "x", "description": "x", "department_id": 999}),
            "department_id",
        ),
        (
            json!({"subject": "x", "description": "x", "tags": [999]}),
            "tags",
        ),
        (
            json!({"subject": "x", "description": "x", "requester": {"email": "nope"}}),
            "requester.email",
        ),
    ];
    for (body, field) in cases {
        let reply = app
            .post("/tickets/create", &token, body.clone())
            .await
            .expect(422);
        assert_eq!(reply.message(), "Validation failed.");
        assert!(
            reply.field_error(field).is_some(),
            "{body} should fail on {field}: {}",
            reply.body
        );
    }
    let reply = app
        .post(
            "/tickets/create",
            &token,
            json!({"subject": "x", "description": "x", "tags": (0..51).collect::<Vec<_>>()}),
        )
        .await
        .expect(422);
    assert!(reply.field_error("tags").unwrap().contains("50"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM tickets").await, 0);
}

async fn create_finds_or_creates_the_requester_by_email(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let first = app
        .ticket(
            &token,
            "One",
            json!({"requester": {"name": "Cleo Customer", "email": "Cleo@Example.com"}}),
        )
        .await;
    let second = app
        .ticket(
            &token,
            "Two",
            json!({"requester": {"email": "cleo@example.com"}}),
        )
        .await;
    assert_eq!(first["requester"]["name"], "Cleo Customer");
    assert_eq!(first["requester"]["email"], "cleo@example.com");
    assert_eq!(first["requester"]["id"], second["requester"]["id"]);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE role = 'customer'")
            .await,
        1
    );
}

async fn create_with_department_and_tags(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let dept = app.department("Billing").await;
    let (a, b) = (app.tag("vip").await, app.tag("refund").await);
    let t = app
        .ticket(&token, "Tagged", json!({"department_id": dept, "tags": [a, b, a], "priority": "urgent", "ticket_type": "incident"}))
        .await;
    assert_eq!(t["department"], json!({"id": dept, "name": "Billing"}));
    let names: Vec<&str> = t["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["refund", "vip"]);
    assert_eq!(t["priority"], "urgent");
    assert_eq!(t["ticket_type"], "incident");
}

async fn references_stay_unique_under_50_concurrent_creates(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let creates = (0..50).map(|i| {
        let (app, token) = (&app, &token);
        let body = json!({"subject": format!("Concurrent {i}"), "description": "At once"});
        async move {
            app.post_until_served("/tickets/create", token, body)
                .await
                .expect(201)
                .data()["reference"]
                .as_str()
                .unwrap()
                .to_string()
        }
    });
    let mut references = futures::future::join_all(creates).await;
    references.sort();
    references.dedup();
    assert_eq!(references.len(), 50);
    // One ticket per create: a request refused 503 and sent again wrote nothing the first time.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM tickets").await, 50);
}

async fn show_is_404_for_unknown_or_numeric_references(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Here", json!({})).await;
    for path in [
        "/tickets/ESC-99999",
        "/tickets/1",
        &format!("/tickets/{}", t["id"]),
    ] {
        let reply = app.get(path, &token).await.expect(404);
        assert_eq!(reply.message(), "Ticket not found.");
    }
    app.get("/tickets/ESC-00001", &token).await.expect(200);
}

async fn html_is_stored_verbatim(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let html = "<script>alert('x')</script> & <b>bold</b>";
    let t = app.ticket(&token, html, json!({"description": html})).await;
    assert_eq!(t["subject"], html);
    assert_eq!(t["description"], html);
}

/// Contract §9.1: a 201 carries `Location`, the new resource's URL (a reply's: its ticket's),
/// and reading it gives what was made.
async fn a_201_carries_the_location_of_what_it_made(app: TestApp) {
    let admin = app.admin_token.clone();
    let path_of = |reply: &crate::support::Reply| {
        let location = reply.header("location").expect("a Location header");
        let base = app.base.strip_prefix(&app.origin).unwrap();
        location
            .strip_prefix(base)
            .unwrap_or_else(|| panic!("{location} is not under {base}"))
            .to_string()
    };
    for path in ["/tickets/create", "/tickets"] {
        let made = app
            .post(
                path,
                &admin,
                json!({"subject": "Where", "description": "Here"}),
            )
            .await
            .expect(201);
        let reference = made.data()["reference"].as_str().unwrap().to_string();
        assert_eq!(path_of(&made), format!("/tickets/{reference}"));
        let shown = app.get(&path_of(&made), &admin).await.expect(200);
        assert_eq!(shown.data()["reference"], reference.as_str());
    }
    let reply = app
        .post(
            "/tickets/ESC-00001/reply",
            &admin,
            json!({"body": "On it."}),
        )
        .await
        .expect(201);
    assert_eq!(path_of(&reply), "/tickets/ESC-00001");
    let tag = app
        .post(
            "/admin/tags/create",
            &admin,
            json!({"name": "located", "color": "#123456"}),
        )
        .await
        .expect(201);
    let shown = app.get(&path_of(&tag), &admin).await.expect(200);
    assert_eq!(shown.data()["name"], "located");
    let user_id = app.user("Lou", "lou@example.com", "agent").await;
    let token = app
        .post(
            "/admin/api-tokens/create",
            &admin,
            json!({"name": "located", "user_id": user_id, "abilities": ["*"]}),
        )
        .await
        .expect(201);
    let id = token.data()["id"].as_i64().unwrap();
    assert_eq!(path_of(&token), format!("/admin/api-tokens/{id}"));
}
