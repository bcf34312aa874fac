//! The operator's side (contract §9.4): health and readiness probes, metrics in the Prometheus
//! text format, and CORS for the configured browser origins.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::json;

use crate::{
    both_databases,
    support::{Reply, TestApp},
};

both_databases!(
    probes_answer_at_the_root_without_a_token,
    metrics_need_a_token_with_the_admin_ability,
    metrics_count_requests_by_route_template_method_and_status,
    metrics_show_the_pool_the_outbox_and_the_other_families,
    metrics_count_job_and_script_runs,
    a_wrong_method_is_405_with_the_methods_of_its_route,
);

both_databases!(
    config = |c| c.metrics.public = true;
    public_metrics_need_no_token,
);

both_databases!(
    config = |c| c.api.unauthenticated_rate_limit = 2;
    refusals_by_the_rate_limit_are_counted,
);

both_databases!(
    config = |c| c.server.cors_origins = vec!["https://app.example.com".into()];
    a_listed_origin_gets_cors_headers_and_its_preflight_needs_no_token,
    an_unlisted_origin_gets_no_cors_headers_and_is_served_as_before,
);

both_databases!(
    without_cors_origins_no_cors_headers_are_sent,
    heads_the_server_cannot_take_are_answered_in_the_envelope,
    a_kept_alive_connection_serves_many_answers_unchanged,
);

const ORIGIN: &str = "https://app.example.com";

