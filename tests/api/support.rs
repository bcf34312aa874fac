//! The test harness: each test gets its own server on a random port with a fresh database, and
//! talks to it over HTTP like any client.
//!
//! SQLite tests use a fresh file in a temporary folder. MySQL tests create a database of their
//! own on `ESCALATED_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`) and drop it after;
//! when MySQL is unreachable they are skipped with a note, unless `ESCALATED_TEST_REQUIRE_MYSQL=1`
//! (as in CI), which makes them fail instead.

#![allow(dead_code)] // helpers serve many test modules; not each uses every one

use std::{path::PathBuf, time::Duration};

use escalated::{config::Config, server, time::Clock};
use reqwest::{Method, header::HeaderMap};
use serde_json::{Value, json};

use crate::conformance;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
}

pub fn mysql_server_url() -> String {
    std::env::var("ESCALATED_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

fn mysql_required() -> bool {
    std::env::var("ESCALATED_TEST_REQUIRE_MYSQL").is_ok_and(|v| v == "1" || v == "true")
}

/// Where a test's database lives, removed when the test ends.
pub enum Scratch {
    Sqlite(PathBuf),
    MySql { server: String, name: String },
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match self {
            Scratch::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Scratch::MySql { server, name } => {
                let (server, name) = (server.clone(), name.clone());
                // Drop runs inside the test's runtime; a thread of its own may block.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        use sqlx::Connection;
                        if let Ok(mut conn) = sqlx::MySqlConnection::connect(&server).await {
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS `{name}`"
                            )))
                            .execute(&mut conn)
                            .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A fresh database URL for `backend`, or `None` when MySQL is unreachable and not required.
pub async fn fresh_database(backend: Backend) -> Option<(String, Scratch)> {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("escalated-test-{unique}"));
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}/test.db", dir.display());
            Some((url, Scratch::Sqlite(dir)))
        }
        Backend::MySql => {
            let server = mysql_server_url();
            use sqlx::Connection;
            let reachable = tokio::time::timeout(
                Duration::from_secs(5),
                sqlx::MySqlConnection::connect(&server),
            )
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false);
            if !reachable {
                if mysql_required() {
                    panic!(
                        "MySQL is required (ESCALATED_TEST_REQUIRE_MYSQL=1) but {server} is unreachable"
                    );
                }
                eprintln!(
                    "note: MySQL at {server} is unreachable; skipping the MySQL variant of this test"
                );
                return None;
            }
            let name = format!("escalated_test_{}", &unique[..16]);
            let url = format!("{}/{name}", server.trim_end_matches('/'));
            Some((url, Scratch::MySql { server, name }))
        }
    }
}

/// The moment a demo server's clock shows: 2026-11-28T10:15:00Z.
pub const DEMO_NOW: escalated::time::Timestamp = 1_795_860_900;

pub struct TestApp {
    pub backend: Backend,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    /// `http://127.0.0.1:PORT/support/api/v1`
    pub base: String,
    pub client: reqwest::Client,
    /// The bootstrap admin's token (`*` abilities).
    pub admin_token: String,
    pub database_url: String,
    /// The configuration the server started with.
    pub config: Config,
    /// The time the server's rules read: it follows the system clock until the test stops,
    /// sets or advances it (`app.clock.set(at)`), which is how a test says what time it is.
    pub clock: Clock,
    /// The system time when the server started.
    pub started_at: escalated::time::Timestamp,
    running: Option<server::Running>,
    _scratch: Scratch,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    /// The 422 message for `field`.
    pub fn field_error(&self, field: &str) -> Option<&str> {
        self.body["errors"][field].as_str()
    }

    /// A header that must be present and a whole number.
    #[track_caller]
    pub fn number(&self, name: &str) -> u64 {
        let value = self
            .header(name)
            .unwrap_or_else(|| panic!("no {name} header (status {})", self.status));
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number: {value}"))
    }

    /// Asserts a 422 that names exactly `field` (among possibly others) and returns its message.
    #[track_caller]
    pub fn expect_invalid(self, field: &str) -> String {
        let reply = self.expect(422);
        assert_eq!(
            reply.message(),
            "Validation failed.",
            "body: {}",
            reply.body
        );
        reply
            .field_error(field)
            .unwrap_or_else(|| panic!("no error on `{field}`; body: {}", reply.body))
            .to_string()
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server whose config `adjust` may change first.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        Self::spawn_on(backend, Clock::system(), adjust).await
    }

