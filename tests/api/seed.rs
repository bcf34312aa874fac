//! `escalated seed --demo`: data to try every endpoint with, made through the domain rules.

use crate::{both_databases, support::TestApp};

both_databases!(demo_seed_fills_every_resource_once);

async fn demo_seed_fills_every_resource_once(app: TestApp) {
    let store = app.store().await;
    let scripts = escalated::scripting::Scripts::new(&escalated::config::Config::default().scripts);
    let report = escalated::seed::demo(
        &store,
        &scripts,
        (&Default::default(), &app.clock),
        40,
        "ESC",
    )
    .await
    .unwrap();
    assert_eq!((report.agents, report.tickets), (6, 40));
    let token = app.admin_token.clone();
    let listed = |path: &'static str| {
        let (app, token) = (&app, &token);
        async move { app.get(path, token).await.data().as_array().unwrap().len() }
    };
    let tickets = app.get("/tickets?per_page=100", &token).await.expect(200);
    assert_eq!(tickets.body["meta"]["total"], 40);
    let statuses: std::collections::BTreeSet<&str> = tickets
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert!(statuses.len() >= 3, "a mix of statuses: {statuses:?}");
    assert_eq!(listed("/agents").await, 7, "six agents and the admin");
    assert_eq!(listed("/departments").await, 3);
    assert_eq!(listed("/tags").await, 8);
    assert_eq!(listed("/macros").await, 3);
    assert_eq!(listed("/canned-responses").await, 5);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM replies").await as usize,
        report.replies
    );
    let again = escalated::seed::demo(
        &store,
        &scripts,
        (&Default::default(), &app.clock),
        40,
        "ESC",
    )
    .await
    .unwrap_err();
    assert!(again.to_string().contains("already"));
    store.close().await;
}
