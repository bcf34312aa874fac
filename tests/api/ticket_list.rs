//! The ticket list: filters, sorting, pagination, its fixed query count; and the dashboard.

use serde_json::{Value, json};

use crate::{both_databases, support::TestApp};

both_databases!(
    list_defaults_to_newest_first_with_meta_and_summaries,
    each_filter_narrows_and_filters_combine,
    search_matches_subject_description_and_reference_literally,
    sort_by_priority_is_by_severity,
    pagination_edges,
    bad_list_parameters_are_422_naming_the_parameter,
    boolean_filters_off_do_not_invert,
    list_runs_a_fixed_number_of_queries_whatever_the_page_size,
    dashboard_counts_and_lists,
    totals_follow_every_write_at_once,
);

async fn totals_follow_every_write_at_once(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let total = |q: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            app.get(q, token).await.expect(200).body["meta"]["total"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(total("/tickets").await, 0);
    let t = app.ticket(&token, "Counted", json!({})).await;
    assert_eq!(
        total("/tickets").await,
        1,
        "a cached count is dropped by the next write"
    );
    assert_eq!(total("/tickets?status=resolved").await, 0);
    app.patch(
        &format!("/tickets/{}/status", t["reference"].as_str().unwrap()),
        &token,
        json!({"status": "resolved"}),
    )
    .await
    .expect(200);
    assert_eq!(total("/tickets?status=resolved").await, 1);
    app.delete(
        &format!("/tickets/{}", t["reference"].as_str().unwrap()),
        &app.admin_token.clone(),
    )
    .await
    .expect(200);
    assert_eq!(total("/tickets").await, 0);
}

fn refs(reply: &crate::support::Reply) -> Vec<String> {
    reply
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap().to_string())
        .collect()
}

async fn list_defaults_to_newest_first_with_meta_and_summaries(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for i in 1..=3 {
        app.ticket(&token, &format!("T{i}"), json!({})).await;
    }
    let reply = app.get("/tickets", &token).await.expect(200);
    assert_eq!(refs(&reply), ["ESC-00003", "ESC-00002", "ESC-00001"]);
    assert_eq!(
        reply.body["meta"],
        json!({"current_page": 1, "last_page": 1, "per_page": 25, "total": 3})
    );
    let first = &reply.data()[0];
    for absent in ["description", "replies", "activities"] {
        assert!(first.get(absent).is_none(), "list items leave out {absent}");
    }
    for present in [
        "sla",
        "tags",
        "allowed_transitions",
        "followers_count",
        "is_following",
        "requester",
    ] {
        assert!(first.get(present).is_some(), "list items have {present}");
    }
}

