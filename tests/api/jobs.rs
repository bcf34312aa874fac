//! Scheduled jobs: SLA breaches and warnings (each once), auto-close, purge, and the lease
//! that keeps a job on one node at a time.

use escalated::{
    config::Config,
    jobs::{self, Job},
    store::jobs as leases,
};
use serde_json::json;

use crate::{both_databases, support::TestApp};

both_databases!(
    breaches_are_marked_once_each_with_their_event,
    warnings_are_sent_once_before_the_breach,
    a_met_first_response_is_not_breached,
    resolved_tickets_close_after_the_configured_days,
    old_activities_are_purged,
    a_job_does_not_run_while_another_node_holds_its_lease,
    a_scheduled_job_runs_once_per_period_whichever_node_asks,
);

both_databases!(
    config = |c| c.jobs.check_sla_seconds = 1;
    two_servers_on_one_database_mark_each_breach_once,
);

const HOUR: i64 = 3600;

/// Two `serve` processes' schedulers share one database: the lease keeps each run of the job on
/// one of them at a time, and every breach is marked (and announced) exactly once.
async fn two_servers_on_one_database_mark_each_breach_once(app: TestApp) {
    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".parse().unwrap();
    config.database.url = app.database_url.clone();
    config.jobs.check_sla_seconds = 1;
    config.jobs.close_resolved_seconds = 0;
    config.jobs.purge_activities_seconds = 0;
    let second = escalated::server::start(
        config,
        escalated::time::Clock::system(),
        std::future::pending(),
    )
    .await
    .unwrap();
    let (_, token) = app.agent(&["agent"]).await;
    for i in 0..20 {
        app.ticket(&token, &format!("Overdue {i}"), json!({})).await;
    }
    // Every first response is now overdue; both schedulers look every second.
    app.exec("UPDATE tickets SET first_response_due_at = 1000")
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while app
        .scalar("SELECT COUNT(*) FROM tickets WHERE first_response_breached = 1")
        .await
        < 20
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the schedulers marked the breaches"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // A few more rounds of both schedulers change nothing.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE type = 'sla.breached'")
            .await,
        20
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM activities WHERE type = 'sla_breached'")
            .await,
        20
    );
    second.stop().await.unwrap();
}

async fn run(app: &TestApp, job: Job, at: i64) -> Option<String> {
    let store = app.store().await;
    let outcome = jobs::run(job, &store, &Config::default(), at)
        .await
        .unwrap();
    store.close().await;
    outcome
}

fn created_at(ticket: &serde_json::Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ticket["created_at"].as_str().unwrap())
        .unwrap()
        .timestamp()
}

async fn breaches_are_marked_once_each_with_their_event(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Slow", json!({})).await; // medium: 8 h / 48 h
    let start = created_at(&t);
    assert_eq!(
        run(&app, Job::CheckSla, start + 7 * HOUR).await.unwrap(),
        "0 breaches marked, 0 warnings sent"
    );
    assert_eq!(
        run(&app, Job::CheckSla, start + 7 * HOUR + 45 * 60)
            .await
            .unwrap(),
        "0 breaches marked, 1 warnings sent"
    );
    assert_eq!(
        run(&app, Job::CheckSla, start + 9 * HOUR).await.unwrap(),
        "1 breaches marked, 0 warnings sent"
    );
    assert_eq!(
        run(&app, Job::CheckSla, start + 10 * HOUR).await.unwrap(),
        "0 breaches marked, 0 warnings sent"
    );
    let shown = app
        .get(
            &format!("/tickets/{}", t["reference"].as_str().unwrap()),
            &token,
        )
        .await
        .expect(200);
    let d = shown.data();
    assert_eq!(d["sla"]["first_response_breached"], true);
    assert_eq!(d["sla"]["resolution_breached"], false);
    assert_eq!(d["sla_breached"], true);
    let logged = d["activities"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(logged["type"], "sla_breached");
    assert_eq!(logged["properties"]["target"], "first_response");
    assert!(logged["causer"].is_null(), "the system made this change");
    run(&app, Job::CheckSla, start + 49 * HOUR).await.unwrap();
    run(&app, Job::CheckSla, start + 50 * HOUR).await.unwrap();
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE type = 'sla.breached'")
            .await,
        2
    );
    assert_eq!(
        app.get("/tickets?sla_breached=1", &token).await.body["meta"]["total"],
        1
    );
}

async fn warnings_are_sent_once_before_the_breach(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app
        .ticket(&token, "Soon", json!({"priority": "critical"}))
        .await; // 1 h / 4 h
    let start = created_at(&t);
    run(&app, Job::CheckSla, start + 40 * 60).await.unwrap(); // 20 min before the first response
    run(&app, Job::CheckSla, start + 45 * 60).await.unwrap();
    run(&app, Job::CheckSla, start + 3 * HOUR + 40 * 60)
        .await
        .unwrap(); // resolution in 20 min
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE type = 'sla.warning'")
            .await,
        2
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM tickets WHERE first_response_warned = 1 AND resolution_warned = 1"
        )
        .await,
        1
    );
}

