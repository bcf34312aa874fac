//! Email in and out (contract §9.7). Inbound: real-looking messages from common clients
//! (`tests/api/email/*.eml`) posted to `/inbound/email`. Outbound: a real SMTP server
//! (Python's aiosmtpd, writing a maildir) on a free port of 127.0.0.1; without aiosmtpd those
//! tests are skipped with a note, unless `ESCALATED_TEST_REQUIRE_SMTP=1` (as in CI).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use mail_parser::MessageParser;
use reqwest::Method;
use serde_json::{Value, json};

use sha2::{Digest, Sha256};

use crate::{
    attachments::{download, stored_objects, upload},
    both_databases,
    support::{Backend, Reply, TestApp},
};

const SECRET: &str = "inbound-secret-for-tests-0123456789";

both_databases!(
    config = |c| c.email.inbound_secret = SECRET.into();
    a_new_message_opens_a_ticket_for_a_new_customer,
    a_message_is_applied_at_the_servers_clock,
    a_reply_threads_by_the_subject_reference_and_reopens_a_waiting_ticket,
    an_html_reply_is_reduced_to_text_without_its_quoted_history,
    a_forwarded_message_keeps_the_forwarded_text,
    automatic_mail_and_bounces_create_nothing,
    a_repeated_message_id_changes_nothing,
    an_iso_8859_1_message_is_decoded,
    an_inbound_attachment_is_stored_like_an_upload,
    a_replys_files_go_on_the_reply_and_a_refused_file_is_listed,
    the_route_needs_its_secret_not_an_api_token,
    someone_else_cannot_reply_to_a_customers_ticket,
    a_message_that_is_not_email_is_422,
);

both_databases!(
    config = |c| {
        c.email.inbound_secret = SECRET.into();
        c.email.per_sender_per_hour = 2;
        c.email.max_message_bytes = 4096;
    };
    a_sender_over_the_rate_limit_is_ignored,
    a_message_over_the_size_limit_is_413,
);

both_databases!(
    the_route_is_off_without_a_secret,
    nothing_is_sent_without_an_smtp_url
);

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/api/email")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn inbound(app: &TestApp, raw: &str) -> Reply {
    app.raw(
        Method::POST,
        &app.url("/inbound/email"),
        &[
            ("authorization", &format!("Bearer {SECRET}")),
            ("content-type", "message/rfc822"),
        ],
        raw,
    )
    .await
}

async fn ticket(app: &TestApp, reference: &str) -> Value {
    app.get(&format!("/tickets/{reference}"), &app.admin_token)
        .await
        .expect(200)
        .data()
        .clone()
}

async fn ticket_count(app: &TestApp) -> u64 {
    app.get("/tickets", &app.admin_token).await.expect(200).body["meta"]["total"]
        .as_u64()
        .unwrap()
}

/// Posts `new_ticket.eml` and returns the new ticket's reference.
async fn opened(app: &TestApp) -> String {
    let reply = inbound(app, &fixture("new_ticket.eml")).await.expect(202);
    reply.data()["reference"].as_str().unwrap().to_string()
}