async fn each_filter_narrows_and_filters_combine(app: TestApp) {
    let (me, token) = app.agent(&["agent"]).await;
    let dept = app.department("Support").await;
    let a = app
        .ticket(
            &token,
            "A",
            json!({"priority": "high", "ticket_type": "incident", "department_id": dept}),
        )
        .await;
    let b = app.ticket(&token, "B", json!({"priority": "high"})).await;
    let c = app
        .ticket(
            &token,
            "C",
            json!({"priority": "low", "ticket_type": "incident"}),
        )
        .await;
    let r = |t: &Value| t["reference"].as_str().unwrap().to_string();
    app.post(
        &format!("/tickets/{}/assign", r(&a)),
        &token,
        json!({"agent_id": me}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/tickets/{}/status", r(&b)),
        &token,
        json!({"status": "resolved"}),
    )
    .await
    .expect(200);
    app.post(&format!("/tickets/{}/follow", r(&c)), &token, json!({}))
        .await
        .expect(200);
    app.exec("UPDATE tickets SET sla_breached = 1 WHERE reference = 'ESC-00003'")
        .await;
    let cases: Vec<(String, Vec<String>)> = vec![
        ("status=resolved".into(), vec![r(&b)]),
        ("priority=high".into(), vec![r(&b), r(&a)]),
        (format!("department_id={dept}"), vec![r(&a)]),
        (format!("assigned_to={me}"), vec![r(&a)]),
        ("unassigned=1".into(), vec![r(&c), r(&b)]),
        ("unassigned=true".into(), vec![r(&c), r(&b)]),
        ("ticket_type=incident".into(), vec![r(&c), r(&a)]),
        ("sla_breached=1".into(), vec![r(&c)]),
        ("following=true".into(), vec![r(&c)]),
        ("priority=high&unassigned=1".into(), vec![r(&b)]),
        (
            "ticket_type=incident&priority=low&following=1".into(),
            vec![r(&c)],
        ),
        ("status=open&priority=high".into(), vec![r(&a)]),
    ];
    for (query, expected) in cases {
        let reply = app
            .get(&format!("/tickets?{query}"), &token)
            .await
            .expect(200);
        assert_eq!(refs(&reply), expected, "{query}");
        assert_eq!(reply.body["meta"]["total"], expected.len(), "{query}");
    }
}

async fn search_matches_subject_description_and_reference_literally(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    app.ticket(&token, "Refund please", json!({"description": "order 17"}))
        .await;
    app.ticket(
        &token,
        "Login broken",
        json!({"description": "50% of users affected"}),
    )
    .await;
    app.ticket(&token, "Other", json!({"description": "5000 users"}))
        .await;
    let search = |q: &str| {
        let (app, token, q) = (&app, &token, q.to_string());
        async move {
            refs(
                &app.get(&format!("/tickets?search={q}"), token)
                    .await
                    .expect(200),
            )
        }
    };
    assert_eq!(search("refund").await, ["ESC-00001"]);
    assert_eq!(search("order%2017").await, ["ESC-00001"]);
    assert_eq!(search("ESC-00002").await, ["ESC-00002"]);
    assert_eq!(
        search("50%25").await,
        ["ESC-00002"],
        "% is literal, not a wildcard"
    );
    assert_eq!(search("nothing-like-this").await, Vec::<String>::new());
    app.get(&format!("/tickets?search={}", "x".repeat(256)), &token)
        .await
        .expect(422);
}

async fn sort_by_priority_is_by_severity(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for (subject, priority) in [
        ("b", "medium"),
        ("c", "critical"),
        ("a", "low"),
        ("d", "urgent"),
        ("e", "high"),
    ] {
        app.ticket(&token, subject, json!({"priority": priority}))
            .await;
    }
    let priorities = |reply: crate::support::Reply| -> Vec<String> {
        reply
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["priority"].as_str().unwrap().to_string())
            .collect()
    };
    let asc = priorities(
        app.get("/tickets?sort_by=priority&sort_dir=asc", &token)
            .await
            .expect(200),
    );
    assert_eq!(asc, ["low", "medium", "high", "urgent", "critical"]);
    let desc = priorities(
        app.get("/tickets?sort_by=priority", &token)
            .await
            .expect(200),
    );
    assert_eq!(desc, ["critical", "urgent", "high", "medium", "low"]);
    let subjects: Vec<String> = app
        .get("/tickets?sort_by=subject&sort_dir=asc", &token)
        .await
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(subjects, ["a", "b", "c", "d", "e"]);
    let oldest = refs(
        &app.get("/tickets?sort_by=created_at&sort_dir=asc", &token)
            .await,
    );
    assert_eq!(
        oldest[0], "ESC-00001",
        "ties on created_at break by id in the same direction"
    );
}

async fn pagination_edges(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for i in 0..5 {
        app.ticket(&token, &format!("P{i}"), json!({})).await;
    }
    let page2 = app
        .get("/tickets?per_page=2&page=2", &token)
        .await
        .expect(200);
    assert_eq!(refs(&page2), ["ESC-00003", "ESC-00002"]);
    assert_eq!(
        page2.body["meta"],
        json!({"current_page": 2, "last_page": 3, "per_page": 2, "total": 5})
    );
    let last = app
        .get("/tickets?per_page=2&page=3", &token)
        .await
        .expect(200);
    assert_eq!(refs(&last), ["ESC-00001"]);
    let past = app
        .get("/tickets?per_page=2&page=9", &token)
        .await
        .expect(200);
    assert_eq!(past.data(), &json!([]));
    assert_eq!(past.body["meta"]["total"], 5);
    let empty = app.get("/tickets?status=closed", &token).await.expect(200);
    assert_eq!(
        empty.body["meta"],
        json!({"current_page": 1, "last_page": 1, "per_page": 25, "total": 0})
    );
    assert_eq!(
        app.get("/tickets?per_page=100", &token)
            .await
            .expect(200)
            .body["meta"]["per_page"],
        100
    );
}

