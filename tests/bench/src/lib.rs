//! The load harness (issue 7): seed N tickets, serve them with the release server, measure.
//! `cargo run --release -p escalated-bench -- --help` for the options; docs/performance.md for
//! the figures and how they were made.

pub mod auth_cost;
pub mod feed;
pub mod files;
pub mod load;
pub mod reports;
pub mod rss;
pub mod seed;
pub mod words;

use load::Measured;

/// `GET url` with the bench token, as JSON; an error status is an error.
pub async fn get_json(
    client: &reqwest::Client,
    url: String,
    token: &str,
) -> anyhow::Result<serde_json::Value> {
    Ok(client
        .get(url)
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// A markdown table of one run.
pub fn table(label: &str, rows: &[Measured]) -> String {
    let mut out = format!(
        "| {label} | req/s | p50 ms | p99 ms | errors | server CPU µs/req | server RSS MiB |\n|---|---|---|---|---|---|---|\n"
    );
    for m in rows {
        out.push_str(&format!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |\n",
            m.op.name(),
            m.rps(),
            m.p50_ms,
            m.p99_ms,
            m.errors,
            m.server_cpu_us
                .map(|us| format!("{us:.0}"))
                .unwrap_or_default(),
            m.server_rss_mib
                .map(|mib| format!("{mib:.1}"))
                .unwrap_or_default()
        ));
    }
    out
}

/// One run as JSON, for machines.
pub fn json(label: &str, rows: &[Measured]) -> serde_json::Value {
    serde_json::json!({
        "run": label,
        "results": rows.iter().map(|m| serde_json::json!({
            "op": m.op.name(), "requests": m.requests, "errors": m.errors, "seconds": m.seconds,
            "rps": m.rps(), "p50_ms": m.p50_ms, "p99_ms": m.p99_ms,
            "server_cpu_us": m.server_cpu_us, "server_rss_mib": m.server_rss_mib,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod smoke {
    //! The harness end to end on 1k tickets for a second per operation: part of `cargo test`
    //! so the harness cannot rot. Its figures mean nothing (debug build, tiny run).

    use std::time::Duration;

    use escalated::{config::Config, server};

    use super::{auth_cost, feed, files, load, reports, rss, seed};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn harness_seeds_serves_and_measures_every_operation() {
        let dir =
            std::env::temp_dir().join(format!("escalated-bench-smoke-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = Config::default();
        config.server.bind = "127.0.0.1:0".parse().unwrap();
        config.database.url = format!("sqlite://{}/bench.db", dir.display());
        config.api.rate_limit = 1_000_000;
        config.jobs.check_sla_seconds = 0;
        config.attachments.store = format!("file://{}/files", dir.display());
        let running = server::start(
            config.clone(),
            escalated::time::Clock::system(),
            std::future::pending(),
        )
        .await
        .unwrap();
        let token = running.bootstrap_token.clone().unwrap();
        let store = escalated::store::Store::connect(&config.database)
            .await
            .unwrap();
        let seeded = seed::seed(&store, 1_000).await.unwrap();
        assert_eq!(seeded.tickets, 1_000);
        sqlx::query("UPDATE tickets SET status = 'open' WHERE id <= ?")
            .bind(load::status_pool(1_000))
            .execute(store.pool())
            .await
            .unwrap();
        let base = format!("http://{}{}", running.addr, config.api.prefix);
        // The seeded rows are in the full-text index: the harness's search word finds exactly
        // the tickets that contain it.
        let containing: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tickets WHERE subject LIKE '%printer%' OR description LIKE '%printer%'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        let found: serde_json::Value = reqwest::Client::new()
            .get(format!("{base}/tickets?search=printer&per_page=1"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(containing > 0);
        assert_eq!(found["meta"]["total"], containing, "{found}");
        let mut deep = load::DeepCursors::default();
        for order in [load::Order::Newest, load::Order::Priority] {
            let (cursors, pages) = load::DeepCursors::fetch(&base, &token, order, 1_000, 2)
                .await
                .unwrap();
            assert_eq!(pages, [10, 24]);
            match order {
                load::Order::Newest => deep.newest = cursors,
                load::Order::Priority => deep.priority = cursors,
            }
        }
        for op in load::Op::ALL {
            let m = load::drive(
                &base,
                &token,
                op,
                1_000,
                4,
                Duration::from_millis(700),
                &deep,
            )
            .await;
            assert!(m.requests > 0, "{} made no requests", op.name());
            assert_eq!(m.errors, 0, "{} had errors", op.name());
            if op.runs_the_words() {
                assert_eq!(m.requests, load::search_words().len(), "each word once");
            }
        }
        let sampler = rss::Sampler::start(std::process::id(), Duration::from_millis(10));

        // The feed from its start holds every ticket once, the seeded ones included.
        let tickets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let followed = feed::follow(&base, &token, 300).await.unwrap();
        assert_eq!(followed.tickets as i64, tickets);
        assert_eq!(followed.pages as i64, (tickets + 299) / 300);

        let times = reports::summary_ms(&base, &token, reports::ALL_TIME, 2)
            .await
            .unwrap();
        assert_eq!(times.len(), 2);
        let exported = reports::export_tickets_csv(&base, &token).await.unwrap();
        assert_eq!(exported.rows as i64, tickets);

        let figures = files::measure(&base, &token, 64 * 1024, 2, &dir.join("copies"))
            .await
            .unwrap();
        assert!(figures.upload > 0.0 && figures.download > 0.0 && figures.range > 0.0);
        assert!(figures.fs_copy > 0.0 && figures.read_write > 0.0);
        let memory = sampler.finish().await.unwrap();
        assert!(memory.samples >= 2 && memory.min_mib > 0.0);
        let cost = auth_cost::measure(&store, &token, Duration::from_millis(200))
            .await
            .unwrap();
        assert!(cost.with_guard_ns > 0.0 && cost.without_guard_ns > 0.0);
        running.stop().await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