async fn root(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Reply {
    app.raw(method, &format!("{}{path}", app.origin), headers, "")
        .await
}

async fn probes_answer_at_the_root_without_a_token(app: TestApp) {
    let health = root(&app, Method::GET, "/healthz", &[]).await.expect(200);
    assert_eq!(health.body, json!({ "status": "ok" }));
    let ready = root(&app, Method::GET, "/readyz", &[]).await.expect(200);
    assert_eq!(ready.body, json!({ "status": "ok" }));
    assert_eq!(ready.header("cache-control"), Some("no-store"));
    // They are the root's, not the API's: under the prefix they are unknown paths.
    let under_prefix = app.raw(Method::GET, &app.url("/healthz"), &[], "").await;
    assert_eq!(under_prefix.status, 401, "{}", under_prefix.body);
}

async fn metrics_need_a_token_with_the_admin_ability(app: TestApp) {
    let none = root(&app, Method::GET, "/metrics", &[]).await.expect(401);
    assert_eq!(none.message(), "Unauthenticated.");
    let (_, reader) = app.agent(&["tickets:read", "tickets:write"]).await;
    let bearer = format!("Bearer {reader}");
    let agent = root(&app, Method::GET, "/metrics", &[("authorization", &bearer)]).await;
    assert_eq!(agent.status, 403, "{}", agent.body);
    let admin = scrape(&app).await;
    assert!(!admin.is_empty());
}

async fn public_metrics_need_no_token(app: TestApp) {
    let reply = root(&app, Method::GET, "/metrics", &[]).await.expect(200);
    let text = reply.body.as_str().expect("text, not JSON").to_string();
    assert!(parse(&text).contains_key("escalated_http_requests_total"));
}

async fn metrics_count_requests_by_route_template_method_and_status(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read"]).await;
    let route = format!("{}/tickets/:reference", app.config.api.prefix);
    let series = |status: &str| {
        vec![
            ("route", route.clone()),
            ("method", "GET".to_string()),
            ("status", status.to_string()),
        ]
    };
    let before = scrape(&app).await;
    let missing = (1..=3).map(|n| format!("/tickets/NOPE-{n:05}"));
    for path in missing {
        app.get(&path, &token).await.expect(404);
    }
    let after = scrape(&app).await;
    // Other tests share the process (and so the registry): the count moved by at least ours.
    let moved = value(&after, "escalated_http_requests_total", &series("404"))
        - value(&before, "escalated_http_requests_total", &series("404"));
    assert!(
        moved >= 3.0,
        "404 count moved by {moved}: {:?}",
        after.get("escalated_http_requests_total")
    );
    let latency = vec![("route", route.clone()), ("method", "GET".to_string())];
    let observed = value(
        &after,
        "escalated_http_request_duration_seconds_count",
        &latency,
    ) - value(
        &before,
        "escalated_http_request_duration_seconds_count",
        &latency,
    );
    assert!(observed >= 3.0, "latency observations moved by {observed}");
    // Templates, never raw paths: no label anywhere carries the references asked for.
    for (name, samples) in &after {
        for (labels, _) in samples {
            assert!(
                labels.values().all(|v| !v.contains("NOPE-")),
                "{name} has a raw path label: {labels:?}"
            );
        }
    }
    // A path no route knows is counted under one label whatever the path.
    app.get("/no/such/thing/42", &token).await.expect(404);
    let unmatched = vec![
        ("route", "unmatched".to_string()),
        ("method", "GET".to_string()),
        ("status", "404".to_string()),
    ];
    assert!(
        value(
            &scrape(&app).await,
            "escalated_http_requests_total",
            &unmatched
        ) >= 1.0
    );
}

async fn metrics_show_the_pool_the_outbox_and_the_other_families(app: TestApp) {
    let metrics = scrape(&app).await;
    let max = value(
        &metrics,
        "escalated_db_pool_connections",
        &[("state", "max".to_string())],
    );
    assert_eq!(max, f64::from(app.config.database.max_connections));
    for state in ["in_use", "idle"] {
        assert!(
            has(
                &metrics,
                "escalated_db_pool_connections",
                &[("state", state.to_string())]
            ),
            "pool {state}"
        );
    }
    for consumer in ["webhooks", "email"] {
        let labels = [("consumer", consumer.to_string())];
        assert!(has(&metrics, "escalated_outbox_lag_events", &labels));
        assert!(has(&metrics, "escalated_outbox_lag_seconds", &labels));
    }
    // Counters whose labels are known start at zero, so a dashboard sees them at once.
    for (family, label, values) in [
        (
            "escalated_webhook_deliveries_total",
            "result",
            &["delivered", "retry", "failed", "skipped"][..],
        ),
        (
            "escalated_script_runs_total",
            "result",
            &["ok", "failed", "timeout"][..],
        ),
        (
            "escalated_rate_limited_total",
            "bucket",
            &["token", "ip"][..],
        ),
        (
            "escalated_conflict_retries_total",
            "result",
            &["retried", "gave_up"][..],
        ),
    ] {
        for v in values {
            assert!(
                has(&metrics, family, &[(label, v.to_string())]),
                "no {family}{{{label}={v}}}"
            );
        }
    }
    // How many tickets the search index holds, once built, as of its last look at the changes.
    let (_, token) = app.agent(&["agent"]).await;
    app.ticket(&token, "Printer jam", json!({})).await;
    app.search_index_built().await;
    app.get("/tickets?search=printer", &token).await.expect(200);
    let held = value(&scrape(&app).await, "escalated_search_index_tickets", &[]);
    assert_eq!(held, 1.0);
}

async fn metrics_count_job_and_script_runs(app: TestApp) {
    let job = [
        ("job", "check-sla".to_string()),
        ("result", "ok".to_string()),
    ];
    let (ok, failed) = (
        [("result", "ok".to_string())],
        [("result", "failed".to_string())],
    );
    let before = scrape(&app).await;
    escalated::jobs::run(
        escalated::jobs::Job::CheckSla,
        &app.store().await,
        &app.config,
        app.clock.now(),
    )
    .await
    .expect("the job runs");
    let (_, token) = app.agent(&["agent"]).await;
    let ticket = app.ticket(&token, "Scripted", json!({})).await;
    let path = format!("/tickets/{}/macro", ticket["reference"].as_str().unwrap());
    for (script, status) in [("let quiet = 1;", 200), ("throw \"no\";", 422)] {
        let id = app
            .post(
                "/admin/macros/create",
                &app.admin_token,
                json!({"name": format!("Script {status}"), "script": script}),
            )
            .await
            .expect(201)
            .data()["id"]
            .clone();
        app.post(&path, &token, json!({"macro_id": id}))
            .await
            .expect(status);
    }
    let after = scrape(&app).await;
    let moved = |name: &str, labels: &[(&str, String)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert!(moved("escalated_job_runs_total", &job) >= 1.0);
    assert!(moved("escalated_script_runs_total", &ok) >= 1.0);
    assert!(moved("escalated_script_runs_total", &failed) >= 1.0);
}

async fn refusals_by_the_rate_limit_are_counted(app: TestApp) {
    let ip = [("bucket", "ip".to_string())];
    let before = value(&scrape(&app).await, "escalated_rate_limited_total", &ip);
    let mut refused = 0;
    for _ in 0..4 {
        let reply = app.raw(Method::GET, &app.url("/tickets"), &[], "").await;
        if reply.status == 429 {
            refused += 1;
        }
    }
    assert_eq!(refused, 2, "two over a limit of two");
    let after = value(&scrape(&app).await, "escalated_rate_limited_total", &ip);
    assert!(after - before >= 2.0, "moved by {}", after - before);
}

async fn a_wrong_method_is_405_with_the_methods_of_its_route(app: TestApp) {
    let (_, token) = app.agent(&["tickets:read", "tickets:write"]).await;
    let reply = app
        .call(
            Method::PUT,
            "/tickets/ESC-00001",
            Some(&token),
            Some(json!({})),
        )
        .await
        .expect(405);
    assert_eq!(reply.message(), "Method not allowed.");
    assert_eq!(reply.body["code"], "method_not_allowed");
    let allow = reply.header("allow").expect("an Allow header").to_string();
    let mut methods: Vec<&str> = allow.split(", ").collect();
    methods.sort();
    assert_eq!(methods, ["DELETE", "GET", "HEAD"], "Allow: {allow}");
}

async fn a_listed_origin_gets_cors_headers_and_its_preflight_needs_no_token(app: TestApp) {
    let preflight = app
        .raw(
            Method::OPTIONS,
            &app.url("/tickets"),
            &[
                ("origin", ORIGIN),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization, content-type",
                ),
            ],
            "",
        )
        .await;
    assert!(
        preflight.status == 200 || preflight.status == 204,
        "preflight answered {}: {}",
        preflight.status,
        preflight.body
    );
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(ORIGIN)
    );
    let allowed_headers = preflight
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        allowed_headers.contains("authorization"),
        "{allowed_headers}"
    );
    assert!(preflight.header("access-control-max-age").is_some());

    let (_, token) = app.agent(&["tickets:read"]).await;
    let bearer = format!("Bearer {token}");
    let list = app
        .raw(
            Method::GET,
            &app.url("/tickets"),
            &[("origin", ORIGIN), ("authorization", &bearer)],
            "",
        )
        .await
        .expect(200);
    assert_eq!(list.header("access-control-allow-origin"), Some(ORIGIN));
    let exposed = list
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-ratelimit-remaining"), "{exposed}");
    // A refusal reaches the browser's script too, so it can tell the user why.
    let refused = app
        .raw(Method::GET, &app.url("/tickets"), &[("origin", ORIGIN)], "")
        .await
        .expect(401);
    assert_eq!(refused.header("access-control-allow-origin"), Some(ORIGIN));
}

