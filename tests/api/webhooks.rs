//! Outbound webhooks: admin CRUD, SSRF refusals, and delivery to a receiver started inside the
//! test, which checks the Standard Webhooks signature with its own HMAC.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use poem::{
    EndpointExt, Request, Route, Server, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    post,
    web::Data,
};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    both_databases,
    support::{Backend, TestApp},
};

both_databases!(
    private_and_loopback_urls_are_refused_by_default,
    ipv6_forms_that_embed_a_private_ipv4_are_refused,
    webhooks_crud_shows_the_secret_only_at_create,
    events_must_be_known_names_or_a_star,
    unknown_webhooks_and_deliveries_are_404,
);

/// Starts a server that may send webhooks to this machine, retrying quickly.
async fn spawn(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| {
        config.webhooks.allow_private = true;
        config.webhooks.retry_base_ms = 200;
        config.webhooks.max_attempts = 4;
    })
    .await
}

macro_rules! with_local_receiver {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use crate::support::Backend;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(super::spawn(Backend::Sqlite).await.unwrap()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    if let Some(app) = super::spawn(Backend::MySql).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

with_local_receiver!(
    deliveries_are_signed_and_follow_each_endpoints_events,
    a_failing_receiver_is_retried_under_one_webhook_id,
    a_delivery_can_be_redelivered,
);

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    pub body: String,
}

#[derive(Default)]
pub struct Inbox {
    received: Mutex<Vec<Received>>,
    /// Statuses to answer, in order; 200 once they run out.
    plan: Mutex<VecDeque<u16>>,
}

#[handler]
async fn receive(req: &Request, body: String, inbox: Data<&Arc<Inbox>>) -> StatusCode {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    inbox.received.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        body,
    });
    let status = inbox.plan.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// A receiver on 127.0.0.1: its URL and what it received.
pub async fn receiver(plan: &[u16]) -> (String, Arc<Inbox>) {
    let inbox = Arc::new(Inbox::default());
    inbox.plan.lock().unwrap().extend(plan);
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    let app = Route::new().at("/hook", post(receive)).data(inbox.clone());
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    (format!("http://{addr}/hook"), inbox)
}

