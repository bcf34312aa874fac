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
    domain::{bootstrap, tickets::list::ListQuery, tokens},
    store::Store,
};
use escalated_bench::{
    auth_cost, json,
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
    /// MySQL server (a database `escalated_bench_N` is created on it, `N` followed by `--label`).
    #[arg(long, default_value = "mysql://root@127.0.0.1:3306")]
    mysql: String,
    /// Also measure the same list and show statements issued directly through sqlx (the
    /// database's own ceiling).
    #[arg(long)]
    ceiling: bool,
    /// Also measure what the auth guard costs per request (in-process, with and without it).
    #[arg(long)]
    auth_cost: bool,
    /// Seed, start the server and write a profile for the peers' wrk driver
    /// (`../shared/peers/bench/bench.sh PROFILE`) to this file, then keep serving until
    /// SIGINT/SIGTERM instead of measuring.
    #[arg(long, value_name = "PROFILE")]
    serve: Option<PathBuf>,
    /// Keep the database of an earlier run with at least `--tickets` tickets instead of seeding
    /// it again (the earlier runs' writes stay in it). A smaller or missing one is seeded afresh.
    #[arg(long)]
    reuse: bool,
    /// Append the results as JSON lines to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// A word added to the bench database's name, so that separate experiments at the same
    /// size keep separate databases (letters, digits and `_` only).
    #[arg(long, default_value = "", value_parser = label)]
    label: String,
}

fn label(text: &str) -> Result<String, String> {
    match text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && text.len() <= 32 {
        true => Ok(text.to_owned()),
        false => Err("use at most 32 letters, digits and `_`".into()),
    }
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

    /// CPU time the server has used so far, in microseconds (Linux; utime + stime).
    fn cpu_us(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the parenthesised command name, which may itself contain spaces.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        // USER_HZ is 100 on every Linux this runs on.
        Some(ticks * 10_000.0)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The server on a free port, answering; returns it and its port.
async fn start_server(url: &str) -> anyhow::Result<(Server, u16)> {
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
        // Far above any load this machine can make: a 429 would count as an answer to wrk.
        .env("ESCALATED_API__RATE_LIMIT", "4000000000")
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
    let base = api_base(port);
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/openapi.json")).await.is_err() {
        if Instant::now() > deadline {
            bail!("the server did not answer within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((server, port))
}

fn api_base(port: u16) -> String {
    format!("http://127.0.0.1:{port}{PREFIX}")
}

const PREFIX: &str = "/support/api/v1";

/// A profile for `../shared/peers/bench/bench.sh`: the same wrk driver, paths and bodies shape as
/// the peers' profiles, so our server is measured exactly like them.
fn write_wrk_profile(
    path: &std::path::Path,
    args: &Args,
    port: u16,
    token: &str,
    server: &Server,
) -> anyhow::Result<()> {
    let ids = path.with_extension("refs");
    let refs: String = (1..=args.tickets)
        .map(|i| format!("ESC-{i:05}\n"))
        .collect();
    std::fs::write(&ids, refs)?;
    let db_pid = match args.db {
        Db::Sqlite => String::new(),
        Db::Mysql => "DB_PID=$(pgrep -o -x mariadbd || true)\n".into(),
    };
    let profile = format!(
        "# bench.sh profile for the Escalated Rust server, written by escalated-bench --serve\n\
         NAME=escalated-rust-{db}\n\
         BASE=http://127.0.0.1:{port}\n\
         AUTH=\"Authorization: Bearer {token}\"\n\
         LIST_PATH={PREFIX}/tickets\n\
         LIST25_PATH='{PREFIX}/tickets?per_page=25'\n\
         SHOW_PATH={PREFIX}/tickets/{{id}}\n\
         CREATE_PATH={PREFIX}/tickets/create\n\
         CREATE_BODY='{{\"subject\":\"Bench ticket {{n}}\",\"description\":\"Created by the load test\",\"priority\":\"medium\"}}'\n\
         REPLY_PATH={PREFIX}/tickets/{{id}}/reply\n\
         REPLY_BODY='{{\"body\":\"Reply {{n}} from the load test\"}}'\n\
         IDS_FILE={ids}\n\
         SERVER_PID={pid}\n\
         {db_pid}",
        db = format!("{:?}", args.db).to_lowercase(),
        ids = ids.display(),
        pid = server.child.id(),
    );
    // Written whole then renamed: a script waiting for the file never reads half of it.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, profile)?;
    std::fs::rename(partial, path)?;
    Ok(())
}

/// Until SIGINT or SIGTERM.
async fn until_stopped() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    Ok(())
}

/// The bench database's URL; emptied first unless `keep`.
async fn bench_database(args: &Args, keep: bool) -> anyhow::Result<String> {
    match args.db {
        Db::Sqlite => {
            let path = std::env::temp_dir()
                .join(format!("escalated-bench-{}{}.db", args.tickets, args.label));
            if !keep {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Ok(format!("sqlite://{}", path.display()))
        }
        Db::Mysql => {
            use sqlx::Connection;
            let name = format!("escalated_bench_{}{}", args.tickets, args.label);
            if !keep {
                let mut conn = sqlx::MySqlConnection::connect(&args.mysql).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name}"
                )))
                .execute(&mut conn)
                .await?;
            }
            Ok(format!("{}/{name}", args.mysql.trim_end_matches('/')))
        }
    }
}