async fn an_unlisted_origin_gets_no_cors_headers_and_is_served_as_before(app: TestApp) {
    let stranger = "https://evil.example.net";
    let preflight = app
        .raw(
            Method::OPTIONS,
            &app.url("/tickets"),
            &[
                ("origin", stranger),
                ("access-control-request-method", "GET"),
            ],
            "",
        )
        .await;
    assert_eq!(preflight.status, 401, "{}", preflight.body);
    assert!(preflight.header("access-control-allow-origin").is_none());
    let (_, token) = app.agent(&["tickets:read"]).await;
    let bearer = format!("Bearer {token}");
    let list = app
        .raw(
            Method::GET,
            &app.url("/tickets"),
            &[("origin", stranger), ("authorization", &bearer)],
            "",
        )
        .await
        .expect(200);
    assert!(list.header("access-control-allow-origin").is_none());
}

async fn without_cors_origins_no_cors_headers_are_sent(app: TestApp) {
    let preflight = app
        .raw(
            Method::OPTIONS,
            &app.url("/tickets"),
            &[("origin", ORIGIN), ("access-control-request-method", "GET")],
            "",
        )
        .await;
    assert_eq!(preflight.status, 401, "{}", preflight.body);
    assert!(preflight.header("access-control-allow-origin").is_none());
}

