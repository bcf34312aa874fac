//! `escalated seed --demo`: data to try every endpoint with, made through the domain rules.

use crate::{both_databases, support::TestApp};

both_databases!(
    demo_seed_fills_every_resource_once,
    a_seed_failing_halfway_is_undone_whole,
);

async fn demo_seed_fills_every_resource_once(app: TestApp) {
    let store = app.store().await;
    let scripts = escalated::scripting::Scripts::new(&escalated::config::Config::default().scripts);
    let report = store
        .in_one_transaction(async |store| {
            escalated::seed::demo(
                store,
                &scripts,
                (&Default::default(), &app.clock),
                40,
                "ESC",
            )
            .await
        })
        .await
        .unwrap()
        .expect("a first seed");
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
    .unwrap();
    assert!(again.is_none(), "a second run adds nothing");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM tickets").await, 40);
    store.close().await;
}

/// Replies are written late, after users, departments, tags, macros and the first tickets: a
/// trigger refusing them fails the seed there, and none of it stays.
async fn a_seed_failing_halfway_is_undone_whole(app: TestApp) {
    let trigger = if app.database_url.starts_with("mysql") {
        "CREATE TRIGGER replies_fail BEFORE INSERT ON replies FOR EACH ROW \
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no replies today'"
    } else {
        "CREATE TRIGGER replies_fail BEFORE INSERT ON replies \
         BEGIN SELECT RAISE(ABORT, 'no replies today'); END"
    };
    app.exec(trigger).await;
    let counts = async || {
        let mut out = Vec::new();
        for sql in [
            "SELECT COUNT(*) FROM users",
            "SELECT COUNT(*) FROM tags",
            "SELECT COUNT(*) FROM departments",
            "SELECT COUNT(*) FROM macros",
            "SELECT COUNT(*) FROM tickets",
            "SELECT COUNT(*) FROM events",
        ] {
            out.push(app.scalar(sql).await);
        }
        out
    };
    let before = counts().await;
    let store = app.store().await;
    let scripts = escalated::scripting::Scripts::new(&escalated::config::Config::default().scripts);
    let err = store
        .in_one_transaction(async |store| {
            escalated::seed::demo(
                store,
                &scripts,
                (&Default::default(), &app.clock),
                30,
                "ESC",
            )
            .await
        })
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("no replies today"), "{err:#}");
    assert_eq!(counts().await, before);
    // The store goes on working after the rollback.
    app.exec("DROP TRIGGER replies_fail").await;
    let report = store
        .in_one_transaction(async |store| {
            escalated::seed::demo(store, &scripts, (&Default::default(), &app.clock), 5, "ESC")
                .await
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.tickets, 5);
    store.close().await;
}