    /// A server on what `escalated seed --demo` makes (the first admin, then the demo data and
    /// its attachment, in one transaction, with the seed's default size), its clock stopped at
    /// `DEMO_NOW` from the start, so what it answers is the same on every run.
    pub async fn spawn_demo(backend: Backend) -> Option<TestApp> {
        let clock = Clock::system();
        clock.set(DEMO_NOW);
        // The webhook example's host (example.com) is public, but this machine may resolve no
        // names: private targets are allowed, which skips the lookup.
        let app = Self::spawn_on(backend, clock, |config| {
            config.webhooks.allow_private = true
        })
        .await?;
        let store = app.store().await;
        let scripts = escalated::scripting::Scripts::new(&app.config.scripts);
        let rules = escalated::app::ticket_rules(&app.config).unwrap();
        let blobs = escalated::blobs::Blobs::open(&app.config.attachments).unwrap();
        store
            .in_one_transaction(async |store| {
                escalated::seed::demo(
                    store,
                    &scripts,
                    (&rules, &app.clock),
                    escalated::seed::DEMO_TICKETS,
                    &app.config.tickets.reference_prefix,
                )
                .await?;
                escalated::seed::demo_attachment(
                    store,
                    &blobs,
                    &app.config.attachments,
                    (&rules, &app.clock),
                )
                .await
            })
            .await
            .expect("the demo seed");
        store.close().await;
        Some(app)
    }

