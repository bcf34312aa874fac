//! Slow and idle clients cannot exhaust the server (contract §9.4): a connection gets
//! `server.header_timeout_ms` to send a request head and again its body, an idle kept-alive one
//! is closed after `server.keep_alive_secs`, and beyond `server.max_connections` connections
//! wait while the open ones keep being served.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    task::JoinSet,
};

use crate::{both_databases, support::TestApp};

const HEADER_TIMEOUT: Duration = Duration::from_millis(600);
const KEEP_ALIVE: Duration = Duration::from_secs(2);
const MAX_CONNECTIONS: usize = 24;

both_databases!(
    config = |c| {
        c.server.header_timeout_ms = HEADER_TIMEOUT.as_millis() as u64;
        c.server.keep_alive_secs = KEEP_ALIVE.as_secs();
        c.server.max_connections = MAX_CONNECTIONS;
    };
    idle_and_slow_connections_are_closed_while_other_requests_are_served,
    a_kept_alive_connection_waits_keep_alive_secs_for_its_next_request,
    the_next_head_gets_header_timeout_from_its_first_byte,
    a_stalled_body_is_answered_408_and_its_request_changes_nothing,
);

fn host(app: &TestApp) -> String {
    app.origin.trim_start_matches("http://").to_string()
}

/// How a connection ended, timed from when it was opened.
#[derive(Debug)]
struct Ended {
    after: Duration,
    /// What the server sent before closing.
    received: String,
}

/// Opens a connection, sends `head` at once, then `drip` a byte every `pace`, and waits for
/// the server to close it (at most `give_up`).
async fn until_closed(
    host: String,
    head: Vec<u8>,
    drip: Vec<u8>,
    pace: Duration,
    give_up: Duration,
) -> Option<Ended> {
    let opened = Instant::now();
    let stream = TcpStream::connect(&host).await.expect("connects");
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        if !head.is_empty() {
            let _ = writer.write_all(&head).await;
        }
        for byte in drip {
            tokio::time::sleep(pace).await;
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
        }
        // Keep the sending side open: the client is slow, not gone.
        std::future::pending::<()>().await;
    });
    let mut received = Vec::new();
    let ended = tokio::time::timeout(give_up, async {
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    writing.abort();
    ended.ok().map(|()| Ended {
        after: opened.elapsed(),
        received: String::from_utf8_lossy(&received).into_owned(),
    })
}

async fn idle_and_slow_connections_are_closed_while_other_requests_are_served(app: TestApp) {
    let give_up = Duration::from_secs(15);
    let mut clients = JoinSet::new();
    // More than max_connections in all: the last ones wait to be accepted.
    for _ in 0..16 {
        clients.spawn(until_closed(
            host(&app),
            vec![],
            vec![],
            Duration::ZERO,
            give_up,
        ));
    }
    let slow_head = format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Padding: {}\r\n\r\n",
        host(&app),
        "a".repeat(200)
    );
    for _ in 0..8 {
        clients.spawn(until_closed(
            host(&app),
            vec![],
            slow_head.clone().into_bytes(),
            Duration::from_millis(50),
            give_up,
        ));
    }
    let (_, token) = app.agent(&["tickets:write"]).await;
    let stalled_body = format!(
        "POST {}/tickets/create HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"subject\": \"Sl",
        app.config.api.prefix,
        host(&app)
    );
    for _ in 0..4 {
        clients.spawn(until_closed(
            host(&app),
            stalled_body.clone().into_bytes(),
            vec![],
            Duration::ZERO,
            give_up,
        ));
    }

    // Meanwhile, ordinary requests on new connections are answered.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for _ in 0..5 {
        let started = Instant::now();
        let answer = fresh
            .get(format!("{}/healthz", app.origin))
            .send()
            .await
            .expect("an ordinary request is served while slow clients hold connections");
        assert_eq!(answer.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
    }

    let mut ended = Vec::new();
    while let Some(client) = clients.join_next().await {
        let client = client
            .unwrap()
            .unwrap_or_else(|| panic!("a slow connection was still open after {give_up:?}"));
        ended.push(client);
    }
    for client in &ended {
        // Not closed at once, and not much after the limit (a connection that waited in the
        // backlog starts its clock when accepted, so it may take twice).
        assert!(
            client.after >= HEADER_TIMEOUT.mul_f32(0.8),
            "closed too early: {client:?}"
        );
        assert!(
            client.after <= HEADER_TIMEOUT * 2 + Duration::from_secs(3),
            "closed too late: {client:?}"
        );
    }
    // A stalled body ends its request: answered with an error or cut, never served as complete.
    assert!(ended.iter().all(|c| !c.received.contains(" 201 ")));
}