/// Waits (up to 20 s) until the inbox holds `n` requests; returns them.
pub async fn wait_for(inbox: &Inbox, n: usize) -> Vec<Received> {
    for _ in 0..200 {
        {
            let got = inbox.received.lock().unwrap();
            if got.len() >= n {
                return got.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "expected {n} webhook requests, got {:?}",
        inbox.received.lock().unwrap()
    );
}

/// The signature check a receiver makes, written here from the Standard Webhooks spec.
fn verify(secret: &str, got: &Received) {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", got.id, got.timestamp, got.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(got.signature, expected, "signature of {}", got.id);
    let sent_at: i64 = got.timestamp.parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!((now - sent_at).abs() < 60, "webhook-timestamp is fresh");
    assert_eq!(got.content_type, "application/json");
}

fn event(got: &Received) -> Value {
    serde_json::from_str(&got.body).unwrap()
}

async fn create_hook(app: &TestApp, url: &str, events: Value) -> Value {
    app.post(
        "/admin/webhooks/create",
        &app.admin_token,
        json!({ "url": url, "events": events }),
    )
    .await
    .expect(201)
    .data()
    .clone()
}

async fn deliveries_of(app: &TestApp, hook_id: i64) -> Vec<Value> {
    app.get(
        &format!("/admin/webhooks/{hook_id}/deliveries"),
        &app.admin_token,
    )
    .await
    .expect(200)
    .data()
    .as_array()
    .unwrap()
    .clone()
}

/// Waits (up to 20 s) until the delivery's status is `status`.
async fn wait_for_status(app: &TestApp, hook_id: i64, status: &str) -> Value {
    for _ in 0..200 {
        let list = deliveries_of(app, hook_id).await;
        if let Some(first) = list.first()
            && first["status"] == status
        {
            return first.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the delivery did not become {status}: {:?}",
        deliveries_of(app, hook_id).await
    );
}

async fn private_and_loopback_urls_are_refused_by_default(app: TestApp) {
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://localhost/hook",
    ] {
        let reply = app
            .post(
                "/admin/webhooks/create",
                &app.admin_token,
                json!({ "url": url, "events": ["*"] }),
            )
            .await
            .expect(422);
        assert!(
            reply
                .field_error("url")
                .is_some_and(|m| m.contains("public address")),
            "{url}: {}",
            reply.body
        );
    }
    for url in ["ftp://example.com/x", "not a url", "http://"] {
        let reply = app
            .post(
                "/admin/webhooks/create",
                &app.admin_token,
                json!({ "url": url, "events": ["*"] }),
            )
            .await
            .expect(422);
        assert!(reply.field_error("url").is_some(), "{url}");
    }
    // A public literal address passes (no DNS needed); moving it to a private one does not.
    let hook = create_hook(&app, "http://93.184.215.14/hook", json!(["*"])).await;
    let reply = app
        .patch(
            &format!("/admin/webhooks/{}/update", hook["id"]),
            &app.admin_token,
            json!({ "url": "http://10.0.0.1/hook" }),
        )
        .await
        .expect(422);
    assert!(reply.field_error("url").is_some());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM webhooks").await, 1);
}

/// 169.254.169.254 (the cloud metadata service) written as the IPv6 forms that reach it.
async fn ipv6_forms_that_embed_a_private_ipv4_are_refused(app: TestApp) {
    for host in [
        "2002:a9fe:a9fe::",            // 6to4
        "64:ff9b:1::a9fe:a9fe",        // NAT64, local-use prefix
        "64:ff9b::a9fe:a9fe",          // NAT64, well-known prefix
        "::ffff:0:a9fe:a9fe",          // IPv4-translated
        "::ffff:169.254.169.254",      // IPv4-mapped
        "2001:0:5db8:d70e::5601:5601", // Teredo (client address bits flipped)
    ] {
        let url = format!("http://[{host}]/latest/meta-data");
        let reply = app
            .post(
                "/admin/webhooks/create",
                &app.admin_token,
                json!({ "url": url, "events": ["*"] }),
            )
            .await
            .expect(422);
        assert!(
            reply
                .field_error("url")
                .is_some_and(|m| m.contains("public address")),
            "{url}: {}",
            reply.body
        );
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM webhooks").await, 0);
    // The same forms around a public IPv4 address are judged by it and accepted.
    create_hook(&app, "http://[2002:5db8:d70e::1]/hook", json!(["*"])).await;
    create_hook(&app, "http://[64:ff9b::5db8:d70e]/hook", json!(["*"])).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM webhooks").await, 2);
}

async fn webhooks_crud_shows_the_secret_only_at_create(app: TestApp) {
    let created = app
        .post(
            "/admin/webhooks/create",
            &app.admin_token,
            json!({ "url": "http://93.184.215.14/a", "events": ["ticket.created"], "is_active": false }),
        )
        .await
        .expect(201);
    assert_eq!(created.message(), "Webhook created.");
    let hook = created.data();
    let secret = hook["secret"].as_str().unwrap();
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert!((24..=32).contains(&key.len()));
    assert_eq!(hook["events"], json!(["ticket.created"]));
    assert_eq!(hook["is_active"], false);
    let id = hook["id"].as_i64().unwrap();

    let shown = app
        .get(&format!("/admin/webhooks/{id}"), &app.admin_token)
        .await
        .expect(200);
    assert!(shown.data().get("secret").is_none(), "{}", shown.body);
    let listed = app
        .get("/admin/webhooks", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(listed.body["meta"]["total"], 1);
    assert!(listed.data()[0].get("secret").is_none());
    assert!(!listed.body.to_string().contains(secret));

    // A secret of one's own is kept; a malformed one is refused.
    let own = format!("whsec_{}", STANDARD.encode([7u8; 24]));
    let second = app
        .post(
            "/admin/webhooks/create",
            &app.admin_token,
            json!({ "url": "http://93.184.215.14/b", "events": ["*"], "secret": own }),
        )
        .await
        .expect(201);
    assert_eq!(second.data()["secret"], own);
    let bad = app
        .post(
            "/admin/webhooks/create",
            &app.admin_token,
            json!({ "url": "http://93.184.215.14/b", "events": ["*"], "secret": "hunter2" }),
        )
        .await
        .expect(422);
    assert!(bad.field_error("secret").is_some());

    let updated = app
        .patch(
            &format!("/admin/webhooks/{id}/update"),
            &app.admin_token,
            json!({ "events": ["reply.created", "note.created"], "is_active": true }),
        )
        .await
        .expect(200);
    assert_eq!(updated.message(), "Webhook updated.");
    assert_eq!(
        updated.data()["events"],
        json!(["reply.created", "note.created"])
    );
    assert_eq!(updated.data()["is_active"], true);
    assert!(updated.data().get("secret").is_none());

    let deleted = app
        .delete(&format!("/admin/webhooks/{id}/delete"), &app.admin_token)
        .await
        .expect(200);
    assert_eq!(deleted.message(), "Webhook deleted.");
    let gone = app
        .get(&format!("/admin/webhooks/{id}"), &app.admin_token)
        .await
        .expect(404);
    assert_eq!(gone.message(), "Webhook not found.");

    // Agents may not manage webhooks.
    let (_, agent) = app.agent(&["agent"]).await;
    app.get("/admin/webhooks", &agent).await.expect(403);
}

async fn events_must_be_known_names_or_a_star(app: TestApp) {
    for events in [json!([]), json!(["ticket.exploded"]), json!(["*", "nope"])] {
        let reply = app
            .post(
                "/admin/webhooks/create",
                &app.admin_token,
                json!({ "url": "http://93.184.215.14/a", "events": events }),
            )
            .await
            .expect(422);
        assert!(reply.field_error("events").is_some(), "{events}");
    }
    let missing = app
        .post(
            "/admin/webhooks/create",
            &app.admin_token,
            json!({ "url": "http://93.184.215.14/a" }),
        )
        .await
        .expect(422);
    assert!(missing.field_error("events").is_some());
    let hook = create_hook(
        &app,
        "http://93.184.215.14/a",
        json!(["sla.breached", "sla.breached", "macro.applied"]),
    )
    .await;
    assert_eq!(hook["events"], json!(["sla.breached", "macro.applied"]));
}

async fn unknown_webhooks_and_deliveries_are_404(app: TestApp) {
    let t = &app.admin_token;
    let missing = app.get("/admin/webhooks/999", t).await.expect(404);
    assert_eq!(missing.message(), "Webhook not found.");
    // 404 before the body is judged.
    app.patch("/admin/webhooks/999/update", t, json!({ "url": 5 }))
        .await
        .expect(404);
    app.delete("/admin/webhooks/999/delete", t)
        .await
        .expect(404);
    app.get("/admin/webhooks/999/deliveries", t)
        .await
        .expect(404);
    let hook = create_hook(&app, "http://93.184.215.14/a", json!(["*"])).await;
    let reply = app
        .post(
            &format!("/admin/webhooks/{}/deliveries/999/redeliver", hook["id"]),
            t,
            json!({}),
        )
        .await
        .expect(404);
    assert_eq!(reply.message(), "Delivery not found.");
}

async fn deliveries_are_signed_and_follow_each_endpoints_events(app: TestApp) {
    let (url_a, inbox_a) = receiver(&[]).await;
    let (url_b, inbox_b) = receiver(&[]).await;
    let only_priority = create_hook(&app, &url_a, json!(["ticket.priority_changed"])).await;
    let everything = create_hook(&app, &url_b, json!(["*"])).await;
    let (_, token) = app.agent(&["agent"]).await;
    let ticket = app.ticket(&token, "Printer on fire", json!({})).await;
    let reference = ticket["reference"].as_str().unwrap();
    app.patch(
        &format!("/tickets/{reference}/priority"),
        &token,
        json!({ "priority": "urgent" }),
    )
    .await
    .expect(200);

    // `*` gets the priority change's `ticket.updated` too.
    let got_b = wait_for(&inbox_b, 3).await;
    let got_a = wait_for(&inbox_a, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(inbox_a.received.lock().unwrap().len(), 1, "A is filtered");
    assert_eq!(inbox_b.received.lock().unwrap().len(), 3);

    let a = &got_a[0];
    verify(only_priority["secret"].as_str().unwrap(), a);
    let body = event(a);
    assert_eq!(body["type"], "ticket.priority_changed");
    assert_eq!(body["data"]["ticket"]["reference"], reference);
    assert_eq!(
        a.id,
        format!("msg_{}_{}", body["id"], only_priority["id"]),
        "webhook-id names the event and the endpoint"
    );
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));

    let mut types = Vec::new();
    for got in &got_b {
        verify(everything["secret"].as_str().unwrap(), got);
        types.push(event(got)["type"].as_str().unwrap().to_string());
    }
    types.sort();
    assert_eq!(
        types,
        [
            "ticket.created",
            "ticket.priority_changed",
            "ticket.updated"
        ]
    );
    // The other endpoint's secret does not verify B's signature.
    let other = &got_b[0];
    let key = STANDARD
        .decode(
            only_priority["secret"]
                .as_str()
                .unwrap()
                .strip_prefix("whsec_")
                .unwrap(),
        )
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", other.id, other.timestamp, other.body).as_bytes());
    assert_ne!(
        other.signature,
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    );

    let log = deliveries_of(&app, everything["id"].as_i64().unwrap()).await;
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|d| d["status"] == "delivered" && d["attempts"] == 1)
    );
    assert_eq!(log[0]["attempt_log"][0]["response_status"], 200);
}

async fn a_failing_receiver_is_retried_under_one_webhook_id(app: TestApp) {
    let (url, inbox) = receiver(&[500, 500]).await;
    let hook = create_hook(&app, &url, json!(["ticket.created"])).await;
    let hook_id = hook["id"].as_i64().unwrap();
    let (_, token) = app.agent(&["agent"]).await;
    app.ticket(&token, "Flaky", json!({})).await;

    let got = wait_for(&inbox, 3).await;
    let delivery = wait_for_status(&app, hook_id, "delivered").await;
    assert!(
        got.iter().all(|r| r.id == got[0].id),
        "one webhook-id: {got:?}"
    );
    for r in &got {
        verify(hook["secret"].as_str().unwrap(), r);
    }
    assert_eq!(delivery["message_id"], got[0].id.as_str());
    assert_eq!(delivery["attempts"], 3);
    let statuses: Vec<_> = delivery["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["response_status"].clone())
        .collect();
    assert_eq!(statuses, [json!(500), json!(500), json!(200)]);
    assert_eq!(
        delivery["attempt_log"][0]["error"],
        "The endpoint answered 500."
    );
    assert!(delivery["delivered_at"].is_string());
    assert!(delivery["next_attempt_at"].is_null());
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM webhook_deliveries").await,
        1
    );

    // An endpoint that never succeeds is given up after max_attempts (4 here).
    let (url, inbox) = receiver(&[503; 10]).await;
    let hook = create_hook(&app, &url, json!(["ticket.created"])).await;
    app.ticket(&token, "Down", json!({})).await;
    let failed = wait_for_status(&app, hook["id"].as_i64().unwrap(), "failed").await;
    assert_eq!(failed["attempts"], 4);
    assert_eq!(failed["response_status"], 503);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(inbox.received.lock().unwrap().len(), 4);
}

async fn a_delivery_can_be_redelivered(app: TestApp) {
    let (url, inbox) = receiver(&[]).await;
    let hook = create_hook(&app, &url, json!(["*"])).await;
    let hook_id = hook["id"].as_i64().unwrap();
    let (_, token) = app.agent(&["agent"]).await;
    app.ticket(&token, "Again", json!({})).await;
    let first = wait_for(&inbox, 1).await;
    let delivery = wait_for_status(&app, hook_id, "delivered").await;

    let queued = app
        .post(
            &format!(
                "/admin/webhooks/{hook_id}/deliveries/{}/redeliver",
                delivery["id"]
            ),
            &app.admin_token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(queued.message(), "Redelivery queued.");
    assert_eq!(queued.data()["status"], "pending");
    let both = wait_for(&inbox, 2).await;
    assert_eq!(both[1].id, first[0].id, "the same webhook-id");
    assert_eq!(both[1].body, first[0].body, "the same event");
    verify(hook["secret"].as_str().unwrap(), &both[1]);
    let again = wait_for_status(&app, hook_id, "delivered").await;
    assert_eq!(again["attempts"], 2);
    assert_eq!(again["attempt_log"].as_array().unwrap().len(), 2);
}
