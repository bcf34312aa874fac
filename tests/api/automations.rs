//! Automations: `/admin/automations`, the scheduled job (once per ticket per period) and the
//! event-driven runs (no loops) (contract §7).

use std::time::{Duration, Instant};

use escalated::{
    config::Config,
    jobs::{self, Job},
};
use serde_json::{Value, json};

use crate::{both_databases, support::TestApp};

both_databases!(
    automations_are_managed_and_their_scripts_checked,
    a_schedule_automation_applies_once_per_ticket_per_period,
    an_event_automation_fires_on_ticket_created,
    an_automation_does_not_retrigger_itself,
    waiting_on_customer_tickets_auto_close_after_five_days,
);

async fn automations_are_managed_and_their_scripts_checked(app: TestApp) {
    let admin = &app.admin_token;
    let created = app
        .post(
            "/admin/automations/create",
            admin,
            json!({"name": "Nudge", "script": "add_tag(\"nudged\");", "trigger": "schedule",
                   "interval_minutes": 60}),
        )
        .await
        .expect(201);
    assert_eq!(created.message(), "Automation created.");
    let a = created.data().clone();
    assert_eq!(a["trigger"], "schedule");
    assert_eq!(a["interval_minutes"], 60);
    assert_eq!(a["is_active"], true);
    assert_eq!(a["origin"], "database");
    let id = a["id"].as_i64().unwrap();

    // A script that does not compile: 422 on `script` with where.
    let bad = app
        .post(
            "/admin/automations/create",
            admin,
            json!({"name": "Broken", "script": "let x = ;", "trigger": "ticket.created"}),
        )
        .await
        .expect_invalid("script");
    assert!(bad.contains("line 1"), "{bad}");
    app.post(
        "/admin/automations/create",
        admin,
        json!({"name": "X", "script": "follow();", "trigger": "ticket.exploded"}),
    )
    .await
    .expect_invalid("trigger");
    for minutes in [Value::Null, json!(0), json!(10_081)] {
        app.post(
            "/admin/automations/create",
            admin,
            json!({"name": "X", "script": "follow();", "trigger": "schedule",
                   "interval_minutes": minutes}),
        )
        .await
        .expect_invalid("interval_minutes");
    }

    let path = format!("/admin/automations/{id}");
    let updated = app
        .patch(
            &format!("{path}/update"),
            admin,
            json!({"trigger": "ticket.created", "is_active": false}),
        )
        .await
        .expect(200);
    assert_eq!(updated.message(), "Automation updated.");
    assert_eq!(updated.data()["trigger"], "ticket.created");
    assert_eq!(updated.data()["interval_minutes"], Value::Null);
    assert_eq!(updated.data()["is_active"], false);
    let listed = app.get("/admin/automations", admin).await.expect(200);
    assert_eq!(listed.data()[0]["name"], "Nudge");
    app.get(&path, admin).await.expect(200);
    let (_, agent) = app.agent(&["agent"]).await;
    app.get(&path, &agent).await.expect(403);
    let deleted = app
        .delete(&format!("{path}/delete"), admin)
        .await
        .expect(200);
    assert_eq!(deleted.message(), "Automation deleted.");
    let gone = app.get(&path, admin).await.expect(404);
    assert_eq!(gone.message(), "Automation not found.");
}

async fn count_applied(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM activities WHERE type = 'automation_applied'")
        .await
}

