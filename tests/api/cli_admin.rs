//! The operator's commands (contract §9.4): `user list|deactivate`, `token list|revoke`, and
//! `seed --demo` run again or on a database that already has some of its names; the README's
//! walk-through in its order.

use std::path::Path;

use serde_json::{Value, json};

use crate::cli::{Finished, escalated, run, scratch, serve};

async fn cli(dir: &Path, url: &str, args: &[&str]) -> Finished {
    run(escalated(dir)
        .args(args)
        .env("ESCALATED_DATABASE__URL", url))
    .await
}

async fn call(method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> u16 {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap().status().as_u16()
}

/// The data rows of a `list` command (the header line dropped), split on whitespace.
fn rows(out: &Finished) -> Vec<Vec<String>> {
    out.stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn users_and_tokens_are_listed_deactivated_and_revoked() {
    let (url, dir, _scratch) = scratch().await;
    let serving = serve(&dir, &url, true).await;
    let base = serving.base.clone();
    let admin = serving.token.clone().unwrap();
    for (name, email) in [("Ann", "ann@example.com"), ("Bob", "bob@example.com")] {
        cli(
            &dir,
            &url,
            &[
                "user", "create", "--name", name, "--email", email, "--role", "agent",
            ],
        )
        .await
        .expect_success();
    }
    let token_of = async |email: &str, name: &str| {
        let out = cli(
            &dir,
            &url,
            &[
                "token",
                "create",
                "--user",
                email,
                "--name",
                name,
                "--abilities",
                "tickets:read",
            ],
        )
        .await
        .expect_success();
        out.stdout.lines().last().unwrap().to_string()
    };
    let ann = token_of("ann@example.com", "ann-laptop").await;
    let bob = token_of("bob@example.com", "bob-laptop").await;

    let users = cli(&dir, &url, &["user", "list"]).await.expect_success();
    assert!(users.stdout.starts_with("    ID  ROLE"), "{}", users.stdout);
    let listed: Vec<(String, String, String)> = rows(&users)
        .into_iter()
        .map(|r| (r[0].clone(), r[2].clone(), r[3].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            ("1".into(), "active".into(), "admin@example.com".into()),
            ("2".into(), "active".into(), "ann@example.com".into()),
            ("3".into(), "active".into(), "bob@example.com".into()),
        ]
    );
    let tokens = cli(&dir, &url, &["token", "list"]).await.expect_success();
    let listed: Vec<(String, String, String)> = rows(&tokens)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            ("1".into(), "admin@example.com".into(), "Bootstrap".into()),
            ("2".into(), "ann@example.com".into(), "ann-laptop".into()),
            ("3".into(), "bob@example.com".into(), "bob-laptop".into()),
        ]
    );
    assert!(
        !tokens.stdout.contains(&ann) && !tokens.stdout.contains("esc_"),
        "never a secret: {}",
        tokens.stdout
    );

    // Deactivate by email, then by id (again: already inactive, still a success).
    let validate = format!("{base}/auth/validate");
    assert_eq!(
        call(reqwest::Method::POST, validate.clone(), &ann, None).await,
        200
    );
    let out = cli(&dir, &url, &["user", "deactivate", "ann@example.com"])
        .await
        .expect_success();
    assert!(
        out.stdout.contains("Deactivated agent Ann"),
        "{}",
        out.stdout
    );
    let out = cli(&dir, &url, &["user", "deactivate", "2"])
        .await
        .expect_success();
    assert!(out.stdout.contains("already inactive"), "{}", out.stdout);
    let users = cli(&dir, &url, &["user", "list"]).await.expect_success();
    assert_eq!(rows(&users)[1][2], "inactive");
    // Revoke Bob's token by id.
    let out = cli(&dir, &url, &["token", "revoke", "3"])
        .await
        .expect_success();
    assert!(out.stdout.contains("Revoked token 3"), "{}", out.stdout);
    let tokens = cli(&dir, &url, &["token", "list"]).await.expect_success();
    assert_eq!(rows(&tokens).len(), 2);

    // The running server (another process: its token cache holds entries for up to
    // auth.token_cache_seconds, 10 s by default) refuses both within that time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let ann_status = call(reqwest::Method::POST, validate.clone(), &ann, None).await;
        let bob_status = call(reqwest::Method::POST, validate.clone(), &bob, None).await;
        if ann_status == 403 && bob_status == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still accepted: ann {ann_status}, bob {bob_status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(
        call(reqwest::Method::POST, validate, &admin, None).await,
        200
    );

    // Unknown ids and emails are refused, naming them; nothing changes.
    for args in [
        &["user", "deactivate", "99"][..],
        &["user", "deactivate", "nobody@example.com"],
        &["token", "revoke", "99"],
    ] {
        let out = cli(&dir, &url, args).await.expect_failure();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            out.stderr.contains("99")
                || out.stderr.contains("nobody")
                || out.stderr.contains("not found"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let out = cli(&dir, &url, &["token", "revoke", "abc"])
        .await
        .expect_failure();
    assert_eq!(out.status.code(), Some(2), "a usage error: {}", out.stderr);
    assert_eq!(serving.terminate().await.0.code(), Some(0));
}

#[tokio::test]
async fn seed_runs_again_and_reuses_names_already_there() {
    let (url, dir, _scratch) = scratch().await;
    let serving = serve(&dir, &url, true).await;
    let (base, admin) = (serving.base.clone(), serving.token.clone().unwrap());
    // A tag and a department the demo also makes.
    for (path, body) in [
        (
            "/admin/tags/create",
            json!({"name": "vip", "color": "#000000"}),
        ),
        ("/admin/departments/create", json!({"name": "Support"})),
    ] {
        assert_eq!(
            call(
                reqwest::Method::POST,
                format!("{base}{path}"),
                &admin,
                Some(body)
            )
            .await,
            201
        );
    }
    let first = cli(&dir, &url, &["seed", "--demo", "--tickets", "12"])
        .await
        .expect_success();
    assert!(first.stdout.contains("12 tickets"), "{}", first.stdout);
    let counts = async || {
        let store = escalated::store::Store::connect(&escalated::config::DatabaseConfig {
            url: url.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
        let mut out = Vec::new();
        for table in [
            "users",
            "tags",
            "departments",
            "tickets",
            "replies",
            "macros",
            "canned_responses",
            "attachments",
        ] {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(store.pool())
                .await
                .unwrap();
            out.push((table, n));
        }
        store.close().await;
        out
    };
    let seeded = counts().await;
    assert!(seeded.contains(&("tags", 8)), "vip reused: {seeded:?}");
    assert!(
        seeded.contains(&("departments", 3)),
        "Support reused: {seeded:?}"
    );
    assert!(seeded.contains(&("tickets", 12)), "{seeded:?}");
    assert!(seeded.contains(&("attachments", 1)), "{seeded:?}");

    let again = cli(&dir, &url, &["seed", "--demo", "--tickets", "12"])
        .await
        .expect_success();
    assert!(again.stdout.contains("already"), "{}", again.stdout);
    assert_eq!(counts().await, seeded, "nothing is added twice");
    assert_eq!(serving.terminate().await.0.code(), Some(0));
}

#[tokio::test]
async fn seed_that_fails_halfway_leaves_nothing_behind() {
    let (url, dir, _scratch) = scratch().await;
    cli(&dir, &url, &["migrate"]).await.expect_success();
    let store = escalated::store::Store::connect(&escalated::config::DatabaseConfig {
        url: url.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    // Replies are written late (after users, departments, tags, macros and the first tickets).
    sqlx::query(
        "CREATE TRIGGER replies_fail BEFORE INSERT ON replies BEGIN SELECT RAISE(ABORT, 'no replies today'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let out = cli(&dir, &url, &["seed", "--demo", "--tickets", "20"])
        .await
        .expect_failure();
    assert!(out.stderr.contains("no replies today"), "{}", out.stderr);
    for table in [
        "users",
        "api_tokens",
        "tags",
        "departments",
        "tickets",
        "macros",
        "events",
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} kept rows of a failed seed");
    }
    sqlx::query("DROP TRIGGER replies_fail")
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;
    let out = cli(&dir, &url, &["seed", "--demo", "--tickets", "20"])
        .await
        .expect_success();
    assert!(out.stdout.contains("20 tickets"), "{}", out.stdout);
    assert!(
        out.stdout.contains("esc_"),
        "the first admin's token: {}",
        out.stdout
    );
}

/// README, "Try it" then "Getting the first token", in that order: the ticket's requester
/// becomes user 2, so the agent made next is user 3, the id the API call then uses.
#[tokio::test]
async fn the_readme_walk_through_runs_in_order() {
    let (url, dir, _scratch) = scratch().await;
    let serving = serve(&dir, &url, true).await;
    let (base, admin) = (serving.base.clone(), serving.token.clone().unwrap());
    let created = call(
        reqwest::Method::POST,
        format!("{base}/tickets/create"),
        &admin,
        Some(
            json!({"subject": "Printer on fire", "description": "Smoke from tray 2",
            "priority": "urgent", "requester": {"name": "Grace", "email": "grace@example.com"}}),
        ),
    )
    .await;
    assert_eq!(created, 201);
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let out = cli(
        &dir,
        &url,
        &[
            "user",
            "create",
            "--name",
            "Ada Agent",
            "--email",
            "ada@example.com",
            "--role",
            "agent",
        ],
    )
    .await
    .expect_success();
    let printed = out.stdout.trim();
    assert!(
        readme.contains(printed),
        "the README shows what `user create` prints: {printed}"
    );
    let user_id = printed
        .rsplit_once("(id ")
        .and_then(|(_, id)| id.trim_end_matches(").").parse::<i64>().ok())
        .unwrap();
    assert!(
        readme.contains(&format!("\"user_id\": {user_id},")),
        "the README's token call uses Ada's id {user_id}"
    );
    let made = call(
        reqwest::Method::POST,
        format!("{base}/admin/api-tokens/create"),
        &admin,
        Some(
            json!({"name": "Zapier", "user_id": user_id, "abilities": ["agent"],
            "expires_in_days": 90, "rate_limit": 120}),
        ),
    )
    .await;
    assert_eq!(made, 201);
    assert_eq!(serving.terminate().await.0.code(), Some(0));
}
