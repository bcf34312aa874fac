//! Metrics for `GET /metrics`, in the Prometheus text format (contract §9.4).
//!
//! One process-wide registry: what is counted (requests, deliveries, job and script runs,
//! plugin calls, refusals) happens in many modules, each of which records it with one call to a
//! function here. Gauges that describe the present (the database pool, the outbox lag) are read
//! when the metrics are scraped, by [`render`]. Every label takes values from a small fixed set
//! (route templates, never raw paths), so no client can grow the number of series.

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    outbox_lag_events: IntGaugeVec,
    outbox_lag_seconds: IntGaugeVec,
    search_index_tickets: IntGaugeVec,
    webhook_deliveries: IntCounterVec,
    job_runs: IntCounterVec,
    script_runs: IntCounterVec,
    plugin_calls: IntCounterVec,
    rate_limited: IntCounterVec,
    conflict_retries: IntCounterVec,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let metrics = build();
    // Series with known labels start at zero, so they exist before their first event.
    for result in ["delivered", "retry", "failed", "skipped"] {
        metrics.webhook_deliveries.with_label_values(&[result]);
    }
    for result in ["ok", "failed", "timeout"] {
        metrics.script_runs.with_label_values(&[result]);
    }
    for bucket in ["token", "ip"] {
        metrics.rate_limited.with_label_values(&[bucket]);
    }
    for result in ["retried", "gave_up"] {
        metrics.conflict_retries.with_label_values(&[result]);
    }
    metrics
});

fn build() -> Metrics {
    let registry =
        Registry::new_custom(Some("escalated".into()), None).expect("a valid metrics prefix");
    let counter = |name: &str, help: &str, labels: &[&str]| {
        let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
        registry
            .register(Box::new(metric.clone()))
            .expect("registered once");
        metric
    };
    let gauge = |name: &str, help: &str, labels: &[&str]| {
        let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge");
        registry
            .register(Box::new(metric.clone()))
            .expect("registered once");
        metric
    };
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "http_request_duration_seconds",
            "Time to answer a request, by route template and method.",
        )
        .buckets(vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]),
        &["route", "method"],
    )
    .expect("valid histogram");
    registry
        .register(Box::new(latency.clone()))
        .expect("registered once");
    Metrics {
        requests: counter(
            "http_requests_total",
            "Requests answered, by route template, method and status.",
            &["route", "method", "status"],
        ),
        latency,
        pool: gauge(
            "db_pool_connections",
            "Database pool connections: in use, idle, and the configured maximum.",
            &["state"],
        ),
        outbox_lag_events: gauge(
            "outbox_lag_events",
            "Events in the outbox that a consumer (webhooks, email) has not taken yet.",
            &["consumer"],
        ),
        outbox_lag_seconds: gauge(
            "outbox_lag_seconds",
            "Age of the oldest event a consumer has not taken yet (0 when none waits).",
            &["consumer"],
        ),
        search_index_tickets: gauge(
            "search_index_tickets",
            "Tickets the search index in memory holds (deleted ones too); -1 while it is being built or when tickets.search_index is off.",
            &[],
        ),
        webhook_deliveries: counter(
            "webhook_deliveries_total",
            "Webhook delivery attempts by result: delivered, retry (will be tried again), failed (gave up), skipped (inactive webhook).",
            &["result"],
        ),
        conflict_retries: counter(
            "conflict_retries_total",
            "Write requests run again after a deadlock or a lost Galera certification (retried), or answered 503 after the last attempt (gave_up).",
            &["result"],
        ),
        job_runs: counter(
            "job_runs_total",
            "Scheduled job runs by job and result (ok, error).",
            &["job", "result"],
        ),
        script_runs: counter(
            "script_runs_total",
            "Script runs (macros, actions, automations) by result: ok, failed, timeout.",
            &["result"],
        ),
        plugin_calls: counter(
            "plugin_calls_total",
            "Calls into plugins by plugin, kind (request, event) and result: ok, failed, panicked, timeout.",
            &["plugin", "kind", "result"],
        ),
        rate_limited: counter(
            "rate_limited_total",
            "Requests refused with 429, by the bucket that was empty (token, ip).",
            &["bucket"],
        ),
        registry,
    }
}

