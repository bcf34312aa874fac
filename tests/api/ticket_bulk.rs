//! `POST /tickets/bulk` (contract §9.3): each operation by the single endpoints' rules, in its
//! own transaction, one result per operation.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    both_databases,
    support::{Reply, TestApp},
};

both_databases!(
    each_operation_is_applied_and_answered_in_order,
    a_failing_operation_changes_nothing_of_its_ticket,
    a_body_that_does_not_fit_is_422_and_applies_nothing,
    a_macro_in_an_operation_runs_as_its_single_endpoint,
    one_request_is_one_rate_limit_charge_and_one_idempotency_key,
);

both_databases!(
    config = |c| c.api.rate_limit = 5;
    a_bulk_of_many_operations_costs_one_request_of_the_limit,
);

const BULK: &str = "/tickets/bulk";

fn reference(ticket: &Value) -> String {
    ticket["reference"].as_str().unwrap().to_string()
}

fn results(reply: &Reply) -> Vec<Value> {
    reply.data().as_array().unwrap().clone()
}

async fn show(app: &TestApp, token: &str, reference: &str) -> Value {
    app.get(&format!("/tickets/{reference}"), token)
        .await
        .expect(200)
        .data()
        .clone()
}

async fn each_operation_is_applied_and_answered_in_order(app: TestApp) {
    let (me, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let tag = app.tag("bulk").await;
    let department = app.department("Billing").await;
    let one = reference(&app.ticket(&token, "One", json!({})).await);
    let two = reference(&app.ticket(&token, "Two", json!({})).await);
    let three = reference(&app.ticket(&token, "Three", json!({"tags": [tag]})).await);
    let reply = app
        .post(
            BULK,
            &token,
            json!({"operations": [
                {"reference": one, "status": "resolved"},
                {"reference": two, "priority": "high", "add_tags": [tag], "agent_id": me,
                 "department_id": department},
                {"reference": "ESC-99999", "status": "resolved"},
                {"reference": three, "remove_tags": [tag], "agent_id": null},
                {"reference": one, "status": "in_progress"},
            ]}),
        )
        .await
        .expect(200);
    let results = results(&reply);
    let statuses: Vec<&Value> = results.iter().map(|r| &r["status"]).collect();
    assert_eq!(statuses, [200, 200, 404, 200, 422], "{results:?}");
    let references: Vec<&str> = results
        .iter()
        .map(|r| r["reference"].as_str().unwrap())
        .collect();
    assert_eq!(references, [&one, &two, "ESC-99999", &three, &one]);
    // A success carries the ticket as it now is, as GET shows it.
    assert_eq!(results[0]["data"], show(&app, &token, &one).await);
    let two_now = show(&app, &token, &two).await;
    assert_eq!(results[1]["data"], two_now);
    assert_eq!(two_now["priority"], "high");
    assert_eq!(two_now["assignee"]["id"], me);
    assert_eq!(two_now["department"]["id"], department);
    assert_eq!(two_now["tags"][0]["id"], tag);
    assert_eq!(show(&app, &token, &three).await["tags"], json!([]));
    // A failure carries the single endpoint's error.
    assert_eq!(results[2]["message"], "Ticket not found.");
    assert_eq!(results[2]["code"], "not_found");
    assert!(results[2].get("data").is_none());
    assert_eq!(results[4]["message"], "Validation failed.");
    assert_eq!(results[4]["code"], "validation_failed");
    assert!(
        results[4]["errors"]["status"]
            .as_str()
            .unwrap()
            .starts_with("Cannot change status from resolved to in_progress"),
        "{}",
        results[4]
    );
    assert_eq!(show(&app, &token, &one).await["status"], "resolved");
}

async fn a_failing_operation_changes_nothing_of_its_ticket(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let ticket = reference(&app.ticket(&token, "Atomic", json!({})).await);
    let before = show(&app, &token, &ticket).await;
    let reply = app
        .post(
            BULK,
            &token,
            json!({"operations": [
                {"reference": ticket, "status": "resolved", "priority": "urgent",
                 "add_tags": [999999]},
                {"reference": ticket, "agent_id": 999999},
                {"reference": ticket, "department_id": 999999},
                {"reference": ticket, "status": "reopened"},
            ]}),
        )
        .await
        .expect(200);
    let results = results(&reply);
    let fields: Vec<Vec<&String>> = results
        .iter()
        .map(|r| {
            assert_eq!(r["status"], 422, "{r}");
            r["errors"].as_object().unwrap().keys().collect()
        })
        .collect();
    assert_eq!(
        fields,
        [["add_tags"], ["agent_id"], ["department_id"], ["status"]]
    );
    assert_eq!(results[0]["errors"]["add_tags"], "Unknown tag ids: 999999.");
    assert_eq!(show(&app, &token, &ticket).await, before, "nothing changed");
}

async fn a_body_that_does_not_fit_is_422_and_applies_nothing(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let ticket = reference(&app.ticket(&token, "Shape", json!({})).await);
    let before = show(&app, &token, &ticket).await;
    let many: Vec<Value> = (0..101)
        .map(|_| json!({"reference": ticket, "priority": "low"}))
        .collect();
    let message = app
        .post(BULK, &token, json!({ "operations": many }))
        .await
        .expect_invalid("operations");
    assert_eq!(message, "The operations may not have more than 100 items.");
    app.post(BULK, &token, json!({ "operations": [] }))
        .await
        .expect_invalid("operations");
    app.post(BULK, &token, json!({}))
        .await
        .expect_invalid("operations");
    // A typo is refused, not ignored: the first operation does not run either.
    let typo = app
        .post(
            BULK,
            &token,
            json!({"operations": [
                {"reference": ticket, "priority": "low"},
                {"reference": ticket, "prioritee": "high"},
            ]}),
        )
        .await
        .expect_invalid("operations.1.prioritee");
    assert_eq!(typo, "The prioritee field is not allowed.");
    app.post(
        BULK,
        &token,
        json!({"operations": [{"status": "resolved"}]}),
    )
    .await
    .expect_invalid("operations.0.reference");
    app.post(
        BULK,
        &token,
        json!({"operations": [{"reference": ticket, "status": "sideways"}]}),
    )
    .await
    .expect(422);
    app.post(BULK, &token, json!({"operations": [{"reference": ticket}]}))
        .await
        .expect(200);
    let (_, reader) = app.agent(&["tickets:read"]).await;
    app.post(
        BULK,
        &reader,
        json!({"operations": [{"reference": ticket, "priority": "low"}]}),
    )
    .await
    .expect(403);
    let after = show(&app, &token, &ticket).await;
    assert_eq!(after["priority"], before["priority"]);
    assert_eq!(after["activities"], before["activities"]);
}

async fn a_macro_in_an_operation_runs_as_its_single_endpoint(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let shared = app
        .post(
            "/admin/macros/create",
            &app.admin_token,
            json!({"name": "Escalate", "is_shared": true,
                   "actions": [{"type": "set_priority", "value": "urgent"}]}),
        )
        .await
        .expect(201)
        .data()["id"]
        .clone();
    let private = app
        .post(
            "/admin/macros/create",
            &app.admin_token,
            json!({"name": "Mine", "is_shared": false, "actions": [{"type": "follow"}]}),
        )
        .await
        .expect(201)
        .data()["id"]
        .clone();
    let ticket = reference(&app.ticket(&token, "Macro", json!({})).await);
    let reply = app
        .post(
            BULK,
            &token,
            json!({"operations": [
                {"reference": ticket, "macro_id": shared, "status": "in_progress"},
                {"reference": ticket, "macro_id": private},
                {"reference": "ESC-99999", "macro_id": shared},
            ]}),
        )
        .await
        .expect(200);
    let results = results(&reply);
    assert_eq!(results[0]["status"], 200, "{}", results[0]);
    let now = show(&app, &token, &ticket).await;
    assert_eq!(now["priority"], "urgent");
    assert_eq!(now["status"], "in_progress");
    let kinds: Vec<&str> = now["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"macro_applied"), "{kinds:?}");
    // Someone else's private macro is as invisible as on the single endpoint.
    assert_eq!(results[1]["status"], 422);
    assert!(
        results[1]["errors"]["macro_id"].is_string(),
        "{}",
        results[1]
    );
    assert_eq!(results[2]["status"], 404);
}

async fn one_request_is_one_rate_limit_charge_and_one_idempotency_key(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let ticket = reference(&app.ticket(&token, "Keyed", json!({})).await);
    let body = json!({"operations": [
        {"reference": ticket, "priority": "high"},
        {"reference": ticket, "priority": "low"},
    ]})
    .to_string();
    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("idempotency-key", "bulk-1"),
    ];
    let first = app
        .raw(Method::POST, &app.url(BULK), &headers, &body)
        .await
        .expect(200);
    let again = app
        .raw(Method::POST, &app.url(BULK), &headers, &body)
        .await
        .expect(200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    let changes = show(&app, &token, &ticket).await["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "priority_changed")
        .count();
    assert_eq!(changes, 2, "the operations ran once");
}

async fn a_bulk_of_many_operations_costs_one_request_of_the_limit(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let ticket = reference(&app.ticket(&token, "Limited", json!({})).await);
    let operations: Vec<Value> = ["low", "high", "urgent", "medium", "low", "high", "low"]
        .iter()
        .map(|p| json!({"reference": ticket, "priority": p}))
        .collect();
    let before = app
        .get("/tickets?per_page=1", &token)
        .await
        .number("x-ratelimit-remaining");
    let reply = app
        .post(BULK, &token, json!({ "operations": operations }))
        .await
        .expect(200);
    assert_eq!(reply.number("x-ratelimit-remaining"), before - 1);
    assert_eq!(results(&reply).len(), 7);
}