async fn bad_list_parameters_are_422_naming_the_parameter(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for (query, field) in [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=ten", "per_page"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("status=pending", "status"),
        ("priority=extreme", "priority"),
        ("ticket_type=bug", "ticket_type"),
        ("sort_by=id;DROP TABLE tickets", "sort_by"),
        ("sort_dir=up", "sort_dir"),
        ("unassigned=yes", "unassigned"),
        ("sla_breached=2", "sla_breached"),
        ("following=on", "following"),
        ("department_id=x", "department_id"),
    ] {
        let reply = app
            .get(&format!("/tickets?{query}"), &token)
            .await
            .expect(422);
        assert!(
            reply.field_error(field).is_some(),
            "{query}: {}",
            reply.body
        );
    }
}

async fn boolean_filters_off_do_not_invert(app: TestApp) {
    let (me, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Mine", json!({})).await;
    app.ticket(&token, "Nobody's", json!({})).await;
    app.post(
        &format!("/tickets/{}/assign", t["reference"].as_str().unwrap()),
        &token,
        json!({"agent_id": me}),
    )
    .await
    .expect(200);
    for query in [
        "unassigned=0",
        "unassigned=false",
        "sla_breached=0",
        "following=false",
    ] {
        assert_eq!(
            app.get(&format!("/tickets?{query}"), &token).await.body["meta"]["total"],
            2,
            "{query}"
        );
    }
}

async fn list_runs_a_fixed_number_of_queries_whatever_the_page_size(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let tag = app.tag("counted").await;
    for i in 0..25 {
        let t = app
            .ticket(&token, &format!("Q{i}"), json!({"tags": [tag]}))
            .await;
        app.post(
            &format!("/tickets/{}/follow", t["reference"].as_str().unwrap()),
            &token,
            json!({}),
        )
        .await
        .expect(200);
    }
    let (one, small) = app
        .get_counting_queries("/tickets?per_page=1", &token)
        .await;
    let (full, large) = app
        .get_counting_queries("/tickets?per_page=25", &token)
        .await;
    assert_eq!(one.data().as_array().unwrap().len(), 1);
    assert_eq!(full.data().as_array().unwrap().len(), 25);
    assert!(small > 0, "the counter sees the queries");
    // The second request may reuse the first one's count (nothing was written in between).
    assert!(
        large <= small,
        "queries must not grow with the page size: {small} then {large}"
    );
    assert!(small <= 4, "page, count, tags, followers: {small}");
}

async fn dashboard_counts_and_lists(app: TestApp) {
    let (me, token) = app.agent(&["agent"]).await;
    let mine = app.ticket(&token, "Mine", json!({})).await;
    let urgent = app
        .ticket(&token, "Urgent nobody", json!({"priority": "urgent"}))
        .await;
    let done = app.ticket(&token, "Done", json!({})).await;
    let r = |t: &Value| t["reference"].as_str().unwrap().to_string();
    app.post(
        &format!("/tickets/{}/assign", r(&mine)),
        &token,
        json!({"agent_id": me}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/tickets/{}/status", r(&done)),
        &token,
        json!({"status": "resolved"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/tickets/{}/status", r(&done)),
        &token,
        json!({"status": "closed"}),
    )
    .await
    .expect(200);
    app.exec("UPDATE tickets SET sla_breached = 1 WHERE reference = 'ESC-00002'")
        .await;
    let reply = app.get("/dashboard", &token).await.expect(200);
    let d = reply.data();
    assert_eq!(
        d["stats"],
        json!({"open": 2, "assigned": 1, "unassigned": 1, "sla_breached": 1, "resolved_today": 1})
    );
    let recent: Vec<&str> = d["recent_tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    assert_eq!(recent, ["ESC-00003", "ESC-00002", "ESC-00001"]);
    assert_eq!(
        d["needs_attention"]["unassigned_urgent"][0]["reference"],
        r(&urgent)
    );
    assert_eq!(
        d["needs_attention"]["sla_breaching"][0]["reference"],
        r(&urgent)
    );
    // Another agent has nothing assigned.
    let (_, other) = app.agent(&["tickets:read"]).await;
    assert_eq!(
        app.get("/dashboard", &other).await.expect(200).data()["stats"]["assigned"],
        0
    );
    let realtime = app.get("/realtime/config", &other).await.expect(200);
    assert_eq!(realtime.data()["transport"], "sse");
    assert_eq!(realtime.data()["events"].as_array().unwrap().len(), 13);
    assert!(realtime.data()["url"].as_str().unwrap().starts_with("http"));
    assert_eq!(realtime.data()["enabled"], true);
}