/// A complete GET of `/healthz` on a kept-alive connection.
fn health_request(host: &str) -> Vec<u8> {
    format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes()
}

/// Reads one answer to `/healthz` (its body ends the answer).
async fn read_health(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&received).contains("{\"status\":\"ok\"}") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("reads");
        assert!(n > 0, "closed before answering");
        received.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&received).into_owned()
}

/// Waits for the server to close `stream`; the time it took.
async fn closed(stream: &mut TcpStream, give_up: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        match tokio::time::timeout(give_up, stream.read(&mut buf)).await {
            Err(_) => panic!("still open after {give_up:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

async fn a_kept_alive_connection_waits_keep_alive_secs_for_its_next_request(app: TestApp) {
    let host = host(&app);
    let mut stream = TcpStream::connect(&host).await.unwrap();
    stream.write_all(&health_request(&host)).await.unwrap();
    assert!(read_health(&mut stream).await.starts_with("HTTP/1.1 200"));
    // Idle for longer than a head may take, but within keep-alive: still open.
    tokio::time::sleep(HEADER_TIMEOUT * 2).await;
    stream.write_all(&health_request(&host)).await.unwrap();
    assert!(read_health(&mut stream).await.starts_with("HTTP/1.1 200"));
    // Idle past keep-alive: closed.
    let after = closed(&mut stream, Duration::from_secs(10)).await;
    assert!(
        after >= KEEP_ALIVE.mul_f32(0.8) && after <= KEEP_ALIVE + Duration::from_secs(2),
        "closed after {after:?}"
    );
}

async fn the_next_head_gets_header_timeout_from_its_first_byte(app: TestApp) {
    let host = host(&app);
    let mut stream = TcpStream::connect(&host).await.unwrap();
    stream.write_all(&health_request(&host)).await.unwrap();
    read_health(&mut stream).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The next head starts, then stalls: the head's limit applies, not keep-alive's.
    stream.write_all(b"GET /hea").await.unwrap();
    let after = closed(&mut stream, Duration::from_secs(10)).await;
    assert!(
        after >= HEADER_TIMEOUT.mul_f32(0.8) && after < KEEP_ALIVE,
        "closed after {after:?}"
    );
}

async fn a_stalled_body_is_answered_408_and_its_request_changes_nothing(app: TestApp) {
    let (_, token) = app.agent(&["tickets:write", "tickets:read"]).await;
    let prefix = &app.config.api.prefix;
    let boundary = "xYzBoundary";
    let stalled = [
        // A JSON body cut short.
        (
            format!("{prefix}/tickets/create"),
            "application/json".to_string(),
            "{\"subject\": \"Sl".to_string(),
        ),
        // An upload whose file part stops arriving: streamed to storage as it comes.
        (
            format!("{prefix}/attachments"),
            format!("multipart/form-data; boundary={boundary}"),
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello, "
            ),
        ),
    ];
    for (path, content_type, part) in stalled {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: {content_type}\r\nContent-Length: 2000\r\n\r\n{part}",
            host(&app)
        );
        let ended = until_closed(
            host(&app),
            head.into_bytes(),
            vec![],
            Duration::ZERO,
            Duration::from_secs(15),
        )
        .await
        .expect("the connection is closed");
        assert!(
            ended.received.starts_with("HTTP/1.1 408 "),
            "{path}: {}",
            ended.received
        );
        assert!(
            ended.received.contains(r#""code":"validation_failed""#)
                && ended.received.contains("did not arrive in time"),
            "{path}: {}",
            ended.received
        );
    }
    let listed = app.get("/tickets", &token).await;
    assert_eq!(listed.body["meta"]["total"], 0, "{}", listed.body);
}
