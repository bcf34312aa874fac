//! The command line: `escalated serve | migrate | user create|list|deactivate |
//! token create|list|revoke | openapi | seed | jobs | plugins list`.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::{
    api, app,
    config::Config,
    domain::{
        tokens::{self, Expiry, NewTokenInput},
        users::{self, NewUser},
    },
    error::Error,
    jobs::{self, Job},
    plugins::{self, PluginHost},
    server,
    store::{
        Store,
        keyset::{Position, Window},
    },
    telemetry,
    time::Clock,
};

#[derive(Debug, Parser)]
#[command(
    name = "escalated",
    version,
    about = "Escalated: a self-hosted helpdesk API server"
)]
pub struct Cli {
    /// Settings file (default: ./escalated.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database and serve the API (creates the first admin on an empty database).
    Serve {
        /// Exit with an error when a library in plugins.dir cannot be loaded as a plugin
        /// (the same as plugins.strict = true).
        #[arg(long)]
        strict_plugins: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the OpenAPI document (JSON) of the core API (without plugins' endpoints).
    Openapi,
    /// Fill the database with demo data: agents, departments, tags, canned responses, macros,
    /// and tickets with conversations.
    Seed {
        /// Required, so seeding is never done by accident.
        #[arg(long)]
        demo: bool,
        /// How many tickets.
        #[arg(long, default_value_t = crate::seed::DEMO_TICKETS as u32, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        tickets: u32,
    },
    /// Run a scheduled job once, now (safe while servers are serving the same database).
    Jobs {
        #[arg(value_enum)]
        job: Job,
    },
    /// Native plugins.
    #[command(subcommand)]
    Plugins(PluginsCommand),
}

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// The libraries found in plugins.dir: which load and which are refused, and why.
    List,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// admin, agent or customer.
        #[arg(long)]
        role: String,
    },
    /// List users by id: id, role, status, email and name.
    List,
    /// Deactivate a user (users are never deleted): their tokens stop working.
    Deactivate {
        /// The user's id or email.
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; the plain token is the last line printed.
    Create {
        /// The owner's email (an active agent or admin).
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
        /// Comma-separated: tickets:read,tickets:write,tickets:delete,admin,*,agent.
        #[arg(long, value_delimiter = ',')]
        abilities: Vec<String>,
        #[arg(long, value_name = "N")]
        expires_in_days: Option<i64>,
        /// Requests per minute for this token (default: api.rate_limit).
        #[arg(long, value_name = "N")]
        rate_limit: Option<i64>,
    },
    /// List tokens by id (never their secrets): id, owner, name, abilities, expiry, last use.
    List,
    /// Revoke a token. A running server stops accepting it within auth.token_cache_seconds.
    Revoke {
        /// The token's id (see `token list`).
        id: i64,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match app::load_config(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("escalated: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log);
    crate::server::memory::tune_allocator();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("escalated: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("escalated: {}", describe(&err));
            ExitCode::FAILURE
        }
    }
}

/// Validation errors list their fields; anything else shows its cause chain.
fn describe(err: &anyhow::Error) -> String {
    match err.downcast_ref::<Error>() {
        Some(Error::Validation(fields)) | Some(Error::Rejected { errors: fields, .. }) => fields
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect::<Vec<_>>()
            .join("; "),
        _ => format!("{err:#}"),
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { strict_plugins } => {
            let mut config = config;
            config.plugins.strict |= strict_plugins;
            serve(config).await
        }
        Command::Plugins(PluginsCommand::List) => {
            list_plugins(&config);
            Ok(())
        }
        Command::Migrate => {
            let store = Store::connect(&config.database).await?;
            store.migrate().await?;
            println!("Migrations applied.");
            Ok(())
        }
        Command::Seed { demo, tickets } => {
            if !demo {
                bail!("say --demo to seed demo data (nothing else can be seeded yet)");
            }
            let store = ready_store(&config).await?;
            let rules = crate::app::ticket_rules(&config)?;
            let clock = Clock::system();
            let scripts = crate::domain::scripts::Scripts::new(&config.scripts);
            let blobs = crate::blobs::Blobs::open(&config.attachments)?;
            // One transaction: a failure anywhere leaves the database as it was.
            let (admin_token, report) = store
                .in_one_transaction(async |store| {
                    let admin_token = crate::domain::bootstrap::first_admin(store).await?;
                    let report = crate::seed::demo(
                        store,
                        &scripts,
                        (&rules, &clock),
                        tickets as usize,
                        &config.tickets.reference_prefix,
                    )
                    .await?;
                    if report.is_some() {
                        crate::seed::demo_attachment(
                            store,
                            &blobs,
                            &config.attachments,
                            (&rules, &clock),
                        )
                        .await?;
                    }
                    Ok((admin_token, report))
                })
                .await?;
            match report {
                Some(report) => println!(
                    "Seeded {} agents (password-less; make tokens with `escalated token create`), {} tickets and {} replies.",
                    report.agents, report.tickets, report.replies
                ),
                None => println!("The demo data is already in this database; nothing was added."),
            }
            if let Some(token) = admin_token {
                println!(
                    "Created the first admin ({}). Its API token, shown only this once:",
                    crate::domain::bootstrap::ADMIN_EMAIL
                );
                println!("{token}");
            }
            store.close().await;
            Ok(())
        }
        Command::Jobs { job } => {
            let store = ready_store(&config).await?;
            match jobs::run(job, &store, &config, Clock::system().now()).await? {
                Some(summary) => println!("{}: {summary}.", job.name()),
                None => println!("{}: skipped, another node is running it.", job.name()),
            }
            Ok(())
        }
        Command::Openapi => {
            println!("{}", api::spec_json(&config.api.prefix));
            Ok(())
        }
        Command::User(UserCommand::Create { name, email, role }) => {
            let store = ready_store(&config).await?;
            let user = users::create(
                &store,
                NewUser {
                    name,
                    email,
                    role,
                    is_active: Some(true),
                },
            )
            .await?;
            println!(
                "Created {} {} <{}> (id {}).",
                user.role, user.name, user.email, user.id
            );
            Ok(())
        }
        Command::User(UserCommand::List) => {
            let store = ready_store(&config).await?;
            list_users(&store).await?;
            store.close().await;
            Ok(())
        }
        Command::User(UserCommand::Deactivate { user }) => {
            let store = ready_store(&config).await?;
            let found = match user.parse::<i64>() {
                Ok(id) => users::find(&store, id).await?,
                Err(_) => users::find_by_email(&store, &user).await?,
            };
            let Some(found) = found else {
                bail!("no user {user}");
            };
            if found.is_active {
                users::deactivate(&store, found.id).await?;
                println!(
                    "Deactivated {} {} <{}> (id {}); their tokens stop working.",
                    found.role, found.name, found.email, found.id
                );
            } else {
                println!("{} (id {}) was already inactive.", found.email, found.id);
            }
            store.close().await;
            Ok(())
        }
        Command::Token(TokenCommand::List) => {
            let store = ready_store(&config).await?;
            list_tokens(&store).await?;
            store.close().await;
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let store = ready_store(&config).await?;
            let token = tokens::find(&store, id).await?;
            tokens::revoke(&store, id).await?;
            println!(
                "Revoked token {} ({}) of {}. A running server refuses it within auth.token_cache_seconds ({} s).",
                token.id, token.name, token.user_email, config.auth.token_cache_seconds
            );
            store.close().await;
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            user,
            name,
            abilities,
            expires_in_days,
            rate_limit,
        }) => {
            let store = ready_store(&config).await?;
            let Some(owner) = users::find_by_email(&store, &user).await? else {
                bail!("no user with the email {user}");
            };
            let (token, plain) = tokens::create(
                &store,
                NewTokenInput {
                    user_id: owner.id,
                    name,
                    abilities,
                    expiry: Expiry {
                        at: None,
                        in_days: expires_in_days,
                    },
                    rate_limit,
                },
            )
            .await?;
            eprintln!(
                "Created token {} for {} (id {}).",
                token.name, owner.email, token.id
            );
            println!("{plain}");
            Ok(())
        }
    }
}

/// Rows fetched per query when listing.
const LIST_PAGE: i64 = 100;

async fn list_users(store: &Store) -> anyhow::Result<()> {
    println!(
        "{:>6}  {:<8}  {:<8}  {:<40}  NAME",
        "ID", "ROLE", "STATUS", "EMAIL"
    );
    // By id from a position, not by offset: a user created meanwhile shifts nothing.
    let mut after = None;
    loop {
        let window = Window::After {
            limit: LIST_PAGE,
            after: after.take(),
        };
        let page = users::page(store, &window).await?;
        for user in &page.items {
            let status = if user.is_active { "active" } else { "inactive" };
            println!(
                "{:>6}  {:<8}  {:<8}  {:<40}  {}",
                user.id, user.role, status, user.email, user.name
            );
        }
        match page.items.last().filter(|_| page.more) {
            Some(last) => after = Some(Position::id(last.id)),
            None => return Ok(()),
        }
    }
}

async fn list_tokens(store: &Store) -> anyhow::Result<()> {
    let now = crate::time::now();
    println!(
        "{:>6}  {:<32}  {:<24}  {:<30}  {:<20}  LAST USED",
        "ID", "OWNER", "NAME", "ABILITIES", "EXPIRES"
    );
    let mut after = None;
    loop {
        let window = Window::After {
            limit: LIST_PAGE,
            after: after.take(),
        };
        let page = tokens::page(store, &window).await?;
        for token in &page.items {
            let expires = match token.expires_at {
                Some(at) if token.is_expired(now) => {
                    format!("expired {}", crate::time::rfc3339(at))
                }
                Some(at) => crate::time::rfc3339(at),
                None => "never".into(),
            };
            let last_used = token
                .last_used_at
                .map_or_else(|| "never".into(), crate::time::rfc3339);
            println!(
                "{:>6}  {:<32}  {:<24}  {:<30}  {:<20}  {last_used}",
                token.id,
                token.user_email,
                token.name,
                token.abilities.join(","),
                expires
            );
        }
        match page.items.last().filter(|_| page.more) {
            Some(last) => after = Some(Position::id(last.id)),
            None => return Ok(()),
        }
    }
}

fn list_plugins(config: &Config) {
    let dir = &config.plugins.dir;
    let reports = PluginHost::inspect(std::path::Path::new(dir));
    println!(
        "Plugins in {dir} (server {}, plugin ABI version {}): {} found",
        plugins::HOST_VERSION,
        escalated_plugin_sdk::ABI_VERSION,
        reports.len()
    );
    for report in &reports {
        println!("  {}", report.line());
    }
}

async fn ready_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database).await?;
    store.migrate().await?;
    Ok(store)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let prefix = config.api.prefix.clone();
    let database = crate::config::redact_url(&config.database.url);
    // A database that cannot be written would answer every write with 500: say why now.
    let store = ready_store(&config).await?;
    let writable = store.check_writable().await;
    store.close().await;
    writable.with_context(|| format!("cannot serve {database}"))?;
    let running = server::start(config, Clock::system(), server::shutdown_signal())
        .await
        .context("cannot start the server")?;
    tracing::info!(address = %running.addr, %database, "serving");
    println!("Escalated is serving http://{}{prefix}", running.addr);
    println!("API docs: http://{}{prefix}/docs", running.addr);
    if let Some(token) = &running.bootstrap_token {
        println!(
            "Created the first admin ({}). Its API token, shown only this once:",
            crate::domain::bootstrap::ADMIN_EMAIL
        );
        println!("{token}");
    }
    running.wait().await
}