async fn a_met_first_response_is_not_breached(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app
        .ticket(
            &token,
            "Answered",
            json!({"requester": {"email": "someone@example.com"}}),
        )
        .await;
    app.post(
        &format!("/tickets/{}/reply", t["reference"].as_str().unwrap()),
        &token,
        json!({"body": "On it"}),
    )
    .await
    .expect(201);
    assert_eq!(
        run(&app, Job::CheckSla, created_at(&t) + 9 * HOUR)
            .await
            .unwrap(),
        "0 breaches marked, 0 warnings sent"
    );
}

async fn resolved_tickets_close_after_the_configured_days(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Done", json!({})).await;
    let reference = t["reference"].as_str().unwrap();
    app.patch(
        &format!("/tickets/{reference}/status"),
        &token,
        json!({"status": "resolved"}),
    )
    .await
    .expect(200);
    let start = created_at(&t);
    assert_eq!(
        run(&app, Job::CloseResolved, start + 6 * 86_400)
            .await
            .unwrap(),
        "0 resolved tickets closed"
    );
    assert_eq!(
        run(&app, Job::CloseResolved, start + 8 * 86_400)
            .await
            .unwrap(),
        "1 resolved tickets closed"
    );
    let shown = app
        .get(&format!("/tickets/{reference}"), &token)
        .await
        .expect(200);
    assert_eq!(shown.data()["status"], "closed");
    assert!(shown.data()["closed_at"].is_string());
    assert_eq!(
        run(&app, Job::CloseResolved, start + 9 * 86_400)
            .await
            .unwrap(),
        "0 resolved tickets closed"
    );
}

async fn old_activities_are_purged(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "History", json!({})).await;
    let before = app.scalar("SELECT COUNT(*) FROM activities").await;
    assert!(before > 0);
    assert_eq!(
        run(&app, Job::PurgeActivities, created_at(&t) + 364 * 86_400)
            .await
            .unwrap(),
        "0 activities purged"
    );
    assert_eq!(
        run(&app, Job::PurgeActivities, created_at(&t) + 366 * 86_400)
            .await
            .unwrap(),
        format!("{before} activities purged")
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM activities").await, 0);
}

async fn a_job_does_not_run_while_another_node_holds_its_lease(app: TestApp) {
    let now = escalated::time::now();
    let store = app.store().await;
    let mut tx = store.begin().await.unwrap();
    assert!(
        leases::try_lease(&mut tx, "check-sla", "other-node", (now, now + 600), None)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert_eq!(
        run(&app, Job::CheckSla, now).await,
        None,
        "held elsewhere: skipped"
    );
    assert!(
        run(&app, Job::CloseResolved, now).await.is_some(),
        "other jobs are free"
    );
    assert!(
        run(&app, Job::CheckSla, now + 601).await.is_some(),
        "an expired lease is taken over"
    );
    store.close().await;
}

/// Every node's scheduler asks at each of its ticks; the first to ask in a period runs the job
/// and the others skip it until the next period, even with the lease free again. A run by hand
/// ignores the period.
async fn a_scheduled_job_runs_once_per_period_whichever_node_asks(app: TestApp) {
    let now = escalated::time::now();
    let store = app.store().await;
    let mut config = Config::default();
    config.jobs.check_sla_seconds = 60;
    let rules = escalated::app::ticket_rules(&config).unwrap();
    let scripts = escalated::scripting::Scripts::new(&config.scripts);
    let scheduled = async |at| {
        jobs::run_scheduled(Job::CheckSla, &store, &scripts, &rules, &config, at)
            .await
            .unwrap()
    };
    assert!(scheduled(now).await.is_some(), "the first tick runs it");
    assert_eq!(scheduled(now + 1).await, None, "ran this period");
    assert_eq!(scheduled(now + 59).await, None, "still this period");
    // Another node, with the lease free: not due either.
    let mut tx = store.begin().await.unwrap();
    let other = leases::try_lease(
        &mut tx,
        "check-sla",
        "other-node",
        (now + 30, now + 630),
        Some(now + 90),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(!other, "another node's tick in the same period skips it");
    assert!(
        run(&app, Job::CheckSla, now + 30).await.is_some(),
        "a run by hand does not wait for the period"
    );
    assert!(
        scheduled(now + 60).await.is_some(),
        "the next period runs it"
    );
    assert_eq!(scheduled(now + 61).await, None);
    store.close().await;
}
