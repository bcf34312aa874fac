//! Reports (contract §9.6): the summary's figures against hand-computed ones on a small data
//! set, and the shape of the streamed exports.

use escalated::{
    config::Config,
    domain::reports::rollup::bucket,
    jobs::{self, Job},
    time::rfc3339,
};
use serde_json::{Value, json};

use crate::{both_databases, support::TestApp};

both_databases!(
    the_summary_matches_hand_computed_figures,
    whole_days_come_from_the_rollup_with_or_without_the_job,
    partial_days_count_the_resolved_by_their_index,
    reports_are_for_admins_and_check_the_period,
    exports_stream_csv_and_json,
    an_export_walks_every_row_across_batches,
);

/// The start of the period every test uses: 2023-11-14T22:13:20Z.
const P: i64 = 1_700_000_000;

async fn ticket(app: &TestApp, extra: Value) -> String {
    let mut body = json!({"subject": "Report me", "description": "d"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post("/tickets/create", &app.admin_token, body)
        .await
        .expect(201)
        .data()["reference"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Sets a ticket's figures directly, so the expected numbers are known exactly, as a change
/// (the ticket takes the next change number, as every write does).
#[allow(clippy::too_many_arguments)]
async fn set(
    app: &TestApp,
    reference: &str,
    status: &str,
    priority: i64,
    created_at: i64,
    first_response_at: Option<i64>,
    resolved_at: Option<i64>,
    breached: i64,
) {
    let store = app.store().await;
    sqlx::query(
        "UPDATE tickets SET status = ?, priority = ?, created_at = ?, first_response_at = ?, \
         resolved_at = ?, sla_breached = ? WHERE reference = ?",
    )
    .bind(status)
    .bind(priority)
    .bind(created_at)
    .bind(first_response_at)
    .bind(resolved_at)
    .bind(breached)
    .bind(reference)
    .execute(store.pool())
    .await
    .unwrap();
    touch(app, reference).await;
}

/// Gives the ticket the next change number, as a write through the server would.
async fn touch(app: &TestApp, reference: &str) {
    let store = app.store().await;
    sqlx::query("UPDATE change_sequence SET seq = seq + 1 WHERE id = 1")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query(
        "UPDATE tickets SET change_seq = (SELECT seq FROM change_sequence WHERE id = 1) \
         WHERE reference = ?",
    )
    .bind(reference)
    .execute(store.pool())
    .await
    .unwrap();
}

/// A ticket in a new "Billing" department, assigned to a new agent: (reference, department
/// id, agent id).
async fn billed_and_assigned(app: &TestApp) -> (String, Value, i64) {
    let department = app
        .post(
            "/admin/departments/create",
            &app.admin_token,
            json!({"name": "Billing"}),
        )
        .await
        .expect(201)
        .data()["id"]
        .clone();
    let (agent, _) = app.agent(&["agent"]).await;
    let reference = ticket(app, json!({"department_id": department})).await;
    app.post(
        &format!("/tickets/{reference}/assign"),
        &app.admin_token,
        json!({"agent_id": agent}),
    )
    .await
    .expect(200);
    (reference, department, agent)
}

fn period() -> String {
    format!("from={}&to={}", rfc3339(P), rfc3339(P + 86_400))
}

async fn the_summary_matches_hand_computed_figures(app: TestApp) {
    let (t1, department, agent) = billed_and_assigned(&app).await;
    let t2 = ticket(&app, json!({})).await;
    let t3 = ticket(&app, json!({})).await;
    let t4 = ticket(&app, json!({})).await;
    let t5 = ticket(&app, json!({})).await;
    // T1: first response after 10 min, resolved after 1 h, high, Billing, assigned.
    set(
        &app,
        &t1,
        "resolved",
        3,
        P,
        Some(P + 600),
        Some(P + 3600),
        0,
    )
    .await;
    // T2: first response after 30 min, open, breached.
    set(&app, &t2, "open", 2, P + 100, Some(P + 1900), None, 1).await;
    // T3: no policy, resolved after 2 h.
    set(&app, &t3, "resolved", 2, P + 200, None, Some(P + 7400), 0).await;
    let store = app.store().await;
    sqlx::query("UPDATE tickets SET sla_policy_id = NULL WHERE reference = ?")
        .bind(&t3)
        .execute(store.pool())
        .await
        .unwrap();
    touch(&app, &t3).await;
    // T4: created before the period, resolved in it.
    set(&app, &t4, "resolved", 2, P - 1000, None, Some(P + 500), 0).await;
    // T5: in the period but deleted: counted nowhere.
    set(&app, &t5, "open", 5, P + 50, Some(P + 60), None, 1).await;
    app.delete(&format!("/tickets/{t5}"), &app.admin_token)
        .await
        .expect(200);

    let r = app
        .get(&format!("/reports/summary?{}", period()), &app.admin_token)
        .await
        .expect(200);
    let s = r.data();
    assert_eq!(s["from"], rfc3339(P));
    assert_eq!(s["tickets_created"], 3);
    assert_eq!(s["tickets_resolved"], 3);
    assert_eq!(s["open_now"], 1);
    assert_eq!(
        s["first_response_seconds"],
        json!({"count": 2, "median": 600, "p90": 1800})
    );
    assert_eq!(
        s["resolution_seconds"],
        json!({"count": 2, "median": 3600, "p90": 7200})
    );
    assert_shared_breakdowns(s, &department);
    let by_agent = &s["by_agent"];
    assert_eq!(by_agent[0], json!({"agent": null, "count": 2}));
    assert_eq!(by_agent[1]["agent"]["id"], agent);
    assert_eq!(by_agent[1]["count"], 1);

    // The default period is the last 30 days: these tickets are years old.
    let r = app
        .get("/reports/summary", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(r.data()["tickets_created"], 0);
    assert_eq!(r.data()["first_response_seconds"]["median"], Value::Null);
    assert_eq!(r.data()["sla"]["breach_rate"], Value::Null);
}

/// Runs the rollup job by hand; answers its line.
async fn roll_up(app: &TestApp) -> String {
    let store = app.store().await;
    let line = jobs::run(Job::RollUpReports, &store, &Config::default(), P)
        .await
        .unwrap()
        .expect("the lease is free");
    store.close().await;
    line
}

async fn summary(app: &TestApp, query: &str) -> Value {
    app.get(&format!("/reports/summary?{query}"), &app.admin_token)
        .await
        .expect(200)
        .data()
        .clone()
}

async fn whole_days_come_from_the_rollup_with_or_without_the_job(app: TestApp) {
    // D is 2023-11-14T00:00:00Z; the whole-day period is the 14th and the 15th.
    const D: i64 = 1_699_920_000;
    const DAY: i64 = 86_400;
    let whole = "from=2023-11-14&to=2023-11-15".to_string();
    // From 00:30 on the 14th to noon on the 17th: whole days 15th and 16th, exact edges.
    let mixed = format!(
        "from={}&to={}",
        rfc3339(D + 1800),
        rfc3339(D + 3 * DAY + 43_200)
    );
    let (a, department, agent) = billed_and_assigned(&app).await;
    let (b, c, e, f, g) = (
        ticket(&app, json!({})).await,
        ticket(&app, json!({})).await,
        ticket(&app, json!({})).await,
        ticket(&app, json!({})).await,
        ticket(&app, json!({})).await,
    );
    // A: day 1, high, Billing, assigned, first response after 10 min, resolved after 2 h.
    set(
        &app,
        &a,
        "resolved",
        3,
        D + 3600,
        Some(D + 4200),
        Some(D + 10_800),
        0,
    )
    .await;
    // B: day 2, open, breached, first response after 30 min.
    set(
        &app,
        &b,
        "open",
        2,
        D + DAY + 100,
        Some(D + DAY + 1900),
        None,
        1,
    )
    .await;
    // C: day 1, no policy, resolved three days later (after the whole-day period).
    set(
        &app,
        &c,
        "resolved",
        2,
        D + 200,
        None,
        Some(D + 200 + 3 * DAY),
        0,
    )
    .await;
    let store = app.store().await;
    sqlx::query("UPDATE tickets SET sla_policy_id = NULL WHERE reference = ?")
        .bind(&c)
        .execute(store.pool())
        .await
        .unwrap();
    touch(&app, &c).await;
    // E: created before, resolved on day 1.  F: day 1, deleted.  G: day 3, open.
    set(&app, &e, "resolved", 2, D - 1000, None, Some(D + 500), 0).await;
    set(&app, &f, "open", 5, D + 50, Some(D + 60), None, 1).await;
    app.delete(&format!("/tickets/{f}"), &app.admin_token)
        .await
        .expect(200);
    set(&app, &g, "open", 1, D + 2 * DAY + 10, None, None, 0).await;

    let check_whole = |s: &Value| {
        assert_eq!(s["tickets_created"], 3, "{s}");
        assert_eq!(s["tickets_resolved"], 2, "{s}");
        assert_eq!(s["open_now"], 2, "{s}");
        assert_eq!(
            s["first_response_seconds"],
            json!({"count": 2, "median": bucket(600), "p90": bucket(1800)})
        );
        assert_eq!(
            s["resolution_seconds"],
            json!({"count": 2, "median": bucket(7200), "p90": bucket(3 * DAY)})
        );
        assert_shared_breakdowns(s, &department);
        assert_eq!(s["by_agent"][1]["agent"]["id"], agent);
        assert_eq!(s["by_agent"][1]["count"], 1);
    };
    let check_mixed = |s: &Value| {
        // A (edge, exact durations), B and G (whole days); C before the start.
        assert_eq!(s["tickets_created"], 3, "{s}");
        // A on the first edge, C on the last (E before the start).
        assert_eq!(s["tickets_resolved"], 2, "{s}");
        assert_eq!(
            s["first_response_seconds"],
            json!({"count": 2, "median": 600, "p90": bucket(1800)})
        );
        assert_eq!(
            s["by_status"],
            json!([{"status": "open", "count": 2}, {"status": "resolved", "count": 1}])
        );
    };

    // Nothing folded yet: the summary adds every change itself.
    let (before_whole, before_mixed) = (summary(&app, &whole).await, summary(&app, &mixed).await);
    check_whole(&before_whole);
    check_mixed(&before_mixed);
    let line = roll_up(&app).await;
    assert!(line.starts_with("6 "), "{line}");
    assert_eq!(summary(&app, &whole).await, before_whole);
    assert_eq!(summary(&app, &mixed).await, before_mixed);
    assert!(roll_up(&app).await.starts_with("0 "));

    // Changes after the fold: B resolved now (outside the period), A deleted.
    app.patch(
        &format!("/tickets/{b}/status"),
        &app.admin_token,
        json!({"status": "resolved"}),
    )
    .await
    .expect(200);
    app.delete(&format!("/tickets/{a}"), &app.admin_token)
        .await
        .expect(200);
    let check_changed = |s: &Value| {
        assert_eq!(s["tickets_created"], 2, "{s}");
        assert_eq!(s["tickets_resolved"], 1, "{s}");
        assert_eq!(s["open_now"], 1, "{s}");
        assert_eq!(s["first_response_seconds"]["count"], 1);
        assert_eq!(s["resolution_seconds"]["count"], 2);
        assert_eq!(s["by_status"], json!([{"status": "resolved", "count": 2}]));
        assert_eq!(
            s["by_department"],
            json!([{"department": null, "count": 2}])
        );
        assert_eq!(s["by_agent"], json!([{"agent": null, "count": 2}]));
    };
    let pending = summary(&app, &whole).await;
    check_changed(&pending);
    assert!(roll_up(&app).await.starts_with("2 "));
    assert_eq!(summary(&app, &whole).await, pending);
}

/// The count of tickets resolved on a partial day reads the range of `tickets_resolved`: on
/// SQLite, without statistics, the planner would rather walk every live ticket by
/// `deleted_at` (3 s a statement at a million tickets).
async fn partial_days_count_the_resolved_by_their_index(app: TestApp) {
    let auth = format!("Bearer {}", app.admin_token);
    let path = format!(
        "/reports/summary?from={}&to={}",
        rfc3339(P),
        rfc3339(P + 3600)
    );
    let (reply, statements) = app
        .raw_recording_queries(
            reqwest::Method::GET,
            &path,
            &app.admin_token,
            &[("authorization", &auth)],
            "",
        )
        .await;
    reply.expect(200);
    let count = statements
        .iter()
        .find(|s| s.contains("resolved_at >= ?") && s.starts_with("SELECT COUNT(*)"))
        .expect("the summary counts the resolved tickets of its partial day");
    let mut bounds = [P, P + 3600].into_iter();
    let literal: String = count
        .split('?')
        .enumerate()
        .map(|(i, part)| match i {
            0 => part.to_string(),
            _ => format!("{}{part}", bounds.next().unwrap_or(0)),
        })
        .collect();
    let store = app.store().await;
    let plan: Vec<String> = match app.backend {
        crate::support::Backend::Sqlite => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {literal}")))
                .fetch_all(store.pool())
                .await
                .unwrap();
            rows.iter()
                .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
                .collect()
        }
        // On a table this small MariaDB may read every row; that the range is there to take
        // is what can be checked (at a million it takes it: docs/performance.md).
        crate::support::Backend::MySql => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {literal}")))
                .fetch_all(store.pool())
                .await
                .unwrap();
            rows.iter()
                .map(|r| {
                    sqlx::Row::get::<Option<String>, _>(r, "possible_keys").unwrap_or_default()
                })
                .collect()
        }
    };
    assert!(
        plan.iter().any(|step| step.contains("tickets_resolved")),
        "{count}: {plan:?}"
    );
}

async fn reports_are_for_admins_and_check_the_period(app: TestApp) {
    let (_, agent) = app.agent(&["*"]).await;
    assert_eq!(app.get("/reports/summary", &agent).await.status, 403);
    assert_eq!(app.get("/reports/export/tickets", &agent).await.status, 403);
    app.get("/reports/summary?from=yesterday", &app.admin_token)
        .await
        .expect_invalid("from");
    app.get(
        "/reports/summary?from=2026-12-01&to=2026-11-01",
        &app.admin_token,
    )
    .await
    .expect_invalid("from");
    app.get("/reports/export/tickets?format=xml", &app.admin_token)
        .await
        .expect_invalid("format");
    assert_eq!(
        app.get("/reports/export/secrets", &app.admin_token)
            .await
            .status,
        404
    );
}

async fn raw(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn exports_stream_csv_and_json(app: TestApp) {
    let a = ticket(&app, json!({"subject": "=HYPERLINK(\"x\"), with comma"})).await;
    let b = ticket(&app, json!({})).await;
    set(&app, &a, "open", 2, P + 10, None, None, 0).await;
    set(
        &app,
        &b,
        "resolved",
        4,
        P + 20,
        Some(P + 30),
        Some(P + 40),
        1,
    )
    .await;

    let (status, headers, csv) = raw(&app, &format!("/reports/export/tickets?{}", period())).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert_eq!(
        disposition,
        "attachment; filename=\"tickets-2023-11-14-2023-11-15.csv\""
    );
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("id,reference,subject,status,priority,"));
    assert!(
        lines[1].contains(&format!(
            ",{a},\"'=HYPERLINK(\"\"x\"\"), with comma\",open,medium,"
        )),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(&format!(",{b},Report me,resolved,urgent,")));

    let (status, headers, body) = raw(
        &app,
        &format!("/reports/export/tickets?format=json&{}", period()),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".json\"")
    );
    let json: Value = serde_json::from_str(&body).unwrap();
    let rows = json["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["reference"], b);
    assert_eq!(rows[1]["sla_breached"], true);
    assert_eq!(rows[1]["resolved_at"], rfc3339(P + 40));
    assert_eq!(rows[0]["resolved_at"], Value::Null);

    let (_, _, body) = raw(
        &app,
        &format!("/reports/export/sla?format=json&{}", period()),
    )
    .await;
    let sla: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sla["data"].as_array().unwrap().len(), 2);
    assert_eq!(sla["data"][1]["first_response_at"], rfc3339(P + 30));

    let (_, _, agents) = raw(&app, &format!("/reports/export/agents?{}", period())).await;
    let lines: Vec<&str> = agents.trim_end().split("\r\n").collect();
    assert_eq!(
        lines[0],
        "id,name,email,role,is_active,open_assigned,resolved,replies,notes"
    );
    assert_eq!(lines.len(), 2, "the bootstrap admin: {agents}");

    // An empty period is a header alone, or an empty list.
    let (_, _, csv) = raw(
        &app,
        "/reports/export/tickets?from=2001-01-01&to=2001-01-02",
    )
    .await;
    assert_eq!(csv.trim_end().split("\r\n").count(), 1);
    let (_, _, body) = raw(&app, "/reports/export/agents?format=json&from=2001-01-01").await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn an_export_walks_every_row_across_batches(app: TestApp) {
    // More rows than one batch, many sharing a creation time: the keyset walk must return
    // each exactly once.
    let reference = ticket(&app, json!({})).await;
    let store = app.store().await;
    let requester: i64 = sqlx::query_scalar("SELECT requester_id FROM tickets WHERE reference = ?")
        .bind(&reference)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let total = 1234;
    for chunk in 0..(total / 100 + 1) {
        let mut sql = String::from(
            "INSERT INTO tickets (reference, subject, description, status, priority, \
             ticket_type, channel, requester_id, created_at, updated_at) VALUES ",
        );
        let rows: Vec<String> = (chunk * 100..((chunk + 1) * 100).min(total))
            .map(|i| {
                format!(
                    "('BULK-{i:05}', 's', 'd', 'open', 2, 'question', 'api', {requester}, {}, {})",
                    P + (i % 7) as i64,
                    P
                )
            })
            .collect();
        if rows.is_empty() {
            break;
        }
        sql.push_str(&rows.join(", "));
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(store.pool())
            .await
            .unwrap();
    }
    let (_, _, csv) = raw(&app, &format!("/reports/export/tickets?{}", period())).await;
    let mut references: Vec<&str> = csv
        .trim_end()
        .split("\r\n")
        .skip(1)
        .map(|line| line.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(references.len(), total);
    references.sort();
    references.dedup();
    assert_eq!(references.len(), total, "no row twice");
}

/// The SLA figures and the status, priority and department breakdowns that both the exact
/// summary and the rolled-up one give for the billed-and-assigned ticket set.
fn assert_shared_breakdowns(s: &Value, department: &Value) {
    assert_eq!(
        s["sla"],
        json!({"tickets_with_policy": 2, "breached": 1, "breach_rate": 0.5})
    );
    assert_eq!(
        s["by_status"],
        json!([{"status": "open", "count": 1}, {"status": "resolved", "count": 2}])
    );
    assert_eq!(
        s["by_priority"],
        json!([{"priority": "medium", "count": 2}, {"priority": "high", "count": 1}])
    );
    assert_eq!(
        s["by_department"],
        json!([
            {"department": null, "count": 2},
            {"department": {"id": department, "name": "Billing"}, "count": 1}
        ])
    );
}
