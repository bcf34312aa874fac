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
    domain::{
        bootstrap,
        roles::Role,
        tickets::{Actor, TicketRules, list::ListQuery},
        tokens,
    },
    store::Store,
};
use escalated_bench::{
    auth_cost, feed, files, json,
    load::{self, DeepCursors, Measured, Op, Order},
    reports, rss, seed, table,
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
    /// The server's pooled database connections (`database.max_connections`); 0: the server's
    /// own choice (10 on SQLite, 16 on MySQL; the harness set 16 on both until 2026-12-05).
    #[arg(long, default_value_t = 0)]
    db_connections: u32,
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
    /// The operations to measure, in this order (repeats allowed, e.g.
    /// `create,create-key,create,create-key`), or `none`; default: all of them. Names:
    /// search-cold, search-warm, list, filtered, show, list-priority, deep, deep-priority,
    /// create, create-key, reply, status, mixed. The search runs send each of the seed's few
    /// hundred words once (4 connections), whatever `--seconds` says.
    #[arg(long, value_delimiter = ',', value_parser = op_key)]
    ops: Vec<OpChoice>,
    /// Deep cursors the `deep` operations page from (each read once with `page=`).
    #[arg(long, default_value_t = 8)]
    deep_cursors: usize,
    /// Also follow the change feed from its start to its end (`--feed-per-page` at a time),
    /// sampling the server's memory.
    #[arg(long)]
    feed: bool,
    #[arg(long, default_value_t = 1000)]
    feed_per_page: usize,
    /// Also time the report summary and stream the CSV export of every ticket, sampling the
    /// server's memory.
    #[arg(long)]
    reports: bool,
    /// Also measure attachments: upload, download and a range of a file of `--file-mib` MiB
    /// through the server, against a plain copy of it on the same filesystem.
    #[arg(long)]
    files: bool,
    #[arg(long, default_value_t = 10)]
    file_mib: usize,
    #[arg(long, default_value_t = 10)]
    file_rounds: usize,
}

#[derive(Debug, Clone, Copy)]
enum OpChoice {
    Op(Op),
    None,
}