/// Sends `request` on a new connection; everything the server sent before closing.
async fn exchange(app: &TestApp, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.origin.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut received),
    )
    .await
    .expect("the server answers and closes")
    .expect("reads");
    String::from_utf8_lossy(&received).into_owned()
}

/// The status and the JSON body of a raw answer.
fn status_and_body(answer: &str) -> (u16, serde_json::Value) {
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"));
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (status, serde_json::from_str(body).expect("a JSON body"))
}

async fn heads_the_server_cannot_take_are_answered_in_the_envelope(app: TestApp) {
    let malformed = exchange(&app, b"NOT AN HTTP REQUEST\r\n\r\n").await;
    let (status, body) = status_and_body(&malformed);
    assert_eq!(status, 400, "{malformed}");
    assert_eq!(body["message"], "Malformed request.");
    assert_eq!(body["code"], "invalid_json");

    let long_uri = format!(
        "GET /healthz?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let answer = exchange(&app, long_uri.as_bytes()).await;
    let (status, body) = status_and_body(&answer);
    assert_eq!(status, 414, "{}", &answer[..answer.len().min(200)]);
    assert_eq!(body["message"], "URI too long.");
    assert_eq!(body["code"], "payload_too_large");

    let many_headers: String = (0..150).map(|n| format!("X-Header-{n}: {n}\r\n")).collect();
    let crowded = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n");
    let answer = exchange(&app, crowded.as_bytes()).await;
    let (status, body) = status_and_body(&answer);
    assert_eq!(status, 431, "{answer}");
    assert_eq!(body["message"], "Request headers too large.");
    assert_eq!(body["code"], "payload_too_large");
}

/// Several requests on one connection, the last one closing it: each answer arrives whole and
/// as the endpoint made it (nothing of it is taken for the server's own error answers).
async fn a_kept_alive_connection_serves_many_answers_unchanged(app: TestApp) {
    let mut requests = String::new();
    for _ in 0..3 {
        requests.push_str("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        requests.push_str("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    requests.push_str("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let answers = exchange(&app, requests.as_bytes()).await;
    assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 4, "{answers}");
    assert_eq!(
        answers.matches("HTTP/1.1 404 Not Found").count(),
        3,
        "{answers}"
    );
    assert_eq!(
        answers.matches("{\"status\":\"ok\"}").count(),
        4,
        "{answers}"
    );
    assert!(!answers.contains("Malformed request."), "{answers}");
}

/// Metric name → its samples, each a label set and a value.
type Metrics = HashMap<String, Vec<(HashMap<String, String>, f64)>>;

/// `GET /metrics` with the admin token, parsed as Prometheus parses it.
async fn scrape(app: &TestApp) -> Metrics {
    let bearer = format!("Bearer {}", app.admin_token);
    let reply = root(app, Method::GET, "/metrics", &[("authorization", &bearer)])
        .await
        .expect(200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        reply.header("content-type")
    );
    parse(reply.body.as_str().expect("text, not JSON"))
}

fn parse(text: &str) -> Metrics {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    let mut metrics = Metrics::new();
    for sample in scrape.samples {
        let value = match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            // Histograms come as their _count and _sum samples too.
            _ => continue,
        };
        metrics.entry(sample.metric).or_default().push((
            sample
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            value,
        ));
    }
    metrics
}

/// The sample of `name` whose labels include `labels`, 0 when there is none.
fn value(metrics: &Metrics, name: &str, labels: &[(&str, String)]) -> f64 {
    find(metrics, name, labels).unwrap_or(0.0)
}

fn has(metrics: &Metrics, name: &str, labels: &[(&str, String)]) -> bool {
    find(metrics, name, labels).is_some()
}

fn find(metrics: &Metrics, name: &str, labels: &[(&str, String)]) -> Option<f64> {
    metrics.get(name)?.iter().find_map(|(have, value)| {
        labels
            .iter()
            .all(|(k, v)| have.get(*k) == Some(v))
            .then_some(*value)
    })
}
