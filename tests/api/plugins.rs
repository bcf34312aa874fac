//! Native plugins (contract §7, issue 5): the example plugins, built by these tests, loaded by a
//! real server and called over HTTP.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
    time::{Duration, Instant},
};

use escalated::config::Config;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, fresh_database};

/// The folder the example plugins were built into (the test binary's profile folder).
fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        // target/<profile>/deps/api-<hash>
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let target_dir = profile_dir.parent().unwrap();
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--quiet", "--manifest-path"])
            .arg(&workspace);
        cargo.arg("--target-dir").arg(target_dir);
        for name in ["hello", "csat", "wrong-abi"] {
            cargo.args(["-p", &format!("escalated-plugin-{name}")]);
        }
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "building the example plugins failed");
        profile_dir
    })
}

/// A plugins folder holding links to the named example plugins; removed when dropped.
struct PluginDir(PathBuf);

impl PluginDir {
    fn new(names: &[&str]) -> PluginDir {
        let dir = std::env::temp_dir().join(format!(
            "escalated-plugins-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for name in names {
            let file = format!(
                "{}escalated_plugin_{}{}",
                std::env::consts::DLL_PREFIX,
                name.replace('-', "_"),
                std::env::consts::DLL_SUFFIX
            );
            link(&built().join(&file), &dir.join(&file));
        }
        PluginDir(dir)
    }

    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

#[cfg(unix)]
fn link(from: &Path, to: &Path) {
    std::os::unix::fs::symlink(from, to).unwrap();
}

#[cfg(not(unix))]
fn link(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
}

impl Drop for PluginDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PLUGIN_TIMEOUT: Duration = Duration::from_secs(4);

/// A server with hello, csat and the wrong-ABI plugin in its plugins folder.
async fn spawn(backend: Backend) -> Option<(TestApp, PluginDir)> {
    let dir = PluginDir::new(&["hello", "csat", "wrong-abi"]);
    let path = dir.path();
    let app = TestApp::spawn_with(backend, |config| {
        config.plugins.dir = path;
        // Well above what a handler that writes through the host takes on a busy machine, and
        // well below the slow handler's sleep, so only the timeout test meets the timeout.
        config.plugins.timeout_ms = PLUGIN_TIMEOUT.as_millis() as u64;
    })
    .await?;
    Some((app, dir))
}

/// Like `both_databases!`, with the example plugins installed.
macro_rules! with_plugins {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use crate::support::Backend;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let (app, _dir) = super::spawn(Backend::Sqlite).await.unwrap();
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    if let Some((app, _dir)) = super::spawn(Backend::MySql).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

with_plugins!(
    plugin_endpoint_answers_with_a_token_and_401_without,
    plugin_endpoint_requires_the_ability_it_declared,
    plugin_endpoints_are_in_the_served_openapi_document,
    panicking_handler_is_a_500_and_the_server_goes_on,
    slow_handler_is_a_500_after_the_timeout,
    events_reach_subscribed_plugins_in_order,
    plugin_kv_is_persisted_per_plugin,
    csat_validates_ratings_and_reports_statistics,
    wrong_abi_plugin_is_refused_and_the_others_serve,
    real_ticket_events_reach_plugins_after_commit,
    plugins_change_tickets_through_the_domain_rules,
);

async fn real_ticket_events_reach_plugins_after_commit(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Watched", json!({})).await;
    let reference = t["reference"].as_str().unwrap();
    app.patch(
        &format!("/tickets/{reference}/status"),
        &token,
        json!({"status": "resolved"}),
    )
    .await
    .expect(200);
    let events = eventually(&app, &token, "/plugins/hello/events", |d| {
        d.as_array().unwrap().len() >= 2
    })
    .await;
    let names: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ticket.created", "ticket.status_changed"]);
    assert_eq!(
        events[1]["payload"]["data"]["ticket"]["reference"],
        reference
    );
    // csat saw the resolution and asks for a rating.
    let requests = eventually(&app, &token, "/plugins/csat/requests", |d| {
        !d.as_array().unwrap().is_empty()
    })
    .await;
    assert_eq!(requests[0]["ticket"], reference);
}

async fn plugins_change_tickets_through_the_domain_rules(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let t = app.ticket(&token, "Annotated", json!({})).await;
    let reference = t["reference"].as_str().unwrap();
    let reply = app
        .post(
            &format!("/plugins/hello/tickets/{reference}/note"),
            &token,
            json!({"body": "From a plugin"}),
        )
        .await
        .expect(200);
    let replies = reply.data()["replies"].as_array().unwrap().clone();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["body"], "From a plugin");
    assert_eq!(replies[0]["is_internal_note"], true);
    let shown = app
        .get(&format!("/tickets/{reference}"), &token)
        .await
        .expect(200);
    let last = shown.data()["activities"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["type"], "note_added");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE type = 'note.created'")
            .await,
        1
    );
    // The host's rules apply: a blank note is refused and nothing is written.
    let refused = app
        .post(
            &format!("/plugins/hello/tickets/{reference}/note"),
            &token,
            json!({"body": "  "}),
        )
        .await
        .expect(422);
    assert!(refused.field_error("body").is_some());
    app.post(
        "/plugins/hello/tickets/ESC-99999/note",
        &token,
        json!({"body": "x"}),
    )
    .await
    .expect(422);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM replies").await, 1);
}

async fn plugin_endpoint_answers_with_a_token_and_401_without(app: TestApp) {
    let (agent_id, token) = app.agent(&["tickets:read"]).await;
    let reply = app.get("/plugins/hello/whoami", &token).await.expect(200);
    assert_eq!(reply.data()["user"]["id"], agent_id);
    assert_eq!(reply.data()["user"]["role"], "agent");
    assert_eq!(reply.data()["abilities"], json!(["tickets:read"]));
    let reply = app.get("/plugins/hello/hello", &token).await.expect(200);
    assert!(
        reply.data()["message"]
            .as_str()
            .unwrap()
            .starts_with("Hello, Agent ")
    );
    assert!(
        reply.header("x-ratelimit-limit").is_some(),
        "plugin routes are rate limited"
    );
    let reply = app
        .call(Method::GET, "/plugins/hello/hello", None, None)
        .await
        .expect(401);
    assert_eq!(reply.message(), "Unauthenticated.");
    let reply = app.get("/plugins/hello/nowhere", &token).await.expect(404);
    assert_eq!(reply.message(), "Not found.");
    let reply = app
        .call(Method::DELETE, "/plugins/hello/hello", Some(&token), None)
        .await;
    // DELETE needs tickets:write by default before the route is even looked at.
    assert_eq!(reply.expect(403).message(), "Insufficient permissions.");
}

async fn plugin_endpoint_requires_the_ability_it_declared(app: TestApp) {
    let (_, reader) = app.agent(&["tickets:read"]).await;
    let rating = json!({ "ticket": "ESC-00001", "score": 5 });
    let reply = app
        .post("/plugins/csat/ratings", &reader, rating.clone())
        .await
        .expect(403);
    assert_eq!(reply.message(), "Insufficient permissions.");
    let (_, writer) = app.agent(&["tickets:write"]).await;
    app.post("/plugins/csat/ratings", &writer, rating)
        .await
        .expect(201);
    // `admin` needs the ability and an admin owner.
    let (_, everything) = app.agent(&["*"]).await;
    let greeting = json!({ "greeting": "Howdy" });
    app.call(
        Method::PUT,
        "/plugins/hello/greeting",
        Some(&everything),
        Some(greeting.clone()),
    )
    .await
    .expect(403);
    let admin = app.admin_token.clone();
    app.call(
        Method::PUT,
        "/plugins/hello/greeting",
        Some(&admin),
        Some(greeting),
    )
    .await
    .expect(200);
}

async fn plugin_endpoints_are_in_the_served_openapi_document(app: TestApp) {
    let spec: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hello = &spec["paths"]["/plugins/hello/hello"]["get"];
    assert_eq!(hello["tags"], json!(["Hello"]));
    assert_eq!(hello["security"], json!([{ "bearerAuth": [] }]));
    assert!(
        hello["description"]
            .as_str()
            .unwrap()
            .contains("`tickets:read`")
    );
    let data = &hello["responses"]["200"]["content"]["application/json; charset=utf-8"]["schema"]["properties"]
        ["data"];
    assert_eq!(data["properties"]["message"]["type"], "string");
    assert!(hello["responses"]["401"].is_object() && hello["responses"]["422"].is_object());
    let rate = &spec["paths"]["/plugins/csat/ratings"]["post"];
    assert_eq!(
        rate["requestBody"]["content"]["application/json"]["schema"]["required"],
        json!(["ticket", "score"])
    );
    assert!(rate["responses"]["201"].is_object());
    let show = &spec["paths"]["/plugins/csat/ratings/{ticket}"]["get"];
    assert_eq!(show["parameters"][0]["name"], "ticket");
    assert!(
        spec["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "Customer satisfaction")
    );
    assert!(spec["paths"]["/plugins/wrong-abi/never"].is_null());
    // The core endpoints are all still there.
    assert!(spec["paths"]["/auth/validate"].is_object());
    let docs = app
        .client
        .get(app.url("/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        docs.contains("/plugins/csat/ratings"),
        "the docs page embeds the merged document"
    );
}

async fn panicking_handler_is_a_500_and_the_server_goes_on(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    for _ in 0..3 {
        let reply = app.get("/plugins/hello/panic", &token).await.expect(500);
        assert_eq!(
            reply.body,
            json!({ "message": "Server error.", "code": "server_error" })
        );
    }
    app.get("/plugins/hello/hello", &token).await.expect(200);
    app.post("/auth/validate", &token, json!({}))
        .await
        .expect(200);
}

async fn slow_handler_is_a_500_after_the_timeout(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    app.get("/plugins/hello/sleep/10", &token).await.expect(200);
    let started = Instant::now();
    let reply = app
        .get("/plugins/hello/sleep/10000", &token)
        .await
        .expect(500);
    assert_eq!(reply.message(), "Server error.");
    // The rule: answered at the timeout, not when the handler ends (10 s after it began).
    let answered = started.elapsed();
    assert!(
        (PLUGIN_TIMEOUT..Duration::from_secs(10)).contains(&answered),
        "answered after {answered:?}: before the handler ended, at the {PLUGIN_TIMEOUT:?} timeout"
    );
    app.get("/plugins/hello/hello", &token).await.expect(200);
}

/// Polls `path` until `done` holds for its data (events are delivered in the background).
async fn eventually(
    app: &TestApp,
    token: &str,
    path: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let data = app.get(path, token).await.expect(200).data().clone();
        if done(&data) || Instant::now() > deadline {
            return data;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn status_changed(reference: &str, old: &str, new: &str) -> Value {
    json!({
        "id": 7, "type": "ticket.status_changed", "created_at": "2026-11-28T10:15:00Z",
        "data": { "ticket": { "reference": reference, "status": new }, "old": old, "new": new },
    })
}

async fn events_reach_subscribed_plugins_in_order(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let plugins = app.server().plugins.clone();
    plugins.dispatch(
        "ticket.created",
        &json!({ "data": { "ticket": { "reference": "ESC-00001" } } }),
    );
    plugins.dispatch("ticket.deleted", &json!({ "data": {} }));
    plugins.dispatch(
        "ticket.status_changed",
        &status_changed("ESC-00001", "open", "in_progress"),
    );
    plugins.dispatch(
        "ticket.status_changed",
        &status_changed("ESC-00001", "in_progress", "resolved"),
    );
    let events = eventually(&app, &token, "/plugins/hello/events", |d| {
        d.as_array().unwrap().len() >= 3
    })
    .await;
    let names: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ticket.created",
            "ticket.status_changed",
            "ticket.status_changed"
        ],
        "hello is not subscribed to ticket.deleted"
    );
    assert_eq!(events[2]["payload"]["data"]["new"], "resolved");
    // csat asks for a rating of the resolved ticket, and a rating fulfils the request.
    let requests = eventually(&app, &token, "/plugins/csat/requests", |d| {
        !d.as_array().unwrap().is_empty()
    })
    .await;
    assert_eq!(requests[0]["ticket"], "ESC-00001");
    app.post(
        "/plugins/csat/ratings",
        &token,
        json!({ "ticket": "ESC-00001", "score": 4 }),
    )
    .await
    .expect(201);
    let stats = app.get("/plugins/csat/stats", &token).await.expect(200);
    assert_eq!(stats.data()["pending_requests"], 0);
}

async fn plugin_kv_is_persisted_per_plugin(app: TestApp) {
    let admin = app.admin_token.clone();
    let greeting = json!({ "greeting": "Howdy" });
    let reply = app
        .call(
            Method::PUT,
            "/plugins/hello/greeting",
            Some(&admin),
            Some(greeting),
        )
        .await
        .expect(200);
    assert_eq!(reply.message(), "Greeting updated.");
    let reply = app.get("/plugins/hello/hello", &admin).await.expect(200);
    assert_eq!(reply.data()["message"], "Howdy, Administrator");
    let store = app.store().await;
    let stored = escalated::domain::plugin_kv::get(&store, "hello", "greeting")
        .await
        .unwrap();
    assert_eq!(stored, Some(json!("Howdy")));
    let other = escalated::domain::plugin_kv::get(&store, "csat", "greeting")
        .await
        .unwrap();
    assert_eq!(other, None, "each plugin has a store of its own");
    // Keys are compared exactly on both databases.
    escalated::domain::plugin_kv::set(&store, "hello", "Greeting", &json!("Other"))
        .await
        .unwrap();
    let reply = app.get("/plugins/hello/hello", &admin).await.expect(200);
    assert_eq!(reply.data()["message"], "Howdy, Administrator");
}

async fn csat_validates_ratings_and_reports_statistics(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    let reply = app
        .post("/plugins/csat/ratings", &token, json!({}))
        .await
        .expect(422);
    assert_eq!(reply.message(), "Validation failed.");
    assert_eq!(
        reply.field_error("ticket"),
        Some("The ticket field is required.")
    );
    assert_eq!(
        reply.field_error("score"),
        Some("The score field is required.")
    );
    let reply = app
        .post(
            "/plugins/csat/ratings",
            &token,
            json!({ "ticket": "ESC-00001", "score": 6 }),
        )
        .await
        .expect(422);
    assert_eq!(
        reply.field_error("score"),
        Some("The score must be an integer between 1 and 5.")
    );
    let url = app.url("/plugins/csat/ratings");
    let auth = format!("Bearer {token}");
    let reply = app
        .raw(Method::POST, &url, &[("Authorization", &auth)], "{not json")
        .await
        .expect(400);
    assert_eq!(reply.message(), "Invalid JSON.");
    for (reference, score) in [("ESC-00001", 5), ("ESC-00002", 2), ("ESC-00002", 3)] {
        let reply = app
            .post(
                "/plugins/csat/ratings",
                &token,
                json!({ "ticket": reference, "score": score }),
            )
            .await
            .expect(201);
        assert_eq!(reply.message(), "Rating recorded.");
    }
    let stats = app.get("/plugins/csat/stats", &token).await.expect(200);
    assert_eq!(
        stats.data()["count"],
        2,
        "rating again replaces the earlier rating"
    );
    assert_eq!(stats.data()["average"], 4.0);
    let reply = app
        .get("/plugins/csat/ratings/ESC-00009", &token)
        .await
        .expect(404);
    assert_eq!(reply.message(), "Rating not found.");
}

async fn wrong_abi_plugin_is_refused_and_the_others_serve(app: TestApp) {
    let (_, token) = app.agent(&["agent"]).await;
    app.get("/plugins/wrong-abi/never", &token)
        .await
        .expect(404);
    app.get("/plugins/hello/hello", &token).await.expect(200);
    let slugs: Vec<_> = app
        .server()
        .plugins
        .plugins()
        .iter()
        .map(|p| p.manifest.slug.clone())
        .collect();
    assert_eq!(slugs, ["csat", "hello"]);
}

#[test]
fn plugins_list_reports_loaded_and_refused_libraries() {
    let dir = PluginDir::new(&["hello", "csat", "wrong-abi"]);
    std::fs::write(dir.0.join("libnot-a-plugin.so"), "text").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_escalated"))
        .args(["plugins", "list"])
        .env("ESCALATED_PLUGINS__DIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("4 found"), "{text}");
    assert!(text.contains("loaded   hello 0.1.0 (Hello)"), "{text}");
    assert!(text.contains("loaded   csat 0.1.0"), "{text}");
    assert!(
        text.contains("refused  libescalated_plugin_wrong_abi.so: built for plugin ABI version 2, but this server speaks version 1"),
        "{text}"
    );
    assert!(
        text.contains("refused  libnot-a-plugin.so: cannot be opened"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_plugins_refuses_to_start_with_a_refused_plugin() {
    let dir = PluginDir::new(&["hello", "wrong-abi"]);
    let (url, _scratch) = fresh_database(Backend::Sqlite).await.unwrap();
    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".parse().unwrap();
    config.database.url = url.clone();
    config.plugins.dir = dir.path();
    config.plugins.strict = true;
    let err = match escalated::server::start(
        config,
        escalated::time::Clock::system(),
        std::future::pending(),
    )
    .await
    {
        Ok(_) => panic!("the server started with a refused plugin under plugins.strict"),
        Err(err) => format!("{err:#}"),
    };
    assert!(err.contains("built for plugin ABI version 2"), "{err}");
    // The command line flag does the same, with a non-zero exit.
    let output = Command::new(env!("CARGO_BIN_EXE_escalated"))
        .args(["serve", "--strict-plugins"])
        .env("ESCALATED_PLUGINS__DIR", dir.path())
        .env("ESCALATED_DATABASE__URL", &url)
        .env("ESCALATED_SERVER__BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("plugins.strict is on"), "{stderr}");
}

/// Not a rule but a measurement (docs/plugins.md, "Overhead"): the plugin endpoint
/// `GET /plugins/hello/whoami` against the core endpoint doing the same work,
/// `POST /auth/validate` (both answer the caller from the token, without a query).
/// `cargo test --test api benchmark -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn benchmark_plugin_endpoint_overhead() {
    const SEQUENTIAL: usize = 2000;
    const CLIENTS: usize = 8;
    let (app, _dir) = spawn(Backend::Sqlite).await.unwrap();
    let app = std::sync::Arc::new(app);
    for (label, method, path) in [
        ("core   POST /auth/validate", Method::POST, "/auth/validate"),
        (
            "plugin GET /plugins/hello/whoami",
            Method::GET,
            "/plugins/hello/whoami",
        ),
    ] {
        let (_, token) = app.agent(&["agent"]).await;
        let call = move |app: std::sync::Arc<TestApp>, token: String, method: Method| async move {
            let body = (method == Method::POST).then(|| json!({}));
            app.call(method, path, Some(&token), body).await.expect(200);
        };
        for _ in 0..100 {
            call(app.clone(), token.clone(), method.clone()).await;
        }
        let mut latencies = Vec::with_capacity(SEQUENTIAL);
        for _ in 0..SEQUENTIAL {
            let started = Instant::now();
            call(app.clone(), token.clone(), method.clone()).await;
            latencies.push(started.elapsed());
        }
        latencies.sort();
        let mean = latencies.iter().sum::<Duration>() / SEQUENTIAL as u32;
        let started = Instant::now();
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (app, token, method) = (app.clone(), token.clone(), method.clone());
                tokio::spawn(async move {
                    for _ in 0..SEQUENTIAL / CLIENTS {
                        call(app.clone(), token.clone(), method.clone()).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let throughput = SEQUENTIAL as f64 / started.elapsed().as_secs_f64();
        println!(
            "{label:34} mean {:>7.1} µs  p50 {:>7.1} µs  p99 {:>7.1} µs  {CLIENTS} clients {throughput:>6.0} req/s",
            mean.as_secs_f64() * 1e6,
            latencies[SEQUENTIAL / 2].as_secs_f64() * 1e6,
            latencies[SEQUENTIAL * 99 / 100].as_secs_f64() * 1e6,
        );
    }
}