    async fn spawn_on(
        backend: Backend,
        clock: Clock,
        adjust: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        let (database_url, scratch) = fresh_database(backend).await?;
        let mut config = Config::default();
        config.server.bind = "127.0.0.1:0".parse().unwrap();
        config.database.url = database_url.clone();
        config.database.max_connections = 5;
        // Totals stay exact whatever the machine's load: a count slowed down by a busy CI
        // machine must not make the next list serve a remembered total
        // (`ticket_list::a_slow_total_is_served_while_it_is_counted_again` tests the lag).
        config.database.slow_count_ms = 3_600_000;
        config.api.rate_limit = 10_000;
        config.api.unauthenticated_rate_limit = 10_000;
        // Tests run jobs themselves, at the moments they choose.
        config.jobs.check_sla_seconds = 0;
        config.jobs.close_resolved_seconds = 0;
        config.jobs.purge_activities_seconds = 0;
        config.jobs.purge_attachments_seconds = 0;
        // Files go to a folder of this test's own (content addressing would otherwise let
        // tests see each other's files).
        config.attachments.store = format!(
            "file://{}",
            std::env::temp_dir()
                .join(format!("escalated-files-{}", uuid::Uuid::new_v4().simple()))
                .display()
        );
        config.jobs.run_automations_seconds = 0;
        config.jobs.purge_idempotency_keys_seconds = 0;
        config.jobs.roll_up_reports_seconds = 0;
        adjust(&mut config);
        config.validate().expect("test config is valid");
        let prefix = config.api.prefix.clone();
        let started_at = escalated::time::now();
        let running = server::start(config.clone(), clock.clone(), std::future::pending())
            .await
            .expect("server starts");
        let origin = format!("http://{}", running.addr);
        Some(TestApp {
            backend,
            base: format!("{origin}{prefix}"),
            origin,
            client: reqwest::Client::new(),
            admin_token: running
                .bootstrap_token
                .clone()
                .expect("a fresh database bootstraps an admin"),
            database_url,
            config,
            clock,
            started_at,
            running: Some(running),
            _scratch: scratch,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Any request; `token` may be `None`; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method.clone(), self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.read(&method, req.send().await.expect("request sent"))
            .await
    }

    /// A request with a raw body and headers of the caller's choosing.
    pub async fn raw(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let mut req = self
            .client
            .request(method.clone(), url)
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.read(&method, req.send().await.expect("request sent"))
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Posts until the answer is not 503, as a client retries. Many concurrent writes on a busy
    /// machine can wait for one of the test server's 5 pooled connections longer than
    /// `database.acquire_timeout_ms`; such a request is refused before it writes anything
    /// (contract §9.1), which the callers check by counting what was written.
    pub async fn post_until_served(&self, path: &str, token: &str, body: Value) -> Reply {
        loop {
            let reply = self.post(path, token, body.clone()).await;
            if reply.status != 503 {
                return reply;
            }
        }
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Creates a user through the admin CLI path (the domain), returning its id.
    pub async fn user(&self, name: &str, email: &str, role: &str) -> i64 {
        let store = self.store().await;
        escalated::domain::users::create(
            &store,
            escalated::domain::users::NewUser {
                name: name.into(),
                email: email.into(),
                role: role.into(),
                is_active: Some(true),
            },
        )
        .await
        .expect("user created")
        .id
    }

    /// A token for `user_id` with `abilities`, made through the admin API.
    pub async fn token_with(&self, user_id: i64, abilities: &[&str], extra: Value) -> String {
        self.created_token(user_id, abilities, extra).await.1
    }

    /// Like [`TestApp::token_with`], returning the whole created token (`data`) as well.
    pub async fn created_token(
        &self,
        user_id: i64,
        abilities: &[&str],
        extra: Value,
    ) -> (Value, String) {
        let mut body = json!({ "name": "test", "user_id": user_id, "abilities": abilities });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let reply = self
            .post("/admin/api-tokens/create", &self.admin_token.clone(), body)
            .await
            .expect(201);
        let plain = reply.data()["plain_text_token"]
            .as_str()
            .unwrap()
            .to_string();
        (reply.data().clone(), plain)
    }

    /// The token `id` as `GET /admin/api-tokens` lists it.
    pub async fn listed_token(&self, id: i64) -> Value {
        let reply = self
            .get("/admin/api-tokens?per_page=100", &self.admin_token.clone())
            .await
            .expect(200);
        reply
            .data()
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub async fn token(&self, user_id: i64, abilities: &[&str]) -> String {
        self.token_with(user_id, abilities, json!({})).await
    }

    /// A new agent and a token for them with `abilities`; returns `(user_id, token)`.
    pub async fn agent(&self, abilities: &[&str]) -> (i64, String) {
        let n = uuid::Uuid::new_v4().simple().to_string();
        let id = self
            .user(
                &format!("Agent {}", &n[..6]),
                &format!("agent-{}@example.com", &n[..12]),
                "agent",
            )
            .await;
        (id, self.token(id, abilities).await)
    }

    /// A second connection to the same database, for checks the API cannot show.
    pub async fn store(&self) -> escalated::store::Store {
        let config = escalated::config::DatabaseConfig {
            url: self.database_url.clone(),
            max_connections: 2,
            ..Default::default()
        };
        escalated::store::Store::connect(&config)
            .await
            .expect("store connects")
    }

    /// The running server, e.g. to dispatch events to its plugins.
    pub fn server(&self) -> &server::Running {
        self.running.as_ref().expect("the server is running")
    }

    /// Waits until the server's search index is built (it builds in the background at start).
    pub async fn search_index_built(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !self.server().store.word_index().is_built() {
            assert!(
                std::time::Instant::now() < deadline,
                "the search index was never built"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("server stops cleanly");
        }
    }
}

impl TestApp {
    /// Reads an answer whole, checking it against the OpenAPI document (`conformance`) and
    /// an error's `code` against its status.
    async fn read(&self, method: &Method, resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let prefix = self.base.strip_prefix(&self.origin).unwrap_or_default();
        let path = resp
            .url()
            .path()
            .strip_prefix(prefix)
            .filter(|_| resp.url().as_str().starts_with(&self.origin))
            .map(str::to_string);
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status >= 400 {
            check_error_code(status, &body);
        }
        if let Some(path) = path {
            conformance::check(method, &path, status, &headers, &body);
        }
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// Every error answer of every test carries the contract's `code` for its status (§9.1), so a
/// failure made anywhere (guard, endpoint, framework, plugin) without it fails the test that saw it.
#[track_caller]
fn check_error_code(status: u16, body: &Value) {
    let Some(code) = body.get("code").and_then(Value::as_str) else {
        panic!("a {status} answer without a `code`: {body}");
    };
    let expected: &[&str] = match status {
        400 => &["invalid_json"],
        401 => match body["message"].as_str().or(body["detail"].as_str()) {
            Some("Unauthenticated.") => &["unauthenticated"],
            Some("Token has expired.") => &["token_expired"],
            _ => &["invalid_token"],
        },
        403 => &["forbidden"],
        404 => &["not_found"],
        405 => &["method_not_allowed"],
        409 => &["conflict"],
        412 => &["precondition_failed"],
        413 | 414 | 431 => &["payload_too_large"],
        415 => &["unsupported_media_type"],
        422 => &["validation_failed"],
        429 => &["rate_limited"],
        500 => &["server_error"],
        503 => &["service_unavailable"],
        _ => return,
    };
    assert!(
        expected.contains(&code),
        "a {status} answer with code {code:?}, expected one of {expected:?}: {body}"
    );
}

/// Runs each named `async fn(TestApp)` once on SQLite and once on MySQL:
/// `both_databases!(rule_one, rule_two);` gives tests `rule_one::sqlite`, `rule_one::mysql`, ...
///
/// With a leading `config = |c| ...;` the servers start with that change to the test config:
/// `both_databases!(config = |c| c.api.unauthenticated_rate_limit = 3; rule_three);`
#[macro_export]
macro_rules! both_databases {
    (spawn = $spawn:expr; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = ($spawn)($crate::support::Backend::Sqlite).await.unwrap();
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    if let Some(app) = ($spawn)($crate::support::Backend::MySql).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
    (config = $adjust:expr; $($name:ident),* $(,)?) => {
        $crate::both_databases!(
            spawn = |backend| $crate::support::TestApp::spawn_with(backend, $adjust);
            $($name),*
        );
    };
    // On what `escalated seed --demo` makes (`TestApp::spawn_demo`).
    (demo; $($name:ident),* $(,)?) => {
        $crate::both_databases!(spawn = $crate::support::TestApp::spawn_demo; $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::both_databases!(config = |_| {}; $($name),*);
    };
}

/// Records the SQL statements each request runs, by request id, from sqlx's own query log
/// (the SQLite worker and the MySQL driver both log inside the request's span).
///
/// Opening a connection is left out: when the pool has no idle connection (one is still being
/// handed back, or a background task such as a checkpoint or a recount holds it), the request
/// opens one, and its session setup (`PRAGMA ...` on SQLite, `SET ...` on MySQL) runs inside the
/// request's span. That depends on timing, not on what the request asks of the database.
pub mod queries {
    use std::{
        collections::HashMap,
        sync::{LazyLock, Mutex, Once},
    };

    use tracing::{Event, Subscriber, field::Visit, span};
    use tracing_subscriber::{
        Layer,
        filter::{LevelFilter, Targets},
        layer::{Context, SubscriberExt},
        registry::LookupSpan,
        util::SubscriberInitExt,
    };

    static STATEMENTS: LazyLock<Mutex<HashMap<String, Vec<String>>>> =
        LazyLock::new(Default::default);
    static INSTALL: Once = Once::new();

    struct RequestId(String);

    struct IdVisitor(Option<String>);

    impl Visit for IdVisitor {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            if field.name() == "id" {
                self.0 = Some(format!("{value:?}"));
            }
        }
    }

    /// The statement of a `sqlx::query` event: `db.statement` (the whole SQL, when it is
    /// longer than the summary), else `summary`.
    #[derive(Default)]
    struct SqlVisitor {
        summary: String,
        statement: String,
    }

    impl Visit for SqlVisitor {
        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            match field.name() {
                "summary" => self.summary = value.to_string(),
                "db.statement" => self.statement = value.trim().to_string(),
                _ => {}
            }
        }

        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            if matches!(field.name(), "summary" | "db.statement") {
                self.record_str(field, format!("{value:?}").trim_matches('"'));
            }
        }
    }

    /// Session setup run by a connection being opened (see the module comment).
    fn is_connection_setup(sql: &str) -> bool {
        let word = sql.split_whitespace().next().unwrap_or_default();
        word.eq_ignore_ascii_case("PRAGMA") || word.eq_ignore_ascii_case("SET")
    }

    struct Recorder;

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
        fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
            if attrs.metadata().name() == "request" {
                let mut visitor = IdVisitor(None);
                attrs.record(&mut visitor);
                if let (Some(request), Some(span)) = (visitor.0, ctx.span(id)) {
                    span.extensions_mut().insert(RequestId(request));
                }
            }
        }

        fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
            if event.metadata().target() != "sqlx::query" {
                return;
            }
            let Some(scope) = ctx.event_scope(event) else {
                return;
            };
            let mut sql = SqlVisitor::default();
            event.record(&mut sql);
            let sql = if sql.statement.is_empty() {
                sql.summary
            } else {
                sql.statement
            };
            if is_connection_setup(&sql) {
                return;
            }
            for span in scope {
                if let Some(RequestId(id)) = span.extensions().get::<RequestId>() {
                    STATEMENTS
                        .lock()
                        .unwrap()
                        .entry(id.clone())
                        .or_default()
                        .push(sql);
                    return;
                }
            }
        }
    }

    pub fn install() {
        INSTALL.call_once(|| {
            let filter = Targets::new()
                .with_target("sqlx::query", LevelFilter::DEBUG)
                .with_target("escalated", LevelFilter::INFO);
            let _ = tracing_subscriber::registry()
                .with(Recorder.with_filter(filter))
                .try_init();
        });
    }

    /// The statements the request `request_id` ran, in order.
    pub fn of(request_id: &str) -> Vec<String> {
        STATEMENTS
            .lock()
            .unwrap()
            .get(request_id)
            .cloned()
            .unwrap_or_default()
    }
}

impl TestApp {
    /// A GET that also reports the SQL statements the server ran for it (see [`queries`]).
    pub async fn get_recording_queries(&self, path: &str, token: &str) -> (Reply, Vec<String>) {
        let auth = format!("Bearer {token}");
        self.raw_recording_queries(Method::GET, path, token, &[("authorization", &auth)], "")
            .await
    }

    /// [`TestApp::raw`] on `path`, with the statements the request ran (after renewing
    /// `token`'s cache entry, so its lookup is not among them).
    pub async fn raw_recording_queries(
        &self,
        method: Method,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (Reply, Vec<String>) {
        queries::install();
        // The token's cache entry lives `auth.token_cache_seconds`: renew it first, so a slow
        // test does not count the token's lookup among the request's statements.
        self.post("/auth/validate", token, json!({}))
            .await
            .expect(200);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut headers = headers.to_vec();
        headers.push(("x-request-id", &id));
        let reply = self.raw(method, &self.url(path), &headers, body).await;
        (reply, queries::of(&id))
    }

    /// Creates a ticket through the API with `extra` fields merged in; returns its JSON.
    pub async fn ticket(&self, token: &str, subject: &str, extra: Value) -> Value {
        let mut body = json!({ "subject": subject, "description": format!("About {subject}") });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.post("/tickets/create", token, body)
            .await
            .expect(201)
            .body["data"]
            .clone()
    }
}

impl TestApp {
    /// Inserts a row straight into the database and returns its id (for fixtures the test
    /// is not about).
    async fn insert_row(&self, sql: &'static str, binds: &[&str]) -> i64 {
        let store = self.store().await;
        let mut tx = store.begin().await.unwrap();
        let id = escalated::store::insert_returning_id(&mut tx, sql, |mut query| {
            for value in binds {
                query = query.bind(value.to_string());
            }
            query
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        store.close().await;
        id
    }

    pub async fn tag(&self, name: &str) -> i64 {
        self.insert_row(
            "INSERT INTO tags (name, color, created_at, updated_at) VALUES (?, '#6B7280', 0, 0)",
            &[name],
        )
        .await
    }

    pub async fn department(&self, name: &str) -> i64 {
        self.insert_row(
            "INSERT INTO departments (name, is_active, created_at, updated_at) VALUES (?, 1, 0, 0)",
            &[name],
        )
        .await
    }

    /// Runs one statement against the test database (fixtures, or checks the API cannot show).
    pub async fn exec(&self, sql: &'static str) {
        let store = self.store().await;
        sqlx::query(sql).execute(store.pool()).await.unwrap();
        store.close().await;
    }

    pub async fn scalar(&self, sql: &'static str) -> i64 {
        let store = self.store().await;
        let value: i64 = sqlx::query_scalar(sql)
            .fetch_one(store.pool())
            .await
            .unwrap();
        store.close().await;
        value
    }
}
