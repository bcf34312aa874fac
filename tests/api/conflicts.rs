//! A write whose transaction the database rolls back to resolve a conflict is run again
//! (`api::conflicts`): a real InnoDB deadlock on one MariaDB stands in for a lost Galera
//! certification, which MariaDB answers with the same error 1213. Only MySQL answers with
//! conflicts, so this runs on MySQL alone; tests/cluster/run.sh proves the Galera side.

use std::time::Duration;

use serde_json::json;
use sqlx::{Connection, Executor};

use crate::support::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_that_loses_a_deadlock_is_run_again_and_written_once() {
    let Some(app) = TestApp::spawn(Backend::MySql).await else {
        return;
    };
    let ticket = app.ticket(&app.admin_token, "Contended", json!({})).await;
    let (id, reference) = (
        ticket["id"].as_i64().unwrap(),
        ticket["reference"].as_str().unwrap().to_owned(),
    );
    let retried_before = retried(&app).await;

    // Another writer, heavier than the reply's transaction (InnoDB rolls back the lighter one
    // of a deadlock), holds the change sequence the reply takes after locking its ticket.
    sqlx::any::install_default_drivers();
    let mut other = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    other
        .execute("CREATE TABLE conflict_ballast (id BIGINT NOT NULL PRIMARY KEY)")
        .await
        .unwrap();
    other.execute("BEGIN").await.unwrap();
    other
        .execute(
            "INSERT INTO conflict_ballast WITH RECURSIVE n(i) AS \
             (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900) SELECT i FROM n",
        )
        .await
        .unwrap();
    other
        .execute("SELECT seq FROM change_sequence WHERE id = 1 FOR UPDATE")
        .await
        .unwrap();

    let reply = {
        let (client, url, token) = (
            app.client.clone(),
            app.url(&format!("/tickets/{reference}/reply")),
            app.admin_token.clone(),
        );
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "body": "Written once" }))
                .send()
                .await
                .unwrap()
        })
    };
    // The reply now holds its ticket's row and runs the statement that waits for the sequence.
    // Read from the process list: `innodb_trx` is a cached view, and on a busy machine its
    // state and statement lagged for the whole lock wait timeout. Only this test's database
    // counts: other tests run their own statements on the same server meanwhile.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while app
        .scalar(
            "SELECT COUNT(*) FROM information_schema.processlist \
             WHERE db = DATABASE() AND info LIKE 'UPDATE change_sequence%'",
        )
        .await
        == 0
    {
        if reply.is_finished() {
            let answer = reply.await.unwrap();
            panic!(
                "the reply answered before it waited for the sequence: {} {}",
                answer.status(),
                answer.text().await.unwrap()
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reply waits for the sequence"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Asking for that row closes the cycle: InnoDB rolls the reply's transaction back (1213).
    sqlx::query("SELECT id FROM tickets WHERE id = ? FOR UPDATE")
        .bind(id)
        .execute(&mut other)
        .await
        .expect("InnoDB rolls back the lighter transaction of the two: the reply's");
    other.execute("ROLLBACK").await.unwrap();
    other.execute("DROP TABLE conflict_ballast").await.unwrap();
    other.close().await.unwrap();

    let answer = reply.await.unwrap();
    let status = answer.status();
    let location = answer
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body = answer.text().await.unwrap();
    assert_eq!(status, 201, "run again, it succeeded: {body}");
    let location = location.expect("a Location header");
    assert_eq!(
        location,
        format!("/support/api/v1/tickets/{reference}"),
        "the request run again kept the client's whole path"
    );
    assert!(retried(&app).await > retried_before, "the retry is counted");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM replies WHERE body = 'Written once'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE type = 'reply.created'")
            .await,
        1
    );
}

/// `escalated_conflict_retries_total{result="retried"}` (the metrics are the process's).
async fn retried(app: &TestApp) -> u64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.origin))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("escalated_conflict_retries_total{result=\"retried\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
