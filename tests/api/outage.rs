//! The database going away (contract §9.1): requests fail fast with 503 and `Retry-After`, the
//! server serves again when it is back, without a restart, and a write that committed just
//! before is still answered as done.
//!
//! The server reaches the real MariaDB through a TCP relay the test controls; cutting the relay
//! drops every connection and swallows new ones (as an unreachable host does), so requests can
//! only wait for `database.acquire_timeout_ms`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::json;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

use crate::support::{Backend, TestApp, mysql_server_url};

/// A TCP relay to MariaDB that can be cut and restored.
struct Relay {
    port: u16,
    /// `true` while cut: open relays end, new connections are held silent.
    cut: watch::Sender<bool>,
    stopped: Arc<AtomicBool>,
}

impl Relay {
    async fn to(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, _) = watch::channel(false);
        let stopped = Arc::new(AtomicBool::new(false));
        let (cuts, stop) = (cut.clone(), stopped.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let mut cut = cuts.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    if *cut.borrow_and_update() {
                        // Unreachable: accept, say nothing, until the relay is restored.
                        let _held = client;
                        let _ = cut.wait_for(|cut| !cut).await;
                        return;
                    }
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {},
                        _ = cut.wait_for(|cut| *cut) => {},
                    }
                });
            }
        });
        Relay { port, cut, stopped }
    }

    fn cut(&self) {
        self.cut.send_replace(true);
    }

    fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.cut.send_replace(true);
    }
}

/// A MySQL test app whose database connections go through a relay, or `None` when MySQL is
/// unreachable and not required.
async fn app_behind_relay() -> Option<(TestApp, Relay)> {
    let server = mysql_server_url();
    let host_port = server.rsplit_once('@').map_or(server.as_str(), |(_, h)| h);
    let host_port = host_port
        .trim_start_matches("mysql://")
        .trim_end_matches('/')
        .to_string();
    let relay = Relay::to(host_port.clone()).await;
    let relayed = format!("127.0.0.1:{}", relay.port);
    let app = TestApp::spawn_with(Backend::MySql, |config| {
        config.database.url = config.database.url.replace(&host_port, &relayed);
        config.database.acquire_timeout_ms = 500;
    })
    .await?;
    Some((app, relay))
}

/// How long a request may take to be refused while the database is away: the acquire timeout
/// (500 ms) plus room for a busy machine, and still far below a hang (the pool's old 10 s).
const FAST: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_503_fast_and_serving_resumes_when_it_is_back() {
    let Some((app, relay)) = app_behind_relay().await else {
        return;
    };
    let (_, token) = app.agent(&["agent"]).await;
    let ticket = app.ticket(&token, "Before the outage", json!({})).await;
    let reference = ticket["reference"].as_str().unwrap().to_string();
    let show = format!("/tickets/{reference}");

    relay.cut();
    let started = Instant::now();
    let reply = app.get(&show, &token).await;
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.message(), "Service unavailable.");
    assert!(reply.header("retry-after").is_some());

    let started = Instant::now();
    let write = app
        .post(
            "/tickets/create",
            &token,
            json!({"subject": "During", "description": "the outage"}),
        )
        .await;
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert_eq!(write.status, 503, "{}", write.body);

    relay.restore();
    app.get(&show, &token).await.expect(200);
    let list = app.get("/tickets", &token).await.expect(200);
    assert_eq!(
        list.data().as_array().unwrap().len(),
        1,
        "the refused write wrote nothing"
    );
}

/// `/readyz` follows the database: 503 naming the failed checks while it is away, 200 again
/// when it is back, with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_503_while_the_database_is_away_and_200_when_it_is_back() {
    let Some((app, relay)) = app_behind_relay().await else {
        return;
    };
    let ready = format!("{}/readyz", app.origin);
    let probe = || app.raw(reqwest::Method::GET, &ready, &[], "");
    let up = probe().await.expect(200);
    assert_eq!(up.body, json!({ "status": "ok" }));

    relay.cut();
    let started = Instant::now();
    let down = probe().await.expect(503);
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert_eq!(down.body["status"], "unavailable");
    assert_eq!(down.body["code"], "service_unavailable");
    let checks = down.body["checks"].as_object().expect("checks");
    assert!(
        checks["database"].as_str().is_some_and(|c| c != "ok"),
        "{}",
        down.body
    );
    // The process itself is alive all along.
    let health = format!("{}/healthz", app.origin);
    app.raw(reqwest::Method::GET, &health, &[], "")
        .await
        .expect(200);

    relay.restore();
    let back = probe().await.expect(200);
    assert_eq!(back.body, json!({ "status": "ok" }));
}

