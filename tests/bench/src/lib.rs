//! The load harness (issue 7): seed N tickets, serve them with the release server, measure.
//! `cargo run --release -p escalated-bench -- --help` for the options; docs/performance.md for
//! the figures and how they were made.

pub mod auth_cost;
pub mod load;
pub mod seed;

use load::Measured;

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

    use super::{auth_cost, load, seed};

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
        for op in load::Op::ALL {
            let m = load::drive(&base, &token, op, 1_000, 4, Duration::from_millis(700)).await;
            assert!(m.requests > 0, "{} made no requests", op.name());
            assert_eq!(m.errors, 0, "{} had errors", op.name());
        }
        let cost = auth_cost::measure(&store, &token, Duration::from_millis(200))
            .await
            .unwrap();
        assert!(cost.with_guard_ns > 0.0 && cost.without_guard_ns > 0.0);
        running.stop().await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