async fn measure_all(
    server: &Server,
    base: &str,
    token: &str,
    args: &Args,
    ops: &[Op],
) -> Vec<Measured> {
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
        let cpu_before = server.cpu_us();
        let mut m = load::drive(
            base,
            token,
            op,
            args.tickets,
            args.concurrency,
            Duration::from_secs(args.seconds),
        )
        .await;
        // The mixed run's untimed writes use CPU too: no per-request figure there.
        if op != Op::ListDuringReplies
            && let (Some(before), Some(after)) = (cpu_before, server.cpu_us())
        {
            m.server_cpu_us = Some((after - before) / m.requests.max(1) as f64);
        }
        m.server_rss_mib = server.rss_mib();
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
                        // The first page of 25, newest first.
                        let q = ListQuery::default();
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
    let (url, store, token) = match reused(&args).await? {
        Some(reused) => reused,
        None => seeded(&args).await?,
    };
    let label = format!(
        "{:?} {} tickets, c={}",
        args.db, args.tickets, args.concurrency
    )
    .to_lowercase();

    let (server, port) = start_server(&url).await?;
    if let Some(profile) = &args.serve {
        write_wrk_profile(profile, &args, port, &token, &server)?;
        eprintln!(
            "serving {} on port {port}; wrk profile: {} (stop with Ctrl-C)",
            label,
            profile.display()
        );
        return until_stopped().await;
    }
    let base = api_base(port);
    // Reads first, so the writes do not change what they read.
    let rows = measure_all(&server, &base, &token, &args, &Op::ALL).await;
    let rss = server.rss_mib();
    drop(server);
    println!("{}", table(&label, &rows));
    if let Some(rss) = rss {
        println!("server RSS after the run: {rss:.1} MiB\n");
    }
    let mut report = json(&label, &rows);
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
    if args.auth_cost {
        let cost = auth_cost::measure(&store, &token, Duration::from_secs(args.seconds)).await?;
        let show_cpu_us = rows
            .iter()
            .find(|m| m.op == Op::Show)
            .and_then(|m| m.server_cpu_us);
        let share = show_cpu_us.map(|us| cost.guard_ns() / 1000.0 / us * 100.0);
        println!(
            "auth guard: {:.2} µs per request ({:.2} µs with it, {:.2} µs without){}\n",
            cost.guard_ns() / 1000.0,
            cost.with_guard_ns / 1000.0,
            cost.without_guard_ns / 1000.0,
            share
                .map(|p| format!("; {p:.2}% of the server CPU time of one show request"))
                .unwrap_or_default()
        );
        report["auth_guard_us"] = (cost.guard_ns() / 1000.0).into();
        report["auth_guard_share_of_show_pct"] = share.into();
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

async fn open(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(&DatabaseConfig {
        url: url.to_string(),
        max_connections: 16,
        ..DatabaseConfig::default()
    })
    .await?;
    store.migrate().await?;
    Ok(store)
}

/// A fresh database seeded with `--tickets` tickets, and the first admin's token.
async fn seeded(args: &Args) -> anyhow::Result<(String, Store, String)> {
    let url = bench_database(args, false).await?;
    let store = open(&url).await?;
    let token = bootstrap::first_admin(&store)
        .await?
        .context("the bench database is fresh")?;
    eprintln!("seeding {} tickets into {url} ...", args.tickets);
    let seeded = seed::seed(&store, args.tickets).await?;
    sqlx::query("UPDATE tickets SET status = 'open', resolved_at = NULL WHERE id <= ?")
        .bind(load::status_pool(args.tickets))
        .execute(store.pool())
        .await?;
    eprintln!("seeded in {:.1} s", seeded.seconds);
    Ok((url, store, token))
}

/// Under `--reuse`, an earlier run's database that holds enough tickets, with a new admin token.
async fn reused(args: &Args) -> anyhow::Result<Option<(String, Store, String)>> {
    if !args.reuse {
        return Ok(None);
    }
    let url = bench_database(args, true).await?;
    let Ok(store) = open(&url).await else {
        return Ok(None);
    };
    let tickets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(store.pool())
        .await?;
    let admin: Option<i64> =
        sqlx::query_scalar("SELECT MIN(id) FROM users WHERE role = 'admin' AND is_active = 1")
            .fetch_one(store.pool())
            .await?;
    let (Some(admin), true) = (admin, tickets >= args.tickets) else {
        return Ok(None);
    };
    let (_, token) = tokens::create(
        &store,
        tokens::NewTokenInput {
            user_id: admin,
            name: "escalated-bench".into(),
            abilities: vec!["*".into()],
            expiry: tokens::Expiry::default(),
            rate_limit: None,
        },
    )
    .await?;
    eprintln!("reusing {url} ({tickets} tickets)");
    Ok(Some((url, store, token)))
}