async fn a_new_message_opens_a_ticket_for_a_new_customer(app: TestApp) {
    let reply = inbound(&app, &fixture("new_ticket.eml")).await.expect(202);
    assert_eq!(reply.message(), "Ticket created.");
    assert_eq!(reply.data()["outcome"], "created");
    assert_eq!(
        reply.data()["message_id"],
        "CAF1new.ticket@mail.example.com"
    );
    let reference = reply.data()["reference"].as_str().unwrap();
    let t = ticket(&app, reference).await;
    assert_eq!(t["subject"], "Printer on floor 3 is jammed");
    assert_eq!(t["channel"], "email");
    assert_eq!(t["status"], "open");
    assert_eq!(t["requester"]["email"], "ann@example.com");
    assert_eq!(t["requester"]["name"], "Ann Customer");
    let description = t["description"].as_str().unwrap();
    assert!(description.contains("shows error E42"), "{description}");
    assert!(
        !description.contains("ACME Ltd"),
        "signature kept: {description}"
    );
    let activity = t["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "email_received")
        .expect("an email_received activity");
    assert_eq!(
        activity["properties"]["message_id"],
        "CAF1new.ticket@mail.example.com"
    );
}

/// The ticket, its reply and their activities carry the time of the server's clock, as the
/// API's ticket changes do.
async fn a_message_is_applied_at_the_servers_clock(app: TestApp) {
    let seconds = |value: &Value| {
        chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    let opened_at = 1_741_078_800; // 2025-03-04T09:00:00Z
    app.clock.set(opened_at);
    let reference = opened(&app).await;
    let t = ticket(&app, &reference).await;
    assert_eq!(seconds(&t["created_at"]), opened_at, "{t}");
    let received = t["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "email_received")
        .expect("an email_received activity");
    assert_eq!(seconds(&received["created_at"]), opened_at, "{received}");
}

async fn a_reply_threads_by_the_subject_reference_and_reopens_a_waiting_ticket(app: TestApp) {
    let reference = opened(&app).await;
    app.patch(
        &format!("/tickets/{reference}/status"),
        &app.admin_token,
        json!({ "status": "waiting_on_customer" }),
    )
    .await
    .expect(200);
    let raw = fixture("plain_reply.eml")
        .replace("{{REFERENCE}}", &reference)
        .replace("{{IN_REPLY_TO}}", "not-one-of-ours@example.com");
    let reply = inbound(&app, &raw).await.expect(202);
    assert_eq!(reply.message(), "Reply added.");
    assert_eq!(reply.data()["outcome"], "replied");
    assert_eq!(reply.data()["reference"], reference.as_str());
    let t = ticket(&app, &reference).await;
    assert_eq!(t["status"], "open");
    let replies = t["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(
        replies[0]["body"],
        "Turning it off and on again fixed it, thanks!"
    );
    assert_eq!(replies[0]["is_internal_note"], false);
    assert_eq!(replies[0]["author"]["id"], t["requester"]["id"]);
    assert_eq!(ticket_count(&app).await, 1);
}

async fn an_html_reply_is_reduced_to_text_without_its_quoted_history(app: TestApp) {
    let reference = opened(&app).await;
    let raw = fixture("html_reply.eml").replace("{{REFERENCE}}", &reference);
    inbound(&app, &raw).await.expect(202);
    let t = ticket(&app, &reference).await;
    let body = t["replies"][0]["body"].as_str().unwrap();
    assert!(body.contains("It jammed again"), "{body}");
    assert!(body.contains("same error."), "{body}");
    for gone in ["Please turn it off", "alert(", "margin", "<p>", "Sent:"] {
        assert!(!body.contains(gone), "{gone:?} left in {body:?}");
    }
}

async fn a_forwarded_message_keeps_the_forwarded_text(app: TestApp) {
    let reply = inbound(&app, &fixture("forwarded.eml")).await.expect(202);
    assert_eq!(reply.data()["outcome"], "created");
    let t = ticket(&app, reply.data()["reference"].as_str().unwrap()).await;
    assert_eq!(t["subject"], "Fwd: Server down in Berlin");
    let description = t["description"].as_str().unwrap();
    assert!(
        description.starts_with("Can you look at this please?"),
        "{description}"
    );
    assert!(
        description.contains("The build server in Berlin has been down"),
        "{description}"
    );
}

async fn automatic_mail_and_bounces_create_nothing(app: TestApp) {
    let reference = opened(&app).await;
    let auto = fixture("auto_reply.eml").replace("{{REFERENCE}}", &reference);
    let reply = inbound(&app, &auto).await.expect(202);
    assert_eq!(reply.message(), "Message ignored.");
    assert_eq!(reply.data()["outcome"], "ignored");
    assert_eq!(reply.data()["reason"], "auto_submitted");
    let reply = inbound(&app, &fixture("bounce.eml")).await.expect(202);
    assert_eq!(reply.data()["reason"], "bounce");
    let bulk = fixture("forwarded.eml").replace(
        "Message-ID: <CAF3fwd@mail.example.com>",
        "Message-ID: <news.1@list.example.com>\nPrecedence: bulk",
    );
    let reply = inbound(&app, &bulk).await.expect(202);
    assert_eq!(reply.data()["reason"], "bulk");
    // `Auto-Submitted: no` is a person's mail.
    let person = fixture("forwarded.eml").replace(
        "Message-ID: <CAF3fwd@mail.example.com>",
        "Message-ID: <p.1@example.com>\nAuto-Submitted: no",
    );
    inbound(&app, &person).await.expect(202);
    assert_eq!(ticket_count(&app).await, 2);
    assert!(
        ticket(&app, &reference).await["replies"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn a_repeated_message_id_changes_nothing(app: TestApp) {
    let reference = opened(&app).await;
    let again = inbound(&app, &fixture("new_ticket.eml")).await.expect(202);
    assert_eq!(again.message(), "Message already received.");
    assert_eq!(again.data()["outcome"], "duplicate");
    assert_eq!(again.data()["reference"], reference.as_str());
    assert_eq!(ticket_count(&app).await, 1);
}

async fn an_iso_8859_1_message_is_decoded(app: TestApp) {
    let reply = inbound(&app, &fixture("latin1.eml")).await.expect(202);
    let t = ticket(&app, reply.data()["reference"].as_str().unwrap()).await;
    assert_eq!(t["subject"], "Drücker im Büro defekt");
    assert_eq!(t["requester"]["name"], "Jürgen Müller");
    assert_eq!(
        t["description"],
        "Grüße, der Drucker im Büro druckt nur noch weiße Seiten."
    );
}

/// The PNG of `attachment.eml`, decoded.
fn fixture_png() -> Vec<u8> {
    let raw = fixture("attachment.eml");
    let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
    message.attachment(0).unwrap().contents().to_vec()
}

/// A new ticket's file is stored as an upload would be (sniffed type, sha256, the same
/// object as an identical upload through the API), attached to the ticket, downloadable.
async fn an_inbound_attachment_is_stored_like_an_upload(app: TestApp) {
    let png = fixture_png();
    let reply = inbound(&app, &fixture("attachment.eml")).await.expect(202);
    let listed = reply.data()["attachments"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let file = &listed[0];
    assert_eq!(file["filename"], "error.png");
    assert_eq!(file["mime_type"], "image/png");
    assert_eq!(file["size"], png.len() as u64);
    assert_eq!(file["sha256"], hex::encode(Sha256::digest(&png)));
    assert_eq!(file["refused"], Value::Null);
    let id = file["id"].as_i64().expect("stored");

    let t = ticket(&app, reply.data()["reference"].as_str().unwrap()).await;
    assert_eq!(t["description"], "Here is a screenshot of the error.");
    assert_eq!(t["attachments"][0]["id"], id, "{}", t["attachments"]);
    assert_eq!(t["attachments"][0]["sha256"], file["sha256"]);
    let activity = t["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "email_received")
        .unwrap()
        .clone();
    assert_eq!(activity["properties"]["attachments"], listed);

    let (status, headers, bytes) = download(&app, &app.admin_token, id, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, png);
    assert_eq!(headers["content-type"], "image/png");
    // The same bytes uploaded through the API are the same stored object.
    let uploaded = upload(&app, &app.admin_token, "again.png", &png)
        .await
        .expect(201);
    assert_eq!(uploaded.data()["sha256"], file["sha256"]);
    assert_eq!(stored_objects(&app).len(), 1);
    // A repeat of the message stores nothing more and answers the first delivery's files.
    let again = inbound(&app, &fixture("attachment.eml")).await.expect(202);
    assert_eq!(again.data()["outcome"], "duplicate");
    assert_eq!(again.data()["attachments"], listed);
}

/// A reply's files go on the reply; a file the upload rules refuse is listed as refused and
/// the reply is added without it.
async fn a_replys_files_go_on_the_reply_and_a_refused_file_is_listed(app: TestApp) {
    let reference = opened(&app).await;
    let png_base64 = fixture("attachment.eml")
        .lines()
        .find(|l| l.starts_with("iVBOR"))
        .unwrap()
        .to_string();
    let raw = format!(
        "From: Ann Customer <ann@example.com>\r\nTo: support@example.com\r\n\
         Subject: Re: Printer [{reference}]\r\nMessage-ID: <files.2@mail.example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nTwo files.\r\n\
         --B\r\nContent-Type: image/png; name=\"setup.png\"\r\n\
         Content-Disposition: attachment; filename=\"setup.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAA=\r\n\
         --B\r\nContent-Type: image/png\r\n\
         Content-Disposition: attachment; filename=\"../../shot.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{png_base64}\r\n--B--\r\n"
    );
    let reply = inbound(&app, &raw).await.expect(202);
    assert_eq!(reply.data()["outcome"], "replied");
    let files = reply.data()["attachments"].clone();
    // A Windows executable, whatever its name and declared type say.
    assert_eq!(files[0]["filename"], "setup.png");
    assert_eq!(files[0]["id"], Value::Null);
    assert_eq!(files[0]["refused"], "Executable files are not accepted.");
    assert_eq!(files[1]["filename"], "shot.png", "no path survives");
    let id = files[1]["id"].as_i64().expect("stored");
    let t = ticket(&app, &reference).await;
    let on_reply = t["replies"][0]["attachments"].as_array().unwrap();
    assert_eq!(on_reply.len(), 1, "{on_reply:?}");
    assert_eq!(on_reply[0]["id"], id);
    assert_eq!(t["replies"][0]["id"], reply.data()["reply_id"]);
    // Readable by an agent of the ticket, as an API reply's file is.
    let (_, agent) = app.agent(&["tickets:read"]).await;
    let (status, _, bytes) = download(&app, &agent, id, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, fixture_png());
}

async fn the_route_needs_its_secret_not_an_api_token(app: TestApp) {
    let url = app.url("/inbound/email");
    let raw = fixture("new_ticket.eml");
    let none = app.raw(Method::POST, &url, &[], &raw).await.expect(401);
    assert_eq!(none.message(), "Unauthenticated.");
    let wrong = app
        .raw(
            Method::POST,
            &url,
            &[("authorization", "Bearer not-the-secret-at-all")],
            &raw,
        )
        .await
        .expect(401);
    assert_eq!(wrong.message(), "Invalid secret.");
    let token = format!("Bearer {}", app.admin_token);
    app.raw(Method::POST, &url, &[("authorization", &token)], &raw)
        .await
        .expect(401);
    assert_eq!(ticket_count(&app).await, 0);
}

async fn the_route_is_off_without_a_secret(app: TestApp) {
    let url = app.url("/inbound/email");
    app.raw(
        Method::POST,
        &url,
        &[("authorization", "Bearer x")],
        &fixture("new_ticket.eml"),
    )
    .await
    .expect(404);
}

async fn someone_else_cannot_reply_to_a_customers_ticket(app: TestApp) {
    let reference = opened(&app).await;
    let raw = fixture("plain_reply.eml")
        .replace("{{REFERENCE}}", &reference)
        .replace("{{IN_REPLY_TO}}", "x@example.com")
        .replace(
            "Ann Customer <ann@example.com>",
            "Mallory <mallory@example.com>",
        );
    let reply = inbound(&app, &raw).await.expect(202);
    assert_eq!(reply.data()["outcome"], "created");
    assert_ne!(reply.data()["reference"], reference.as_str());
    assert!(
        ticket(&app, &reference).await["replies"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn a_message_that_is_not_email_is_422(app: TestApp) {
    let reply = inbound(&app, "just some text without headers").await;
    assert!(reply.expect_invalid("message").contains("From"));
    assert_eq!(ticket_count(&app).await, 0);
}

async fn a_sender_over_the_rate_limit_is_ignored(app: TestApp) {
    for n in 1..=3 {
        let raw = fixture("forwarded.eml").replace("CAF3fwd", &format!("limit-{n}"));
        let reply = inbound(&app, &raw).await.expect(202);
        if n < 3 {
            assert_eq!(reply.data()["outcome"], "created");
        } else {
            assert_eq!(reply.data()["outcome"], "ignored");
            assert_eq!(reply.data()["reason"], "rate_limited");
        }
    }
    assert_eq!(ticket_count(&app).await, 2);
}

async fn a_message_over_the_size_limit_is_413(app: TestApp) {
    let raw = format!(
        "{}{}",
        fixture("forwarded.eml"),
        "padding line\n".repeat(400)
    );
    inbound(&app, &raw).await.expect(413);
    assert_eq!(ticket_count(&app).await, 0);
}

async fn nothing_is_sent_without_an_smtp_url(app: TestApp) {
    app.post(
        "/tickets/create",
        &app.admin_token,
        json!({ "subject": "S", "description": "D", "requester": { "email": "ann@example.com" } }),
    )
    .await
    .expect(201);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let log = app
        .get("/admin/email/deliveries", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(log.body["meta"]["total"], 0);
    assert_eq!(log.data(), &json!([]));
}

// ---- Outbound, against a real SMTP server ----

/// aiosmtpd on a free port, saving what it receives into a maildir; stopped on drop.
struct SmtpServer {
    port: u16,
    dir: PathBuf,
    child: Child,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port of 127.0.0.1 with nothing listening on it (for now).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether aiosmtpd can run; without it a test is skipped with a note, unless
/// `ESCALATED_TEST_REQUIRE_SMTP=1`.
fn smtp_available() -> bool {
    let importable = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !importable {
        if std::env::var("ESCALATED_TEST_REQUIRE_SMTP").is_ok_and(|v| v == "1" || v == "true") {
            panic!(
                "an SMTP server is required (ESCALATED_TEST_REQUIRE_SMTP=1) but aiosmtpd is not importable: pip install aiosmtpd"
            );
        }
        eprintln!(
            "note: python3 -m aiosmtpd is not available (pip install aiosmtpd); skipping this SMTP test"
        );
    }
    importable
}

impl SmtpServer {
    async fn start() -> Option<SmtpServer> {
        if !smtp_available() {
            return None;
        }
        Some(SmtpServer::start_on(free_port()).await)
    }

    /// aiosmtpd on `port` (known to be available).
    async fn start_on(port: u16) -> SmtpServer {
        let dir =
            std::env::temp_dir().join(format!("escalated-smtp-{}", uuid::Uuid::new_v4().simple()));
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let server = SmtpServer { port, dir, child };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not listen on 127.0.0.1:{port}");
    }

    /// Every message received so far.
    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        files
            .iter()
            .filter_map(|f| std::fs::read(f).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }

    /// Waits until a message to `to` whose subject contains `subject` has arrived.
    async fn wait_for(&self, to: &str, subject: &str) -> String {
        for _ in 0..200 {
            if let Some(m) = self.messages().into_iter().find(|m| {
                let parsed = MessageParser::default().parse(m.as_bytes()).unwrap();
                let to_ok = parsed
                    .to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    == Some(to);
                to_ok && parsed.subject().unwrap_or_default().contains(subject)
            }) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no mail to {to} about {subject:?}; received: {:#?}",
            self.messages()
        );
    }
}

fn header(raw: &str, name: &str) -> String {
    let parsed = MessageParser::default().parse(raw.as_bytes()).unwrap();
    parsed
        .header_raw(name)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The settings of a server that sends to aiosmtpd on `port` and may send webhooks to this
/// machine.
fn smtp_settings(c: &mut escalated::config::Config, port: u16) {
    c.email.smtp_url = format!("smtp://127.0.0.1:{port}");
    c.email.from = "Support <support@example.com>".into();
    c.email.reply_to = "help@example.com".into();
    c.email.inbound_secret = SECRET.into();
    c.email.retry_base_ms = 200;
    c.webhooks.allow_private = true;
}

macro_rules! with_smtp {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;

                async fn run(backend: Backend) {
                    let Some(smtp) = SmtpServer::start().await else { return };
                    let port = smtp.port;
                    let Some(app) = TestApp::spawn_with(backend, |c| smtp_settings(c, port))
                    .await
                    else {
                        return;
                    };
                    super::$name(app, smtp).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run(Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    run(Backend::MySql).await;
                }
            }
        )*
    };
}

with_smtp!(
    a_customers_email_answer_to_a_notification_lands_on_the_same_ticket,
    an_agent_reply_goes_to_the_requester_and_followers_threaded,
    mail_in_and_out_reaches_webhooks_as_events,
    a_notification_has_a_text_and_an_escaped_html_part,
);

// A server whose SMTP server is down (nothing listens on its port) when the first mail is due.
// A minute between attempts: only the server's clock, set forward, brings the retry.
both_databases!(
    config = |c| {
        smtp_settings(c, free_port());
        c.email.retry_base_ms = 60_000;
        c.email.max_attempts = 3;
    };
    a_delivery_is_retried_with_backoff_until_the_smtp_server_is_up,
);

both_databases!(
    config = |c| {
        smtp_settings(c, free_port());
        c.email.retry_base_ms = 60_000;
        c.email.max_attempts = 2;
    };
    a_delivery_fails_when_its_attempts_are_spent,
);

async fn a_customers_email_answer_to_a_notification_lands_on_the_same_ticket(
    app: TestApp,
    smtp: SmtpServer,
) {
    let created = app
        .post(
            "/tickets/create",
            &app.admin_token,
            json!({
                "subject": "VPN does not connect",
                "description": "Since this morning.",
                "requester": { "name": "Ann Customer", "email": "ann@example.com" }
            }),
        )
        .await
        .expect(201);
    let reference = created.data()["reference"].as_str().unwrap().to_string();
    let mail = smtp.wait_for("ann@example.com", &reference).await;
    assert_eq!(
        header(&mail, "Subject"),
        format!("VPN does not connect [{reference}]")
    );
    assert_eq!(header(&mail, "Reply-To"), "help@example.com");
    assert_eq!(header(&mail, "Auto-Submitted"), "auto-generated");
    let message_id = header(&mail, "Message-ID");
    assert!(
        message_id.starts_with('<') && message_id.ends_with("@example.com>"),
        "{message_id}"
    );
    app.patch(
        &format!("/tickets/{reference}/status"),
        &app.admin_token,
        json!({ "status": "waiting_on_customer" }),
    )
    .await
    .expect(200);

    // The customer's client answers: threaded by In-Reply-To alone (the subject lost its
    // reference), with the notification quoted below.
    let parsed = MessageParser::default().parse(mail.as_bytes()).unwrap();
    let quoted: String = parsed
        .body_text(0)
        .unwrap()
        .lines()
        .map(|l| format!("> {l}\r\n"))
        .collect();
    let answer = format!(
        "From: Ann Customer <ann@example.com>\r\nTo: help@example.com\r\nSubject: Re: VPN does not connect\r\n\
         Message-ID: <answer.1@mail.example.com>\r\nIn-Reply-To: {message_id}\r\nReferences: {message_id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n\
         It works again after the update.\r\n\r\nOn Tue, 1 Dec 2026 at 10:00, Support <support@example.com> wrote:\r\n{quoted}"
    );
    let reply = inbound(&app, &answer).await.expect(202);
    assert_eq!(reply.data()["outcome"], "replied");
    assert_eq!(reply.data()["reference"], reference.as_str());
    let t = ticket(&app, &reference).await;
    assert_eq!(t["status"], "open");
    assert_eq!(t["replies"][0]["body"], "It works again after the update.");
    assert_eq!(ticket_count(&app).await, 1);

    let log = app
        .get("/admin/email/deliveries", &app.admin_token)
        .await
        .expect(200);
    let first = &log.data()[0];
    assert_eq!(first["kind"], "ticket_created");
    assert_eq!(first["status"], "sent");
    assert_eq!(first["recipient"], "ann@example.com");
    assert_eq!(first["reference"], reference.as_str());
    assert_eq!(
        format!("<{}>", first["message_id"].as_str().unwrap()),
        message_id
    );
}

async fn email_of(app: &TestApp, token: &str) -> String {
    let me = app
        .post("/auth/validate", token, json!({}))
        .await
        .expect(200);
    me.data()["user"]["email"].as_str().unwrap().to_string()
}

async fn an_agent_reply_goes_to_the_requester_and_followers_threaded(
    app: TestApp,
    smtp: SmtpServer,
) {
    let (agent_id, agent) = app.agent(&["*"]).await;
    let (_, follower) = app.agent(&["*"]).await;
    let (agent_email, follower_email) = (
        email_of(&app, &agent).await,
        email_of(&app, &follower).await,
    );
    let created = app
        .post(
            "/tickets/create",
            &app.admin_token,
            json!({ "subject": "Laptop fan noise", "description": "Loud.", "requester": { "email": "ann@example.com" } }),
        )
        .await
        .expect(201);
    let reference = created.data()["reference"].as_str().unwrap().to_string();
    let first = smtp.wait_for("ann@example.com", "Laptop fan noise").await;
    let first_id = header(&first, "Message-ID");
    app.post(
        &format!("/tickets/{reference}/follow"),
        &follower,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/tickets/{reference}/assign"),
        &app.admin_token,
        json!({ "agent_id": agent_id }),
    )
    .await
    .expect(200);
    let assigned = smtp
        .wait_for(&agent_email, "Assigned to you: Laptop fan noise")
        .await;
    assert!(assigned.contains(&reference));

    app.post(
        &format!("/tickets/{reference}/reply"),
        &agent,
        json!({ "body": "Internal only.", "is_internal_note": true }),
    )
    .await
    .expect(201);
    app.post(
        &format!("/tickets/{reference}/reply"),
        &agent,
        json!({ "body": "Please clean the vents." }),
    )
    .await
    .expect(201);
    let to_requester = smtp
        .wait_for("ann@example.com", "Re: Laptop fan noise")
        .await;
    let to_follower = smtp.wait_for(&follower_email, "Re: Laptop fan noise").await;
    assert_eq!(
        header(&to_requester, "Subject"),
        format!("Re: Laptop fan noise [{reference}]")
    );
    assert_eq!(header(&to_requester, "In-Reply-To"), first_id);
    assert!(header(&to_requester, "References").contains(&first_id));
    assert_eq!(header(&to_requester, "Auto-Submitted"), "");
    let text = MessageParser::default()
        .parse(to_requester.as_bytes())
        .unwrap()
        .body_text(0)
        .unwrap()
        .into_owned();
    assert!(text.contains("Please clean the vents."), "{text}");
    assert!(!to_follower.contains("Internal only."));
    assert_ne!(
        header(&to_requester, "Message-ID"),
        header(&to_follower, "Message-ID")
    );

    // The author gets no copy, the internal note no mail at all.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = smtp.messages();
    assert!(all.iter().all(|m| !m.contains("Internal only.")));
    let log = app
        .get("/admin/email/deliveries?per_page=100", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(log.body["meta"]["total"], 4, "{}", log.body);
    let kinds: Vec<&str> = log
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "agent_reply").count(), 2);
    assert!(
        log.data()
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["recipient"] != agent_email.as_str() || d["kind"] == "assigned")
    );
    assert_eq!(all.len(), 4);
}

/// Subscribes a webhook receiver of this test to `events`.
async fn hook(app: &TestApp, events: &[&str]) -> std::sync::Arc<crate::webhooks::Inbox> {
    let (url, inbox) = crate::webhooks::receiver(&[]).await;
    app.post(
        "/admin/webhooks/create",
        &app.admin_token,
        json!({ "url": url, "events": events }),
    )
    .await
    .expect(201);
    inbox
}

/// The events in the bodies a webhook receiver got, in event order (deliveries run
/// concurrently, so they may arrive in another).
fn hook_events(got: &[crate::webhooks::Received]) -> Vec<Value> {
    let mut events: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    events.sort_by_key(|e| e["id"].as_i64());
    events
}

/// `email.received` for a message that created a ticket, one that replied and one that was
/// ignored (a repeat emits nothing); `email.sent` for a notification sent.
async fn mail_in_and_out_reaches_webhooks_as_events(app: TestApp, smtp: SmtpServer) {
    let inbox = hook(&app, &["email.received", "email.sent", "email.failed"]).await;
    let created = inbound(&app, &fixture("attachment.eml")).await.expect(202);
    let reference = created.data()["reference"].as_str().unwrap().to_string();
    inbound(&app, &fixture("attachment.eml")).await.expect(202);
    let reply = fixture("plain_reply.eml")
        .replace("{{REFERENCE}}", &reference)
        .replace("{{IN_REPLY_TO}}", "x@example.com");
    let replied = inbound(&app, &reply).await.expect(202);
    inbound(&app, &fixture("bounce.eml")).await.expect(202);
    smtp.wait_for("ann@example.com", &reference).await;

    let got = wait_for_events(&inbox, 4).await;
    let received: Vec<&Value> = got
        .iter()
        .filter(|e| e["type"] == "email.received")
        .collect();
    assert_eq!(received.len(), 3, "{got:#?}");
    let new = &received[0]["data"];
    assert_eq!(new["outcome"], "created");
    assert_eq!(new["message_id"], "attach.1@mail.example.com");
    assert_eq!(new["from"], "ann@example.com");
    assert_eq!(new["ticket"]["reference"], reference.as_str());
    assert_eq!(new["attachments"], created.data()["attachments"]);
    let answer = &received[1]["data"];
    assert_eq!(answer["outcome"], "replied");
    assert_eq!(answer["reply_id"], replied.data()["reply_id"]);
    assert_eq!(answer["ticket"]["reference"], reference.as_str());
    let bounce = &received[2]["data"];
    assert_eq!(bounce["outcome"], "ignored");
    assert_eq!(bounce["reason"], "bounce");
    assert_eq!(bounce.get("ticket"), None, "no ticket: {bounce}");

    let sent = got
        .iter()
        .find(|e| e["type"] == "email.sent")
        .unwrap_or_else(|| panic!("no email.sent in {got:#?}"));
    let delivery = &sent["data"]["delivery"];
    assert_eq!(delivery["kind"], "ticket_created");
    assert_eq!(delivery["recipient"], "ann@example.com");
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["error"], Value::Null);
    assert_eq!(sent["data"]["ticket"]["reference"], reference.as_str());
    let log = app
        .get("/admin/email/deliveries", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(delivery["id"], log.data()[0]["id"]);
    assert_eq!(delivery["message_id"], log.data()[0]["message_id"]);
}

/// Waits for `n` webhook requests and answers their events.
async fn wait_for_events(inbox: &crate::webhooks::Inbox, n: usize) -> Vec<Value> {
    hook_events(&crate::webhooks::wait_for(inbox, n).await)
}

/// The delivery log's newest entry, once `done` holds for it (up to 20 s).
async fn delivery_when(app: &TestApp, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let log = app
            .get("/admin/email/deliveries", &app.admin_token)
            .await
            .expect(200);
        last = log.data()[0].clone();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the delivery did not reach the expected state: {last}");
}

fn smtp_port(app: &TestApp) -> u16 {
    app.config
        .email
        .smtp_url
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn a_ticket_for_ann(app: &TestApp) -> String {
    let created = app
        .post(
            "/tickets/create",
            &app.admin_token,
            json!({ "subject": "Mail server down", "description": "D", "requester": { "email": "ann@example.com" } }),
        )
        .await
        .expect(201);
    created.data()["reference"].as_str().unwrap().to_string()
}

async fn a_delivery_is_retried_with_backoff_until_the_smtp_server_is_up(app: TestApp) {
    if !smtp_available() {
        return;
    }
    app.clock.stop();
    let reference = a_ticket_for_ann(&app).await;
    let first = delivery_when(&app, |d| d["attempts"] == 1).await;
    assert_eq!(first["status"], "pending");
    assert!(!first["error"].as_str().unwrap().is_empty(), "{first}");
    let failed_at = app.clock.now();
    let due = chrono::DateTime::parse_from_rfc3339(first["next_attempt_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!(
        (failed_at + 59..=failed_at + 61).contains(&due),
        "the retry is due a minute (retry_base_ms) after the attempt: {due} vs {failed_at}"
    );

    let smtp = SmtpServer::start_on(smtp_port(&app)).await;
    // The server is up, but the retry is not due yet by the server's clock.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(smtp.messages().is_empty());
    let waiting = delivery_when(&app, |_| true).await;
    assert_eq!(waiting["attempts"], 1, "{waiting}");

    app.clock.advance(Duration::from_secs(61));
    smtp.wait_for("ann@example.com", &reference).await;
    let sent = delivery_when(&app, |d| d["status"] == "sent").await;
    assert_eq!(sent["attempts"], 2);
    assert_eq!(sent["error"], Value::Null);
    assert_eq!(sent["next_attempt_at"], Value::Null);
    assert!(sent["sent_at"].is_string());
    assert_eq!(smtp.messages().len(), 1);
}

/// With nothing ever listening, the mail is tried `max_attempts` times (the second after the
/// backoff), then marked failed, and `email.failed` is published.
async fn a_delivery_fails_when_its_attempts_are_spent(app: TestApp) {
    let inbox = hook(&app, &["email.failed", "email.sent"]).await;
    app.clock.stop();
    let reference = a_ticket_for_ann(&app).await;
    delivery_when(&app, |d| d["attempts"] == 1 && d["status"] == "pending").await;
    app.clock.advance(Duration::from_secs(61));
    let failed = delivery_when(&app, |d| d["status"] == "failed").await;
    assert_eq!(failed["attempts"], 2);
    assert_eq!(failed["next_attempt_at"], Value::Null);
    assert!(!failed["error"].as_str().unwrap().is_empty());

    let got = wait_for_events(&inbox, 1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["type"], "email.failed");
    let delivery = &got[0]["data"]["delivery"];
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(delivery["error"], failed["error"]);
    assert_eq!(got[0]["data"]["ticket"]["reference"], reference.as_str());
}

/// Each notification is multipart/alternative: the text, and HTML in which the ticket's
/// content is text, never markup.
async fn a_notification_has_a_text_and_an_escaped_html_part(app: TestApp, smtp: SmtpServer) {
    let subject = r#"<script>alert("x")</script> & <b>bold</b>"#;
    let created = app
        .post(
            "/tickets/create",
            &app.admin_token,
            json!({ "subject": subject, "description": "D", "requester": { "email": "ann@example.com" } }),
        )
        .await
        .expect(201);
    let reference = created.data()["reference"].as_str().unwrap().to_string();
    let mail = smtp.wait_for("ann@example.com", &reference).await;
    assert!(
        header(&mail, "Content-Type").starts_with("multipart/alternative"),
        "{mail}"
    );
    let parsed = MessageParser::default().parse(mail.as_bytes()).unwrap();
    assert_eq!(parsed.text_body.len(), 1);
    assert_eq!(parsed.html_body.len(), 1);
    let text_part = &parsed.parts[parsed.text_body[0] as usize];
    let html_part = &parsed.parts[parsed.html_body[0] as usize];
    assert!(text_part.is_text() && !text_part.is_text_html());
    assert!(html_part.is_text_html(), "a real text/html part");
    assert!(parsed.body_text(0).unwrap().contains(subject));
    let html = parsed.body_html(0).unwrap().into_owned();
    assert!(
        html.contains(
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
        ),
        "{html}"
    );
    assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");
    assert!(html.contains(&reference));

    // An agent's reply: its lines stay lines, its markup stays text.
    let (_, agent) = app.agent(&["*"]).await;
    app.post(
        &format!("/tickets/{reference}/reply"),
        &agent,
        json!({ "body": "First line\n<img src=x onerror=alert(1)>" }),
    )
    .await
    .expect(201);
    let reply = smtp.wait_for("ann@example.com", "Re: ").await;
    let html = MessageParser::default()
        .parse(reply.as_bytes())
        .unwrap()
        .body_html(0)
        .unwrap()
        .replace("\r\n", "\n");
    assert!(
        html.contains("First line<br>\n&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img"), "{html}");
}
