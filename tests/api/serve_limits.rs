//! `serve` under conditions that used to hurt it (contract §9.4): a script that fills memory,
//! and a database the server cannot write. Each runs the real binary, so the memory read is the
//! server's own and the exit status is the process's.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use escalated::{
    config::DatabaseConfig,
    domain::users::{self, NewUser},
    store::Store,
};
use serde_json::{Value, json};

use crate::cli::{escalated, run, scratch, serve};

/// Fills a map by index with ~90 KB strings: each under `max_string_size`, the map under
/// `max_map_size`, the whole near a gigabyte if nothing else stops it.
const MAP_FILLER: &str = r#"
let s = "";
s.pad(90000, 'x');
let m = #{};
let i = 0;
loop { m[`k${i}`] = s + i; i += 1; }
"#;

/// The peak resident memory of process `pid`, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kb * 1024
}

async fn post(base: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let reply = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_script_filling_memory_is_refused_and_the_servers_memory_stays_flat() {
    let (url, dir, _scratch) = scratch().await;
    // A generous time limit, so what stops the script is its memory bound.
    std::fs::write(
        dir.join("escalated.toml"),
        "[scripts]\nmax_concurrent = 2\ntimeout_ms = 30000\n",
    )
    .unwrap();
    let serving = serve(&dir, &url, true).await;
    let (base, token) = (serving.base.clone(), serving.token.clone().unwrap());
    let pid = serving.child.id().unwrap();
    let (status, created) = post(
        &base,
        &token,
        "/tickets/create",
        json!({"subject": "Memory", "description": "x"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, made) = post(
        &base,
        &token,
        "/admin/macros/create",
        json!({"name": "Filler", "script": MAP_FILLER}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let apply = json!({"macro_id": made["data"]["id"]});
    let before = peak_rss(pid);

    let (status, body) = post(&base, &token, "/tickets/ESC-00001/macro", apply.clone()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["message"], "Macro failed.");
    let why = body["errors"]["script"].as_str().unwrap_or_default();
    assert!(why.contains("max_memory_bytes"), "{body}");
    let grown = peak_rss(pid).saturating_sub(before);
    assert!(
        grown < 100 << 20,
        "one run grew the server by {grown} bytes"
    );

    // Eight at once: two run at a time (max_concurrent), each within its bound.
    let runs: Vec<_> = (0..8)
        .map(|_| {
            let (base, token, apply) = (base.clone(), token.clone(), apply.clone());
            tokio::spawn(
                async move { post(&base, &token, "/tickets/ESC-00001/macro", apply).await },
            )
        })
        .collect();
    for run in runs {
        let (status, body) = run.await.unwrap();
        assert_eq!(status, 422, "{body}");
        assert!(
            body["errors"]["script"]
                .as_str()
                .is_some_and(|m| m.contains("max_memory_bytes")),
            "{body}"
        );
    }
    let grown = peak_rss(pid).saturating_sub(before);
    assert!(
        grown < 250 << 20,
        "eight runs grew the server by {grown} bytes"
    );
    // Nothing was changed, and the server still answers.
    let shown = reqwest::Client::new()
        .get(format!("{base}/tickets/ESC-00001"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    assert_eq!(serving.terminate().await.0.code(), Some(0));
}

/// Makes `path` unwritable for this process, root included: plain permissions, and when they do
/// not stop this user (root), the immutable flag (`chattr +i`), which root obeys too. Undone on
/// drop. `None` when this machine cannot (no `chattr`, a file system without the flag).
struct Unwritable {
    path: PathBuf,
    immutable: bool,
}

impl Unwritable {
    fn make(path: &Path) -> Option<Unwritable> {
        use std::os::unix::fs::PermissionsExt;
        let mode = if path.is_dir() { 0o555 } else { 0o444 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        let mut made = Unwritable {
            path: path.to_path_buf(),
            immutable: false,
        };
        if made.blocks_writes() {
            return Some(made);
        }
        made.immutable = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        made.blocks_writes().then_some(made)
    }

    fn blocks_writes(&self) -> bool {
        if self.path.is_dir() {
            let probe = self.path.join("write-probe");
            let written = std::fs::write(&probe, b"x").is_ok();
            let _ = std::fs::remove_file(&probe);
            !written
        } else {
            std::fs::OpenOptions::new()
                .append(true)
                .open(&self.path)
                .is_err()
        }
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.path)
                .status();
        }
        let mode = if self.path.is_dir() { 0o755 } else { 0o644 };
        let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(mode));
    }
}

fn sqlite_file(url: &str) -> PathBuf {
    PathBuf::from(url.trim_start_matches("sqlite://"))
}

#[tokio::test]
async fn serve_refuses_a_database_it_cannot_write_naming_the_cause() {
    let (url, dir, _scratch) = scratch().await;
    run(escalated(&dir)
        .arg("migrate")
        .env("ESCALATED_DATABASE__URL", &url))
    .await
    .expect_success();
    let file = sqlite_file(&url);
    let with_logs =
        ["", "-wal", "-shm"].map(|end| PathBuf::from(format!("{}{end}", file.display())));
    // The database file alone, then it and its write-ahead log files (a read-only copy).
    for paths in [&with_logs[..1], &with_logs[..]] {
        let mut locked = Vec::new();
        for path in paths.iter().filter(|p| p.exists()) {
            let Some(lock) = Unwritable::make(path) else {
                eprintln!(
                    "skipped: cannot make {} unwritable for this user here (no chattr +i)",
                    path.display()
                );
                return;
            };
            locked.push(lock);
        }
        let path = &paths[paths.len() - 1];
        let out = run(escalated(&dir)
            .arg("serve")
            .env("ESCALATED_DATABASE__URL", &url)
            .env("ESCALATED_SERVER__BIND", "127.0.0.1:0"))
        .await;
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: stdout {}; stderr {}",
            path.display(),
            out.stdout,
            out.stderr
        );
        assert!(
            out.stderr.contains("cannot be written") && out.stderr.contains("readonly"),
            "{}: the message names the cause: {}",
            path.display(),
            out.stderr
        );
        assert!(!out.stdout.contains("serving"), "{}", out.stdout);
        drop(locked);
    }
    // Writable again, it serves.
    let serving = serve(&dir, &url, true).await;
    assert_eq!(serving.terminate().await.0.code(), Some(0));
}

/// The issue's case at the store: every connection was opened while the file could not be
/// written (SQLite then opens it read-only, and such a connection stays so). Once the file is
/// writable again, the next write succeeds, without a restart.
#[tokio::test]
async fn writes_succeed_again_once_the_database_is_writable_without_a_restart() {
    let (url, dir, _scratch) = scratch().await;
    run(escalated(&dir)
        .arg("migrate")
        .env("ESCALATED_DATABASE__URL", &url))
    .await
    .expect_success();
    let Some(locked) = Unwritable::make(&sqlite_file(&url)) else {
        eprintln!("skipped: cannot make the database file unwritable for this user here");
        return;
    };
    let store = Store::connect(&DatabaseConfig {
        url: url.clone(),
        max_connections: 3,
        ..DatabaseConfig::default()
    })
    .await
    .unwrap();
    let user = |n: u32| NewUser {
        name: format!("User {n}"),
        email: format!("user{n}@example.com"),
        role: "agent".into(),
        is_active: Some(true),
    };
    // Several connections, all opened read-only.
    let reads = futures::future::join_all((0..3).map(|_| users::count(&store))).await;
    assert!(reads.iter().all(Result::is_ok));
    for n in 0..3 {
        let err = users::create(&store, user(n)).await.unwrap_err();
        assert!(format!("{err:#}").contains("readonly"), "{err:#}");
    }
    assert!(store.check_writable().await.is_err());
    drop(locked);
    tokio::time::sleep(Duration::from_millis(10)).await;
    users::create(&store, user(10))
        .await
        .expect("the first write after the cause clears succeeds");
    store.check_writable().await.unwrap();
    assert_eq!(users::count(&store).await.unwrap(), 1);
    store.close().await;
}