/// A request answered: `route` is its template (see `server::routes`), `method` one of the
/// standard methods or `other`.
pub fn request(route: &str, method: &str, status: u16, seconds: f64) {
    let m = &*METRICS;
    m.requests
        .with_label_values(&[route, method, &status.to_string()])
        .inc();
    m.latency
        .with_label_values(&[route, method])
        .observe(seconds);
}

/// How a webhook delivery attempt ended.
#[derive(Debug, Clone, Copy)]
pub enum Delivery {
    Delivered,
    Retry,
    Failed,
    Skipped,
}

pub fn webhook_delivery(result: Delivery) {
    let label = match result {
        Delivery::Delivered => "delivered",
        Delivery::Retry => "retry",
        Delivery::Failed => "failed",
        Delivery::Skipped => "skipped",
    };
    METRICS.webhook_deliveries.with_label_values(&[label]).inc();
}

/// A scheduled job ran (under its lease).
/// A write request met a conflict: run again (`gave_up` false) or answered 503.
pub fn conflict_retry(gave_up: bool) {
    METRICS
        .conflict_retries
        .with_label_values(&[if gave_up { "gave_up" } else { "retried" }])
        .inc();
}

pub fn job_run(job: &str, ok: bool) {
    METRICS
        .job_runs
        .with_label_values(&[job, if ok { "ok" } else { "error" }])
        .inc();
}

/// How a script run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptRun {
    Ok,
    Failed,
    Timeout,
}

pub fn script_run(result: ScriptRun) {
    let label = match result {
        ScriptRun::Ok => "ok",
        ScriptRun::Failed => "failed",
        ScriptRun::Timeout => "timeout",
    };
    METRICS.script_runs.with_label_values(&[label]).inc();
}

/// What a plugin was called for.
#[derive(Debug, Clone, Copy)]
pub enum PluginCall {
    Request,
    Event,
}

/// A call into plugin `slug` ended; `result` is `ok`, `failed`, `panicked` or `timeout`
/// (`plugins::ffi::outcome`).
pub fn plugin_call(slug: &str, kind: PluginCall, result: &'static str) {
    let kind = match kind {
        PluginCall::Request => "request",
        PluginCall::Event => "event",
    };
    METRICS
        .plugin_calls
        .with_label_values(&[slug, kind, result])
        .inc();
}

/// Which bucket refused a request with 429.
#[derive(Debug, Clone, Copy)]
pub enum Bucket {
    Token,
    Ip,
}

pub fn rate_limited(bucket: Bucket) {
    let label = match bucket {
        Bucket::Token => "token",
        Bucket::Ip => "ip",
    };
    METRICS.rate_limited.with_label_values(&[label]).inc();
}

/// The present state read at scrape time.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub pool_in_use: i64,
    pub pool_idle: i64,
    pub pool_max: i64,
    /// Per consumer: events not taken yet, and the age of the oldest of them in seconds.
    pub outbox: Vec<(&'static str, i64, i64)>,
    /// Tickets the search index holds; `None` while it is not built.
    pub search_index_tickets: Option<u64>,
}

/// Every metric in the Prometheus text format, with `snapshot`'s gauges set first.
pub fn render(snapshot: &Snapshot) -> String {
    let m = &*METRICS;
    m.pool
        .with_label_values(&["in_use"])
        .set(snapshot.pool_in_use);
    m.pool.with_label_values(&["idle"]).set(snapshot.pool_idle);
    m.pool.with_label_values(&["max"]).set(snapshot.pool_max);
    for (consumer, events, seconds) in &snapshot.outbox {
        m.outbox_lag_events
            .with_label_values(&[*consumer])
            .set(*events);
        m.outbox_lag_seconds
            .with_label_values(&[*consumer])
            .set(*seconds);
    }
    m.search_index_tickets.with_label_values::<&str>(&[]).set(
        snapshot
            .search_index_tickets
            .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
    );
    let mut text = Vec::new();
    TextEncoder::new()
        .encode(&m.registry.gather(), &mut text)
        .expect("the text encoder writes to memory");
    String::from_utf8(text).expect("the text format is UTF-8")
}