async fn a_schedule_automation_applies_once_per_ticket_per_period(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    app.post(
        "/admin/automations/create",
        &app.admin_token,
        json!({"name": "Remind", "trigger": "schedule", "interval_minutes": 60,
               "script": "if ticket.subject.contains(\"remind\") { add_note(\"Reminder for {{reference}}\"); }"}),
    )
    .await
    .expect(201);
    let first = app.ticket(&token, "please remind me", json!({})).await;
    app.ticket(&token, "please remind me too", json!({})).await;
    app.ticket(&token, "leave me alone", json!({})).await;
    let done = app.ticket(&token, "remind, but resolved", json!({})).await;
    app.patch(
        &format!("/tickets/{}/status", done["reference"].as_str().unwrap()),
        &token,
        json!({"status": "resolved"}),
    )
    .await
    .expect(200);

    let store = app.store().await;
    let config = Config::default();
    let start = (escalated::time::now() / 3600 + 1) * 3600;
    let mut summaries = Vec::new();
    for at in [
        start + 10,
        start + 1800,
        start + 3599,
        start + 3600,
        start + 3700,
    ] {
        let summary = jobs::run(Job::RunAutomations, &store, &config, at)
            .await
            .unwrap()
            .unwrap();
        summaries.push(summary);
    }
    let runs = "SELECT COUNT(*) FROM automation_runs";
    assert_eq!(app.scalar(runs).await, 4);
    // Runs are forgotten once past the longest period (a week, plus a day).
    jobs::run(Job::RunAutomations, &store, &config, start + 9 * 86_400)
        .await
        .unwrap();
    assert_eq!(
        app.scalar(runs).await,
        2,
        "only the new period's runs remain"
    );
    store.close().await;
    assert_eq!(
        summaries,
        [2, 0, 0, 2, 0].map(|n| format!("{n} automation applications"))
    );
    assert_eq!(count_applied(&app).await, 6);
    let shown = app
        .get(
            &format!("/tickets/{}", first["reference"].as_str().unwrap()),
            &token,
        )
        .await
        .expect(200);
    let reference = first["reference"].as_str().unwrap();
    let notes: Vec<&Value> = shown.data()["replies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["body"] == format!("Reminder for {reference}"))
        .collect();
    assert_eq!(notes.len(), 3, "{}", shown.data());
}

/// Polls the ticket until `done` holds (automations run in the background).
async fn eventually(
    app: &TestApp,
    token: &str,
    reference: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let data = app
            .get(&format!("/tickets/{reference}"), token)
            .await
            .expect(200)
            .data()
            .clone();
        if done(&data) || Instant::now() > deadline {
            return data;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_event_automation_fires_on_ticket_created(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    app.post(
        "/admin/automations/create",
        &app.admin_token,
        json!({"name": "Urgent on keyword", "trigger": "ticket.created",
               "script": "if ticket.subject.to_lower().contains(\"urgent\") { set_priority(\"urgent\"); add_tag(\"keyword\"); }"}),
    )
    .await
    .expect(201);
    let calm = app.ticket(&token, "A question", json!({})).await;
    let hot = app.ticket(&token, "URGENT: site down", json!({})).await;
    let hot = eventually(&app, &token, hot["reference"].as_str().unwrap(), |t| {
        t["priority"] == "urgent"
    })
    .await;
    assert_eq!(hot["priority"], "urgent");
    assert_eq!(hot["tags"][0]["name"], "keyword");
    let calm = app
        .get(
            &format!("/tickets/{}", calm["reference"].as_str().unwrap()),
            &token,
        )
        .await
        .expect(200);
    assert_ne!(calm.data()["priority"], "urgent");
    assert_eq!(count_applied(&app).await, 1);
}

async fn an_automation_does_not_retrigger_itself(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    // Its own change emits ticket.updated again; without the origin check this would loop.
    app.post(
        "/admin/automations/create",
        &app.admin_token,
        json!({"name": "Bump", "trigger": "ticket.updated",
               "script": "set_priority(\"high\"); add_note(\"bumped\");"}),
    )
    .await
    .expect(201);
    let t = app.ticket(&token, "Loop bait", json!({})).await;
    let reference = t["reference"].as_str().unwrap();
    app.patch(
        &format!("/tickets/{reference}/status"),
        &token,
        json!({"status": "in_progress"}),
    )
    .await
    .expect(200);
    let bumped = eventually(&app, &token, reference, |t| t["priority"] == "high").await;
    assert_eq!(bumped["priority"], "high");
    // Give a loop time to show itself.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count_applied(&app).await, 1);
}

const AUTO_CLOSE: &str = r#"
if ticket.status == "waiting_on_customer" && ticket.hours_since_update >= 120 {
    add_reply("We are closing this ticket as we have not heard back. Reply to reopen it.");
    set_status("closed");
}
"#;

async fn waiting_on_customer_tickets_auto_close_after_five_days(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    app.post(
        "/admin/automations/create",
        &app.admin_token,
        json!({"name": "Auto-close", "trigger": "schedule", "interval_minutes": 60,
               "script": AUTO_CLOSE}),
    )
    .await
    .expect(201);
    let waiting = app.ticket(&token, "Any news?", json!({})).await;
    let reference = waiting["reference"].as_str().unwrap();
    app.patch(
        &format!("/tickets/{reference}/status"),
        &token,
        json!({"status": "waiting_on_customer"}),
    )
    .await
    .expect(200);
    let store = app.store().await;
    let config = Config::default();
    let now = escalated::time::now();
    for (at, applied) in [(now + 4 * 86_400, 0), (now + 6 * 86_400, 1)] {
        let summary = jobs::run(Job::RunAutomations, &store, &config, at)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(summary, format!("{applied} automation applications"));
    }
    store.close().await;
    let shown = app
        .get(&format!("/tickets/{reference}"), &token)
        .await
        .expect(200);
    assert_eq!(shown.data()["status"], "closed", "{}", shown.data());
    let last = shown.data()["replies"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(last["body"].as_str().unwrap().starts_with("We are closing"));
}
