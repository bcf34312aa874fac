//! The `escalated` binary and its settings (contract §2): each command, configuration errors that
//! name the key, the shipped `escalated.toml`, and `serve` from first start to SIGTERM on SQLite
//! and on MySQL.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::Duration,
};

use escalated::{config::Config, server};
use figment::{
    Figment,
    providers::{Format, Toml},
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
    time::timeout,
};

use crate::support::{self, Backend, Scratch};

/// The binary, run in `dir` (so no stray `escalated.toml` is read) with none of the caller's
/// `ESCALATED_*` variables, logging only warnings.
pub(crate) fn escalated(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_escalated"));
    cmd.current_dir(dir).stdin(Stdio::null()).kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("ESCALATED_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("ESCALATED_LOG__LEVEL", "warn");
    cmd
}

#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Finished {
    #[track_caller]
    pub(crate) fn expect_success(self) -> Finished {
        assert!(
            self.status.success(),
            "exit {:?}; stderr: {}",
            self.status,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub(crate) fn expect_failure(self) -> Finished {
        assert!(
            !self.status.success(),
            "expected a failure; stdout: {}",
            self.stdout
        );
        assert!(
            self.status.code().is_some(),
            "ended by a signal, not an exit: {:?}",
            self.status
        );
        self
    }
}

pub(crate) async fn run(cmd: &mut Command) -> Finished {
    let out = timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("finishes within a minute")
        .expect("runs");
    Finished {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh SQLite URL and its folder (the working directory of the commands).
pub(crate) async fn scratch() -> (String, PathBuf, Scratch) {
    let (url, scratch) = support::fresh_database(Backend::Sqlite).await.unwrap();
    let Scratch::Sqlite(dir) = &scratch else {
        unreachable!("a SQLite scratch is a folder")
    };
    let dir = dir.clone();
    (url, dir, scratch)
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

// ---------------------------------------------------------------------------------------------
// openapi and configuration

#[tokio::test]
async fn openapi_prints_the_served_document() {
    let (_, dir, _scratch) = scratch().await;
    let out = run(escalated(&dir).arg("openapi")).await.expect_success();
    let prefix = Config::default().api.prefix;
    assert_eq!(out.stdout, escalated::api::spec_json(&prefix) + "\n");
    let committed = std::fs::read_to_string(repo_root().join("openapi/escalated.json")).unwrap();
    assert_eq!(
        out.stdout, committed,
        "the committed document is what `escalated openapi` prints"
    );
}

#[tokio::test]
async fn settings_are_layered_defaults_file_environment() {
    let (_, dir, _scratch) = scratch().await;
    let servers = |out: Finished| -> String {
        let spec: Value = serde_json::from_str(&out.expect_success().stdout).unwrap();
        spec["servers"][0]["url"].as_str().unwrap().to_string()
    };
    assert_eq!(
        servers(run(escalated(&dir).arg("openapi")).await),
        "/support/api/v1"
    );
    // ./escalated.toml is read when present...
    std::fs::write(
        dir.join("escalated.toml"),
        "[api]\nprefix = \"/from-file\"\n",
    )
    .unwrap();
    assert_eq!(
        servers(run(escalated(&dir).arg("openapi")).await),
        "/from-file"
    );
    // ...the environment wins over it...
    let out = run(escalated(&dir)
        .arg("openapi")
        .env("ESCALATED_API__PREFIX", "/from-env"))
    .await;
    assert_eq!(servers(out), "/from-env");
    // ...and --config picks another file instead.
    std::fs::write(dir.join("other.toml"), "[api]\nprefix = \"/other\"\n").unwrap();
    assert_eq!(
        servers(run(escalated(&dir).args(["--config", "other.toml", "openapi"])).await),
        "/other"
    );
    assert_eq!(
        servers(run(escalated(&dir).args(["openapi", "--config", "other.toml"])).await),
        "/other"
    );
}

#[tokio::test]
async fn configuration_errors_stop_the_start_naming_the_key() {
    let (_, dir, _scratch) = scratch().await;
    std::fs::write(dir.join("typo.toml"), "[api]\nrate_limt = 5\n").unwrap();
    std::fs::write(
        dir.join("postgres.toml"),
        "[database]\nurl = \"postgres://x\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("section.toml"), "[nonsense]\nkey = 1\n").unwrap();
    std::fs::write(dir.join("typed.toml"), "[server]\nbind = \"nowhere\"\n").unwrap();
    // Arguments, environment, and what the message must name.
    type Case = (
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
        &'static [&'static str],
    );
    let cases: [Case; 11] = [
        (
            &[],
            &[("ESCALATED_API__RATE_LIMIT", "abc")],
            &["api.rate_limit", "ESCALATED_API__RATE_LIMIT"],
        ),
        (
            &[],
            &[("ESCALATED_API__FEED_PAGE_ENTRIES", "0")],
            &["api.feed_page_entries"],
        ),
        (
            &[],
            &[("ESCALATED_DATABASE__SQLITE_HEAP_MIB", "2")],
            &["database.sqlite_heap_mib"],
        ),
        (
            &[],
            &[("ESCALATED_API__RATE_LIMIT", "0")],
            &["api.rate_limit"],
        ),
        (
            &[],
            &[("ESCALATED_DATABASE__URL", "postgres://x")],
            &["database.url"],
        ),
        (
            &[],
            &[("ESCALATED_API__PREFIX", "no-slash")],
            &["api.prefix"],
        ),
        (&["--config", "typo.toml"], &[], &["rate_limt", "api"]),
        (&["--config", "postgres.toml"], &[], &["database.url"]),
        (&["--config", "section.toml"], &[], &["nonsense"]),
        (&["--config", "typed.toml"], &[], &["server.bind"]),
        (&["--config", "missing.toml"], &[], &["missing.toml"]),
    ];
    for (args, env, named) in cases {
        let mut cmd = escalated(&dir);
        cmd.args(args).arg("openapi").envs(env.iter().copied());
        let out = run(&mut cmd).await.expect_failure();
        assert!(
            out.stdout.is_empty(),
            "{args:?} {env:?} printed: {}",
            out.stdout
        );
        for word in named {
            assert!(
                out.stderr.contains(word),
                "{args:?} {env:?}: {word:?} not in {:?}",
                out.stderr
            );
        }
    }
}

/// Every key, as `section.key`, of a tree of tables.
fn key_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    for (key, child) in value.as_object().into_iter().flatten() {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if child.is_object() {
            key_paths(child, &path, out);
        } else {
            out.insert(path);
        }
    }
}

#[test]
fn shipped_config_file_is_the_defaults_and_lists_every_key() {
    let path = repo_root().join("escalated.toml");
    let text =
        std::fs::read_to_string(&path).expect("escalated.toml is shipped at the repository root");

    // It parses (alone, without the built-in defaults under it) and equals the defaults.
    let from_file: Config = Figment::from(Toml::file(&path))
        .extract()
        .expect("escalated.toml parses");
    from_file.validate().expect("escalated.toml is valid");
    let defaults = serde_json::to_value(Config::default()).unwrap();
    assert_eq!(serde_json::to_value(&from_file).unwrap(), defaults);

    // It names every key of the defaults, and nothing else.
    let raw: Value = Figment::from(Toml::file(&path)).extract().unwrap();
    let (mut in_file, mut in_defaults) = (BTreeSet::new(), BTreeSet::new());
    key_paths(&raw, "", &mut in_file);
    key_paths(&defaults, "", &mut in_defaults);
    assert_eq!(
        in_file, in_defaults,
        "escalated.toml and Config::default() list different keys"
    );

    // And each key is documented: a comment directly above it.
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        // `name = value`; the continuation lines of a multi-line array are not keys.
        let is_key = line.split_once('=').is_some_and(|(name, _)| {
            let name = name.trim();
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
        if is_key {
            assert!(
                i > 0 && lines[i - 1].starts_with('#'),
                "escalated.toml: `{line}` has no comment above it"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// user create, token create

#[tokio::test]
async fn user_and_token_create_print_a_token_that_works() {
    let (url, dir, _scratch) = scratch().await;
    let cli = |args: &[&str]| {
        let mut cmd = escalated(&dir);
        cmd.args(args).env("ESCALATED_DATABASE__URL", &url);
        cmd
    };
    let out = run(&mut cli(&[
        "user",
        "create",
        "--name",
        "Ann Agent",
        "--email",
        "Ann@Example.com",
        "--role",
        "agent",
    ]))
    .await
    .expect_success();
    assert!(out.stdout.contains("ann@example.com"), "{}", out.stdout);
    let out = run(&mut cli(&[
        "token",
        "create",
        "--user",
        "ann@example.com",
        "--name",
        "cli",
        "--abilities",
        "tickets:read,tickets:write",
        "--expires-in-days",
        "3",
    ]))
    .await
    .expect_success();
    let token = out.stdout.lines().last().unwrap_or_default().to_string();
    assert!(
        token.starts_with("esc_"),
        "the last line is the token: {:?}",
        out.stdout
    );

    // A server on the same file accepts it.
    let mut config = Config::default();
    config.database.url = url.clone();
    config.server.bind = "127.0.0.1:0".parse().unwrap();
    let running = server::start(
        config,
        escalated::time::Clock::system(),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert!(
        running.bootstrap_token.is_none(),
        "a database with users gets no bootstrap admin"
    );
    let reply = reqwest::Client::new()
        .post(format!(
            "http://{}/support/api/v1/auth/validate",
            running.addr
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: Value = reply.json().await.unwrap();
    let data = &body["data"];
    assert_eq!(data["user"]["email"], "ann@example.com");
    assert_eq!(data["role"], "agent");
    assert_eq!(data["abilities"], json!(["tickets:read", "tickets:write"]));
    assert_eq!(data["token"]["name"], "cli");
    let expires =
        chrono::DateTime::parse_from_rfc3339(data["token"]["expires_at"].as_str().unwrap())
            .unwrap();
    let expected = chrono::Utc::now().timestamp() + 3 * 86_400;
    assert!(
        (expires.timestamp() - expected).abs() < 120,
        "expires in 3 days: {expires}"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn user_and_token_create_refuse_bad_input_naming_it() {
    let (url, dir, _scratch) = scratch().await;
    let cli = |args: &[&str]| {
        let mut cmd = escalated(&dir);
        cmd.args(args).env("ESCALATED_DATABASE__URL", &url);
        cmd
    };
    run(&mut cli(&[
        "user",
        "create",
        "--name",
        "Cy",
        "--email",
        "cy@example.com",
        "--role",
        "customer",
    ]))
    .await
    .expect_success();
    run(&mut cli(&[
        "user",
        "create",
        "--name",
        "Al",
        "--email",
        "al@example.com",
        "--role",
        "agent",
    ]))
    .await
    .expect_success();
    let token = |user: &str, abilities: &str| {
        let args = [
            "token",
            "create",
            "--user",
            user,
            "--name",
            "t",
            "--abilities",
            abilities,
        ]
        .map(str::to_string);
        let mut cmd = escalated(&dir);
        cmd.args(args).env("ESCALATED_DATABASE__URL", &url);
        cmd
    };
    let cases: Vec<(Command, &str)> = vec![
        (
            cli(&[
                "user",
                "create",
                "--name",
                "Al2",
                "--email",
                "al@example.com",
                "--role",
                "agent",
            ]),
            "email",
        ),
        (
            cli(&[
                "user",
                "create",
                "--name",
                "Bo",
                "--email",
                "bo@example.com",
                "--role",
                "boss",
            ]),
            "role",
        ),
        (
            cli(&[
                "user",
                "create",
                "--name",
                "Bo",
                "--email",
                "not-an-email",
                "--role",
                "agent",
            ]),
            "email",
        ),
        (token("nobody@example.com", "agent"), "nobody@example.com"),
        (token("cy@example.com", "agent"), "user_id"),
        (token("al@example.com", "root"), "abilities"),
        (
            cli(&[
                "token",
                "create",
                "--user",
                "al@example.com",
                "--name",
                "t",
                "--abilities",
                "agent",
                "--expires-in-days",
                "0",
            ]),
            "expires_in_days",
        ),
    ];
    for (mut cmd, named) in cases {
        let out = run(&mut cmd).await.expect_failure();
        assert!(
            out.stderr.contains(named),
            "{named:?} not in {:?}",
            out.stderr
        );
        assert!(
            !out.stdout.contains("esc_"),
            "a refused command printed a token"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// serve

/// A `serve` process that has printed its startup lines.
pub(crate) struct Serving {
    pub(crate) child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    /// `http://127.0.0.1:PORT/support/api/v1`
    pub(crate) base: String,
    /// The one-time admin token, when this start created the first admin.
    pub(crate) token: Option<String>,
    log: PathBuf,
}

/// Starts `serve` on port 0; `fresh` says whether the database is empty (so a token follows).
pub(crate) async fn serve(dir: &Path, database_url: &str, fresh: bool) -> Serving {
    let log = dir.join(format!("serve-{}.log", uuid::Uuid::new_v4().simple()));
    let mut child = escalated(dir)
        .arg("serve")
        .env("ESCALATED_DATABASE__URL", database_url)
        .env("ESCALATED_SERVER__BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("serve starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lines = Vec::new();
    let expected = if fresh { 4 } else { 2 };
    while lines.len() < expected {
        let line = timeout(Duration::from_secs(60), stdout.next_line())
            .await
            .expect("serve starts within a minute")
            .unwrap();
        match line {
            Some(line) => lines.push(line),
            None => panic!(
                "serve ended during start; stdout {lines:?}; log: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        }
    }
    let base = lines[0]
        .split_once("serving ")
        .map(|(_, url)| url.trim().to_string())
        .unwrap_or_else(|| panic!("the first line names the address: {lines:?}"));
    assert!(
        base.starts_with("http://127.0.0.1:") && !base.contains(":0/"),
        "a real port: {base}"
    );
    assert!(lines[1].contains(&format!("{base}/docs")), "{lines:?}");
    let token = fresh.then(|| {
        assert!(lines[2].contains("admin@example.com"), "{lines:?}");
        let token = lines[3].trim().to_string();
        assert!(
            token.starts_with("esc_"),
            "the last startup line is the token: {lines:?}"
        );
        token
    });
    Serving {
        child,
        stdout,
        base,
        token,
        log,
    }
}

impl Serving {
    /// Sends SIGTERM and waits for the exit; returns the status and what it printed after start.
    pub(crate) async fn terminate(mut self) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().expect("still running").to_string();
        let kill = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(kill.success());
        let status = timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("serve stops within 30 s of SIGTERM")
            .unwrap();
        let mut rest = Vec::new();
        while let Ok(Some(line)) = self.stdout.next_line().await {
            rest.push(line);
        }
        if !status.success() {
            eprintln!(
                "serve log: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
        (status, rest)
    }
}

async fn validate(base: &str, token: &str) -> Value {
    let reply = reqwest::Client::new()
        .post(format!("{base}/auth/validate"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    reply.json().await.unwrap()
}

#[tokio::test]
async fn serve_on_an_empty_sqlite_database_prints_an_admin_token_and_stops_on_sigterm() {
    let (url, dir, _scratch) = scratch().await;
    let serving = serve(&dir, &url, true).await;
    let token = serving.token.clone().unwrap();
    let body = validate(&serving.base, &token).await;
    assert_eq!(body["data"]["role"], "admin");
    assert_eq!(body["data"]["user"]["email"], "admin@example.com");
    assert_eq!(body["data"]["abilities"], json!(["*"]));
    let (status, rest) = serving.terminate().await;
    assert_eq!(status.code(), Some(0), "a clean exit on SIGTERM");
    assert!(rest.is_empty(), "nothing more on stdout: {rest:?}");

    // The second start finds the admin: no new token, and the first one still works.
    let serving = serve(&dir, &url, false).await;
    validate(&serving.base, &token).await;
    let (status, rest) = serving.terminate().await;
    assert_eq!(status.code(), Some(0));
    assert!(
        rest.iter().all(|l| !l.contains("esc_")),
        "a second start prints no token: {rest:?}"
    );

    // SIGTERM as soon as it has announced itself is a clean stop too.
    let serving = serve(&dir, &url, false).await;
    let (status, _) = serving.terminate().await;
    assert_eq!(
        status.code(),
        Some(0),
        "a signal right after start is handled, not fatal"
    );
}

#[tokio::test]
async fn migrate_and_serve_on_mysql() {
    let Some((url, _database)) = support::fresh_database(Backend::MySql).await else {
        return;
    };
    let (_, dir, _scratch) = scratch().await;
    for _ in 0..2 {
        let out = run(escalated(&dir)
            .arg("migrate")
            .env("ESCALATED_DATABASE__URL", &url))
        .await
        .expect_success();
        assert_eq!(out.stdout.trim(), "Migrations applied.");
    }
    let serving = serve(&dir, &url, true).await;
    let token = serving.token.clone().unwrap();
    let body = validate(&serving.base, &token).await;
    assert_eq!(body["data"]["role"], "admin");
    let (status, _) = serving.terminate().await;
    assert_eq!(status.code(), Some(0), "a clean exit on SIGTERM");
}

#[tokio::test]
async fn the_status_state_machine_is_configurable_row_by_row() {
    let (url, dir, _scratch) = scratch().await;
    std::fs::write(
        dir.join("escalated.toml"),
        "[tickets]\ntransitions = { closed = [\"reopened\", \"open\"] }\n",
    )
    .unwrap();
    let serving = serve(&dir, &url, true).await;
    let (base, token) = (serving.base.clone(), serving.token.clone().unwrap());
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{base}/tickets/create"))
        .bearer_auth(&token)
        .json(&json!({"subject": "Configurable", "description": "x"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        created["data"]["allowed_transitions"]
            .as_array()
            .unwrap()
            .len(),
        6,
        "open keeps its row"
    );
    let status = |s: &'static str| {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            let reply = client
                .patch(format!("{base}/tickets/ESC-00001/status"))
                .bearer_auth(&token)
                .json(&json!({"status": s}))
                .send()
                .await
                .unwrap();
            (
                reply.status().as_u16(),
                reply.json::<Value>().await.unwrap(),
            )
        }
    };
    let (code, closed) = status("closed").await;
    assert_eq!(code, 200);
    assert_eq!(
        closed["data"]["allowed_transitions"],
        json!(["reopened", "open"])
    );
    assert_eq!(
        status("open").await.0,
        200,
        "closed → open is allowed by this table"
    );
    assert_eq!(serving.terminate().await.0.code(), Some(0));

    std::fs::write(
        dir.join("escalated.toml"),
        "[tickets]\ntransitions = { closed = [\"gone\"] }\n",
    )
    .unwrap();
    let refused = run(escalated(&dir)
        .arg("migrate")
        .env("ESCALATED_DATABASE__URL", &url))
    .await
    .expect_failure();
    assert!(
        refused.stderr.contains("tickets.transitions.closed"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn jobs_run_by_hand_and_report_what_they_did() {
    let (url, dir, _scratch) = scratch().await;
    for (job, says) in [
        (
            "check-sla",
            "check-sla: 0 breaches marked, 0 warnings sent.",
        ),
        (
            "close-resolved",
            "close-resolved: 0 resolved tickets closed.",
        ),
        ("purge-activities", "purge-activities: 0 activities purged."),
    ] {
        let done = run(escalated(&dir)
            .args(["jobs", job])
            .env("ESCALATED_DATABASE__URL", &url))
        .await
        .expect_success();
        assert_eq!(done.stdout.trim(), says);
    }
    let unknown = run(escalated(&dir)
        .args(["jobs", "reindex"])
        .env("ESCALATED_DATABASE__URL", &url))
    .await
    .expect_failure();
    assert!(
        unknown.stderr.contains("check-sla"),
        "names the jobs there are: {}",
        unknown.stderr
    );
}