fn op_key(text: &str) -> Result<OpChoice, String> {
    match text {
        "none" => Ok(OpChoice::None),
        key => Op::from_key(key)
            .map(OpChoice::Op)
            .ok_or_else(|| format!("no operation `{key}`")),
    }
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
    fn rss_mib(&self) -> Option<f64> {
        rss::rss_mib(self.child.id())
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
async fn start_server(
    url: &str,
    files: &std::path::Path,
    db_connections: u32,
) -> anyhow::Result<(Server, u16)> {
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
        // Folded by hand just before the reports are timed (see `roll_up`), not mid-load.
        .env("ESCALATED_JOBS__ROLL_UP_REPORTS_SECONDS", "0")
        .env(
            "ESCALATED_ATTACHMENTS__STORE",
            format!("file://{}", files.join("store").display()),
        )
        // No script files: run from the repository, the server would load the shipped examples
        // (an automation on every ticket.created), and the figures would measure them too.
        .env(
            "ESCALATED_SCRIPTS__DIR",
            std::env::temp_dir().join("escalated-bench-no-scripts"),
        )
        .env(
            "ESCALATED_DATABASE__MAX_CONNECTIONS",
            db_connections.to_string(),
        )
        .stdout(Stdio::null());
    let server = Server {
        child: command.spawn().context("starting the server")?,
    };
    let base = api_base(port);
    // A new migration may build an index over every ticket before the server listens.
    let deadline = Instant::now() + Duration::from_secs(600);
    while reqwest::get(format!("{base}/openapi.json")).await.is_err() {
        if Instant::now() > deadline {
            bail!("the server did not answer within 600 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((server, port))
}

/// Waits until the server's search index is built (`escalated_search_index_tickets` in
/// `/metrics` is no longer -1), so searches are timed as they run once it is; says how long
/// the build took. Returns at once when the index is turned off.
async fn search_index_built(port: u16, token: &str) -> anyhow::Result<()> {
    if std::env::var("ESCALATED_TICKETS__SEARCH_INDEX").is_ok_and(|v| v == "false") {
        return Ok(());
    }
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        let text = client
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .bearer_auth(token)
            .send()
            .await?
            .text()
            .await?;
        let held = text
            .lines()
            .find_map(|line| line.strip_prefix("escalated_search_index_tickets "))
            .map(str::trim);
        match held {
            Some("-1") => tokio::time::sleep(Duration::from_millis(200)).await,
            Some(n) => {
                eprintln!(
                    "search index: {n} tickets, built in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            None => bail!("/metrics has no escalated_search_index_tickets"),
        }
    }
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
    deep: &DeepCursors,
) -> Vec<Measured> {
    let mut rows = Vec::new();
    for &op in ops {
        // A cold search must find nothing remembered; a warm one warms each word itself.
        if !op.runs_the_words() {
            load::drive(
                base,
                token,
                op,
                args.tickets,
                args.concurrency,
                Duration::from_secs(1),
                deep,
            )
            .await;
        }
        let cpu_before = server.cpu_us();
        let mut m = load::drive(
            base,
            token,
            op,
            args.tickets,
            args.concurrency,
            Duration::from_secs(args.seconds),
            deep,
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

/// What the ceiling issues: the domain function an endpoint calls, without HTTP.
#[derive(Clone, Copy)]
enum Direct {
    List,
    Show,
    Create,
    Reply,
}

impl Direct {
    fn name(self) -> &'static str {
        match self {
            Direct::List => "list (sqlx only)",
            Direct::Show => "show (sqlx only)",
            Direct::Create => "create (sqlx only)",
            Direct::Reply => "reply (sqlx only)",
        }
    }

    /// The operation of the server this is the ceiling of.
    fn op(self) -> Op {
        match self {
            Direct::List => Op::List,
            Direct::Show => Op::Show,
            Direct::Create => Op::Create,
            Direct::Reply => Op::Reply,
        }
    }

    /// One call, as the endpoint makes it (the same functions, arguments and answer read
    /// inside the transaction); `i` picks the ticket.
    async fn call(self, store: &Store, admin: &Actor, rules: &TicketRules, i: i64) -> bool {
        use escalated::domain::tickets::{create, list, operations, view};
        let now = escalated::time::now();
        let reference = format!("ESC-{:05}", i + 1);
        match self {
            Direct::List => list::list(store, admin.user_id, &ListQuery::default())
                .await
                .is_ok(),
            Direct::Show => match store.conn().await {
                Ok(mut conn) => view::load(&mut conn, &reference, admin.user_id)
                    .await
                    .is_ok(),
                Err(_) => false,
            },
            Direct::Create => create::create_shown(
                store,
                now,
                admin,
                create::NewTicketInput {
                    subject: "Printer jams on every page".into(),
                    description: "Since this morning the office printer jams on every page.".into(),
                    priority: Some(escalated::domain::tickets::Priority::High),
                    ticket_type: None,
                    department_id: None,
                    tag_ids: Vec::new(),
                    requester: None,
                    channel: "api",
                    attachment_ids: Vec::new(),
                },
                "ESC",
            )
            .await
            .is_ok(),
            Direct::Reply => operations::edit_versioned(
                store,
                (rules, now),
                admin,
                (&reference, None),
                async |t, tx| {
                    t.reply_with(tx, "Thanks, we are looking into it.", false, &[])
                        .await
                },
            )
            .await
            .is_ok(),
        }
    }
}

/// The list, show, create and reply statements straight through sqlx (the domain functions
/// the endpoints call), at the same concurrency: the database's own limit.
async fn ceiling(store: &Store, args: &Args) -> anyhow::Result<Vec<(Direct, f64)>> {
    let admin_id: i64 =
        sqlx::query_scalar("SELECT MIN(id) FROM users WHERE role = 'admin' AND is_active = 1")
            .fetch_one(store.pool())
            .await?;
    let admin = Actor {
        user_id: admin_id,
        role: Role::Admin,
    };
    let rules = TicketRules::default();
    let mut out = Vec::new();
    for direct in [Direct::List, Direct::Show, Direct::Create, Direct::Reply] {
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let workers = (0..args.concurrency).map(|w| {
            let (store, admin, rules) = (store.clone(), admin.clone(), rules.clone());
            let tickets = args.tickets;
            async move {
                let mut n = 0u64;
                let mut i = w as i64;
                while Instant::now() < deadline {
                    i = (i * 7919 + 13) % tickets.max(1);
                    n += direct.call(&store, &admin, &rules, i).await as u64;
                }
                anyhow::Ok(n)
            }
        });
        let total: u64 = futures::future::try_join_all(workers)
            .await?
            .into_iter()
            .sum();
        let rps = total as f64 / args.seconds as f64;
        eprintln!("  {:<28} {rps:>8.0} req/s", direct.name());
        out.push((direct, rps));
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
        "{:?} {} tickets, c={}{}",
        args.db,
        args.tickets,
        args.concurrency,
        match args.db_connections {
            0 => String::new(),
            n => format!(", {n} db connections"),
        }
    )
    .to_lowercase();

    let files_dir = std::env::temp_dir().join(format!(
        "escalated-bench-files-{}{}",
        args.tickets, args.label
    ));
    let (server, port) = start_server(&url, &files_dir, args.db_connections).await?;
    search_index_built(port, &token).await?;
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
    let ops: Vec<Op> = match args.ops.is_empty() {
        true => Op::ALL.to_vec(),
        false => args
            .ops
            .iter()
            .filter_map(|choice| match choice {
                OpChoice::Op(op) => Some(*op),
                OpChoice::None => None,
            })
            .collect(),
    };
    let load_before = load_average();
    let deep = deep_cursors(&base, &token, &args, &ops).await?;
    let rows = measure_all(&server, &base, &token, &args, &ops, &deep).await;
    let rss = server.rss_mib();
    let mut report = json(&label, &rows);
    report["rss_mib"] = rss.into();
    report["date"] = escalated::time::rfc3339(escalated::time::now()).into();
    report["load_average_before"] = load_before.into();
    if !rows.is_empty() {
        println!("{}", table(&label, &rows));
        if let Some(rss) = rss {
            println!("server RSS after the run: {rss:.1} MiB\n");
        }
    }
    extras(
        &server,
        (&url, &base),
        &token,
        &args,
        &files_dir,
        &mut report,
    )
    .await?;
    report["load_average_after"] = load_average().into();
    drop(server);
    if args.ceiling {
        let direct = ceiling(&store, &args).await?;
        println!("| ceiling | req/s | server's share |\n|---|---|---|");
        let mut entries = Vec::new();
        for (direct, rps) in &direct {
            // The server's figure of the same operation in this run, if it was measured.
            let share = rows
                .iter()
                .rfind(|m| m.op == direct.op())
                .map(|m| m.rps())
                .map(|served| served / rps * 100.0);
            println!(
                "| {} | {rps:.0} | {} |",
                direct.name(),
                share.map(|p| format!("{p:.0}%")).unwrap_or_default()
            );
            entries.push(
                serde_json::json!({"op": direct.name(), "rps": rps, "server_share_pct": share}),
            );
        }
        report["ceiling"] = entries.into();
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

/// `/proc/loadavg`'s three figures: how busy the machine was.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The deep cursors the chosen operations page from (none if they page from none).
async fn deep_cursors(
    base: &str,
    token: &str,
    args: &Args,
    ops: &[Op],
) -> anyhow::Result<DeepCursors> {
    let mut deep = DeepCursors::default();
    for order in [Order::Newest, Order::Priority] {
        if !ops.iter().any(|op| op.deep_order() == Some(order)) {
            continue;
        }
        let started = Instant::now();
        let (cursors, pages) =
            DeepCursors::fetch(base, token, order, args.tickets, args.deep_cursors).await?;
        eprintln!(
            "  deep cursors {order:?}: after pages {pages:?} of 25 ({:.1} s by page=)",
            started.elapsed().as_secs_f64()
        );
        match order {
            Order::Newest => deep.newest = cursors,
            Order::Priority => deep.priority = cursors,
        }
    }
    Ok(deep)
}

/// The change feed, the reports and the attachments, as asked; each into `report`.
async fn extras(
    server: &Server,
    (url, base): (&str, &str),
    token: &str,
    args: &Args,
    files_dir: &std::path::Path,
    report: &mut serde_json::Value,
) -> anyhow::Result<()> {
    let every = Duration::from_millis(200);
    let pid = server.child.id();
    if args.feed {
        let sampler = rss::Sampler::start(pid, every);
        let followed = feed::follow(base, token, args.feed_per_page).await?;
        let memory = sampler.finish().await;
        println!(
            "change feed, {} per page: {} tickets ({} tombstones) in {} pages, {:.1} s: \
             {:.0} tickets/s, slowest page {:.0} ms, {:.1} MB; server RSS {}\n",
            followed.per_page,
            followed.tickets,
            followed.tombstones,
            followed.pages,
            followed.seconds,
            followed.tickets_per_second(),
            followed.slowest_page_ms,
            followed.bytes as f64 / 1e6,
            memory.map(rss_text).unwrap_or_default(),
        );
        report["feed"] = followed.json();
        report["feed"]["server_rss"] = memory.map(|m| m.json()).into();
    }
    if args.reports {
        let (folded, seconds) = roll_up(url)?;
        println!(
            "report rollup: folded {folded} in {seconds:.1} s (escalated jobs roll-up-reports)"
        );
        report["rollup"] = serde_json::json!({"folded": folded, "seconds": seconds});
        let mut summaries = serde_json::Map::new();
        for (name, query) in [("all time", reports::ALL_TIME), ("last 30 days", "")] {
            let times = reports::summary_ms(base, token, query, 5).await?;
            println!(
                "report summary, {name}: median {:.0} ms, slowest {:.0} ms of {} runs",
                reports::median(&times),
                times.iter().copied().fold(0.0, f64::max),
                times.len()
            );
            summaries.insert(name.into(), times.into());
        }
        report["summary_ms"] = summaries.into();
        let sampler = rss::Sampler::start(pid, every);
        let exported = reports::export_tickets_csv(base, token).await?;
        let memory = sampler.finish().await;
        println!(
            "tickets export (CSV): {} rows, {:.1} MB in {:.1} s: {:.0} rows/s, first byte after \
             {:.0} ms; server RSS {}\n",
            exported.rows,
            exported.bytes as f64 / 1e6,
            exported.seconds,
            exported.rows_per_second(),
            exported.first_byte_ms,
            memory.map(rss_text).unwrap_or_default(),
        );
        report["export"] = exported.json();
        report["export"]["server_rss"] = memory.map(|m| m.json()).into();
    }
    if args.files {
        let figures = files::measure(
            base,
            token,
            args.file_mib * 1_048_576,
            args.file_rounds,
            files_dir,
        )
        .await?;
        println!(
            "| {} MiB file, median of {} | MiB/s |\n|---|---|\n| upload (POST /attachments) | {:.0} |\n\
             | download (GET) | {:.0} |\n| range download (second half) | {:.0} |\n\
             | std::fs::copy (as cp) | {:.0} |\n| read then write | {:.0} |\n",
            args.file_mib,
            figures.rounds,
            figures.upload,
            figures.download,
            figures.range,
            figures.fs_copy,
            figures.read_write,
        );
        report["files"] = figures.json();
        let _ = std::fs::remove_dir_all(files_dir);
    }
    Ok(())
}

/// Folds the ticket changes not yet in the reports' rollup (every seeded ticket, the first
/// time on a database) with `escalated jobs roll-up-reports`; answers its line and seconds.
fn roll_up(url: &str) -> anyhow::Result<(String, f64)> {
    let binary = std::env::current_exe()?.with_file_name("escalated");
    let started = Instant::now();
    let out = Command::new(binary)
        .args(["jobs", "roll-up-reports"])
        .env("ESCALATED_DATABASE__URL", url)
        .env("ESCALATED_LOG__LEVEL", "warn")
        .output()
        .context("running escalated jobs roll-up-reports")?;
    if !out.status.success() {
        bail!(
            "escalated jobs roll-up-reports failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok((line, started.elapsed().as_secs_f64()))
}

fn rss_text(m: rss::RssRange) -> String {
    format!(
        "{:.1} MiB before, {:.1}–{:.1} MiB during ({} samples), {:.1} MiB after",
        m.first_mib, m.min_mib, m.max_mib, m.samples, m.last_mib
    )
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
    // Seeded before the seed numbered tickets for the change feed: the feed would miss them.
    let unnumbered: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE change_seq = 0")
        .fetch_one(store.pool())
        .await?;
    let (Some(admin), true, 0) = (admin, tickets >= args.tickets, unnumbered) else {
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
