//! Attachments on an S3-compatible store: a real one, moto in server mode, started by the test
//! on a free port. Without moto (`pip install 'moto[server]'`) these tests skip with a note,
//! unless `ESCALATED_TEST_REQUIRE_S3=1` (as in CI), which makes them fail instead.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use escalated::jobs::{self, Job};
use serde_json::json;

use crate::{
    attachments::{PNG, download, upload},
    support::{Backend, TestApp},
};

const BUCKET: &str = "escalated-test";

/// A moto server, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3_required() -> bool {
    std::env::var("ESCALATED_TEST_REQUIRE_S3").is_ok_and(|v| v == "1" || v == "true")
}

/// Starts moto with the bucket made, or `None` (skip) when moto is not installed.
async fn moto() -> Option<Moto> {
    let importable = Command::new("python3")
        .args(["-c", "import moto.server"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !importable {
        if s3_required() {
            panic!("moto is required (ESCALATED_TEST_REQUIRE_S3=1) but `import moto.server` fails");
        }
        eprintln!("note: moto is not installed (pip install 'moto[server]'); skipping the S3 test");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto starts");
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    let bucket = format!("{}/{BUCKET}", moto.endpoint);
    for _ in 0..300 {
        if let Ok(r) = client.put(&bucket).send().await
            && r.status().is_success()
        {
            return Some(moto);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto did not come up on {}", moto.endpoint);
}

/// The keys stored under the files' prefix.
async fn keys(moto: &Moto) -> Vec<String> {
    let listing = reqwest::get(format!(
        "{}/{BUCKET}?list-type=2&prefix=files/sha256/",
        moto.endpoint
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    listing
        .split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_string)
        .collect()
}

async fn round_trip(backend: Backend) {
    let Some(moto) = moto().await else {
        return;
    };
    let endpoint = moto.endpoint.clone();
    let Some(app) = TestApp::spawn_with(backend, move |c| {
        c.attachments.store = format!("s3://{BUCKET}/files");
        c.attachments.s3_endpoint = endpoint;
        c.attachments.s3_allow_http = true;
        c.attachments.s3_access_key_id = "testing".into();
        c.attachments.s3_secret_access_key = "testing".into();
    })
    .await
    else {
        return;
    };
    let token = app.admin_token.clone();
    let content = [PNG, &vec![7u8; 300_000]].concat();

    // Upload and download whole.
    let first = upload(&app, &token, "big.png", &content).await.expect(201);
    let id = first.data()["id"].as_i64().unwrap();
    let (status, _, bytes) = download(&app, &token, id, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, content);
    // A range.
    let (status, headers, bytes) =
        download(&app, &token, id, &[("range", "bytes=100000-100099")]).await;
    assert_eq!(status, 206);
    assert_eq!(bytes, &content[100_000..100_100]);
    assert_eq!(headers["content-range"], "bytes 100000-100099/300033");
    // The same content again: one object.
    let second = upload(&app, &token, "again.png", &content)
        .await
        .expect(201);
    assert_eq!(second.data()["sha256"], first.data()["sha256"]);
    let stored = keys(&moto).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].ends_with(first.data()["sha256"].as_str().unwrap()));

    // Attach one; the purge job a day later deletes the other row but keeps the object, and
    // deletes the object once the attached one's ticket is deleted.
    let reference = app
        .post(
            "/tickets/create",
            &token,
            json!({"subject": "s", "description": "d", "attachment_ids": [id]}),
        )
        .await
        .expect(201)
        .data()["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let store = app.store().await;
    let later = escalated::time::now() + 25 * 3600;
    let report = jobs::run(Job::PurgeAttachments, &store, &app.config, later)
        .await
        .unwrap()
        .unwrap();
    assert!(
        report.starts_with("1 attachments purged, 0 stored files"),
        "{report}"
    );
    assert_eq!(keys(&moto).await.len(), 1);
    app.delete(&format!("/tickets/{reference}"), &token)
        .await
        .expect(200);
    let report = jobs::run(Job::PurgeAttachments, &store, &app.config, later)
        .await
        .unwrap()
        .unwrap();
    assert!(
        report.starts_with("1 attachments purged, 1 stored files"),
        "{report}"
    );
    assert!(keys(&moto).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_round_trip_sqlite() {
    round_trip(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_round_trip_mysql() {
    round_trip(Backend::MySql).await;
}
