//! `escalated-bench`: seeds a fresh database with N tickets, starts the release `escalated`
//! binary on it, and measures each operation at a fixed concurrency for a fixed time.
//!
//! cargo build --release -p escalated -p escalated-bench
//! target/release/escalated-bench --db sqlite --tickets 10000 --seconds 10

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use escalated::{
    config::DatabaseConfig,
    domain::{bootstrap, tickets::list::ListQuery},
    store::Store,
};
use escalated_bench::{
    json,
    load::{self, Measured, Op},
    seed, table,
};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Db {
    Sqlite,
    Mysql,
}

#[derive(Debug, Parser)]
#[command(about = "Load harness for the Escalated server")]
struct Args {
    #[arg(long, value_enum, default_value = "sqlite")]
    db: Db,
    /// Tickets to seed.
    #[arg(long, default_value_t = 10_000)]
    tickets: i64,
    /// Measured seconds per operation (after one second of warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// MySQL server (a database `escalated_bench_N` is created on it).
    #[arg(long, default_value = "mysql://root@127.0.0.1:3306")]
    mysql: String,
    /// Also measure the same list and show statements issued directly through sqlx (the
    /// database's own ceiling).
    #[arg(long)]
    ceiling: bool,
    /// Append the results as JSON lines to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server's resident memory, in MiB (Linux).
    fn rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn start_server(url: &str) -> anyhow::Result<(Server, String)> {
    let binary = std::env::current_exe()?.with_file_name("escalated");
    if !binary.exists() {
        bail!(
            "{} is missing: cargo build --release -p escalated",
            binary.display()
        );
    }
    let port = free_port()?;
    let mut command = Command::new(&binary);
    command
        .arg("serve")
        .env("ESCALATED_DATABASE__URL", url)
        .env("ESCALATED_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("ESCALATED_API__RATE_LIMIT", "100000")
        .env("ESCALATED_LOG__LEVEL", "warn")
        .env("ESCALATED_JOBS__CHECK_SLA_SECONDS", "0")
        .env("ESCALATED_JOBS__CLOSE_RESOLVED_SECONDS", "0")
        .env("ESCALATED_JOBS__PURGE_ACTIVITIES_SECONDS", "0")
        .env("ESCALATED_DATABASE__MAX_CONNECTIONS", "16")
        // No script files: run from the repository, the server would load the shipped examples
        // (an automation on every ticket.created), and the figures would measure them too.
        .env(
            "ESCALATED_SCRIPTS__DIR",
            std::env::temp_dir().join("escalated-bench-no-scripts"),
        )
        .stdout(Stdio::null());
    let server = Server {
        child: command.spawn().context("starting the server")?,
    };
    let base = format!("http://127.0.0.1:{port}/support/api/v1");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/openapi.json")).await.is_err() {
        if Instant::now() > deadline {
            bail!("the server did not answer within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((server, base))
}

async fn fresh_database(args: &Args) -> anyhow::Result<String> {
    match args.db {
        Db::Sqlite => {
            let path = std::env::temp_dir().join(format!("escalated-bench-{}.db", args.tickets));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            Ok(format!("sqlite://{}", path.display()))
        }
        Db::Mysql => {
            use sqlx::Connection;
            let name = format!("escalated_bench_{}", args.tickets);
            let mut conn = sqlx::MySqlConnection::connect(&args.mysql).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(&mut conn)
            .await?;
            Ok(format!("{}/{name}", args.mysql.trim_end_matches('/')))
        }
    }
}

async fn measure_all(base: &str, token: &str, args: &Args, ops: &[Op]) -> Vec<Measured> {
    let mut rows = Vec::new();
    for &op in ops {
        load::drive(
            base,
            token,
            op,
            args.tickets,
            args.concurrency,
            Duration::from_secs(1),
        )
        .await;
        let m = load::drive(
            base,
            token,
            op,
            args.tickets,
            args.concurrency,
            Duration::from_secs(args.seconds),
        )
        .await;
        eprintln!(
            "  {:<28} {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
            op.name(),
            m.rps(),
            m.p50_ms,
            m.p99_ms,
            m.errors
        );
        rows.push(m);
    }
    rows
}

/// The list and show statements straight through sqlx, at the same concurrency.
async fn ceiling(store: &Store, args: &Args) -> anyhow::Result<Vec<(String, f64)>> {
    let mut out = Vec::new();
    for (name, show) in [("list (sqlx only)", false), ("show (sqlx only)", true)] {
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let workers = (0..args.concurrency).map(|w| {
            let store = store.clone();
            let tickets = args.tickets;
            async move {
                let mut n = 0u64;
                let mut i = w as i64;
                while Instant::now() < deadline {
                    i = (i * 7919 + 13) % tickets.max(1);
                    let ok = if show {
                        let mut conn = store.conn().await?;
                        escalated::domain::tickets::view::load(
                            &mut conn,
                            &format!("ESC-{:05}", i + 1),
                            1,
                        )
                        .await
                        .is_ok()
                    } else {
                        let q = ListQuery {
                            limit: 25,
                            ..ListQuery::default()
                        };
                        escalated::domain::tickets::list::list(&store, 1, &q)
                            .await
                            .is_ok()
                    };
                    n += ok as u64;
                }
                anyhow::Ok(n)
            }
        });
        let total: u64 = futures::future::try_join_all(workers)
            .await?
            .into_iter()
            .sum();
        let rps = total as f64 / args.seconds as f64;
        eprintln!("  {name:<28} {rps:>8.0} req/s");
        out.push((name.to_string(), rps));
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let url = fresh_database(&args).await?;
    let label = format!(
        "{:?} {} tickets, c={}",
        args.db, args.tickets, args.concurrency
    )
    .to_lowercase();
    let store = Store::connect(&DatabaseConfig {
        url: url.clone(),
        max_connections: 16,
    })
    .await?;
    store.migrate().await?;
    let token = bootstrap::first_admin(&store)
        .await?
        .context("the bench database is fresh")?;
    eprintln!("seeding {} tickets into {url} ...", args.tickets);
    let seeded = seed::seed(&store, args.tickets).await?;
    sqlx::query("UPDATE tickets SET status = 'open', resolved_at = NULL WHERE id <= ?")
        .bind(load::status_pool(args.tickets))
        .execute(store.pool())
        .await?;
    eprintln!("seeded in {:.1} s; {label}", seeded.seconds);

    let (server, base) = start_server(&url).await?;
    // Reads first, so the writes do not change what they read.
    let rows = measure_all(&base, &token, &args, &Op::ALL).await;
    let rss = server.rss_mib();
    drop(server);
    println!("{}", table(&label, &rows));
    if let Some(rss) = rss {
        println!("server RSS after the run: {rss:.1} MiB\n");
    }
    let mut report = json(&label, &rows);
    report["seed_seconds"] = seeded.seconds.into();
    report["rss_mib"] = rss.into();
    if args.ceiling {
        let direct = ceiling(&store, &args).await?;
        println!("| ceiling | req/s |\n|---|---|");
        for (name, rps) in &direct {
            println!("| {name} | {rps:.0} |");
        }
        report["ceiling"] = serde_json::json!(
            direct
                .iter()
                .map(|(n, r)| serde_json::json!({"op": n, "rps": r}))
                .collect::<Vec<_>>()
        );
    }
    if let Some(path) = &args.out {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(file, "{report}")?;
    }
    Ok(())
}