/// A write whose database goes away right after its COMMIT is still answered 201 with what it
/// wrote (contract §9.1: the answer comes from the committing transaction, not from a read
/// after it), and a retry with the same `Idempotency-Key` does not write it again.
///
/// The server cuts its own connections: its store runs the test's hook right after the commit
/// that creates the ticket, before the request goes on, and the hook cuts the relay (every
/// open connection ends, new ones hang). A GET right after is 503, so the database really was
/// away when the 201 was made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_cut_off_right_after_its_commit_is_answered_and_never_repeated() {
    let Some((app, relay)) = app_behind_relay().await else {
        return;
    };
    let (_, token) = app.agent(&["agent"]).await;
    let cut = relay.cut.clone();
    let armed = Arc::new(AtomicBool::new(true));
    let once = armed.clone();
    type Pause = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
    let hook: escalated::store::CommitHook = Arc::new(move || -> Pause {
        if once.swap(false, Ordering::SeqCst) {
            cut.send_replace(true);
        }
        // Time for the relay to end the open connections before the request goes on.
        Box::pin(tokio::time::sleep(Duration::from_millis(200)))
    });
    app.server().store.after_ticket_commit(Some(hook));
    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("idempotency-key", "cut-after-commit"),
    ];
    let body = json!({"subject": "Cut after commit", "description": "d"}).to_string();
    let url = app.url("/tickets/create");
    let create = || app.raw(reqwest::Method::POST, &url, &headers, &body);

    let created = create().await;
    assert!(!armed.load(Ordering::SeqCst), "the cut came after a commit");
    assert_eq!(created.status, 201, "{}", created.body);
    let reference = created.data()["reference"].as_str().unwrap().to_string();
    let show = format!("/tickets/{reference}");
    assert_eq!(
        app.get(&show, &token).await.status,
        503,
        "the database is away"
    );

    relay.restore();
    app.server().store.after_ticket_commit(None);
    let stored = app.get(&show, &token).await.expect(200);
    assert_eq!(
        stored.data(),
        created.data(),
        "the answer is what was committed"
    );
    // The answer was never kept (the database was away), but the claim was marked in the
    // write's own commit: the retry is refused, not run again.
    let again = create().await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.body["code"], "conflict");
    let list = app.get("/tickets", &token).await.expect(200);
    assert_eq!(
        list.data().as_array().unwrap().len(),
        1,
        "one ticket, not two"
    );
}

/// A write that waits past `database.lock_wait_seconds` for a row another transaction holds is
/// 503 with `Retry-After` (not a server error) and changes nothing; once the row is free, the
/// same write goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_waits_too_long_for_a_lock_is_503_and_changes_nothing() {
    use sqlx::{Connection, mysql::MySqlConnection};

    let Some(app) = TestApp::spawn_with(Backend::MySql, |config| {
        config.database.lock_wait_seconds = 1;
    })
    .await
    else {
        return;
    };
    let (_, token) = app.agent(&["agent"]).await;
    let ticket = app.ticket(&token, "Locked elsewhere", json!({})).await;
    let reference = ticket["reference"].as_str().unwrap().to_string();
    let mut holder = MySqlConnection::connect(&app.config.database.url)
        .await
        .unwrap();
    let mut held = holder.begin().await.unwrap();
    sqlx::query("SELECT id FROM tickets WHERE reference = ? FOR UPDATE")
        .bind(&reference)
        .fetch_one(&mut *held)
        .await
        .unwrap();

    let status = format!("/tickets/{reference}/status");
    let started = Instant::now();
    let waited = app
        .patch(&status, &token, json!({"status": "in_progress"}))
        .await;
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert_eq!(waited.status, 503, "{}", waited.body);
    assert_eq!(waited.message(), "Service unavailable.");
    assert!(waited.header("retry-after").is_some());

    held.rollback().await.unwrap();
    let show = app
        .get(&format!("/tickets/{reference}"), &token)
        .await
        .expect(200);
    assert_eq!(
        show.data()["status"],
        "open",
        "the refused write changed nothing"
    );
    app.patch(&status, &token, json!({"status": "in_progress"}))
        .await
        .expect(200);
}
