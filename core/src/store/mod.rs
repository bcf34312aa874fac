//! Storage: the only place that knows SQL.
//!
//! One `sqlx::AnyPool` serves SQLite and MySQL/MariaDB with the same statements: every time is a
//! Unix-seconds integer and every flag a 0/1 integer, the types the `Any` driver decodes on both.
//! What differs between the dialects lives in [`Dialect`]. Each module here owns the queries of
//! one aggregate; none of them decides a rule (that is `domain/`).

pub mod activities;
pub mod automations;
pub mod canned_responses;
pub mod departments;
pub mod events;
pub mod jobs;
pub mod macros;
pub mod plugin_kv;
pub mod replies;
pub mod sla;
pub mod sla_policies;
pub mod tags;
pub mod ticket_actions;
pub mod ticket_links;
pub mod tickets;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::{
    ops::{Deref, DerefMut},
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use sqlx::{
    Any, AnyConnection, AnyPool, Executor, Transaction,
    any::{AnyConnectOptions, AnyPoolOptions, AnyQueryResult},
    migrate::{MigrateDatabase, Migrator},
    pool::PoolConnection,
};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

use crate::{config::DatabaseConfig, error::Result};

/// How long a cached count may be served when this node committed nothing meanwhile: the bound
/// on how stale `meta.total` can be after another node's writes.
pub const COUNT_CACHE_TTL: Duration = Duration::from_secs(2);

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/mysql");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    MySql,
}

impl Dialect {
    pub fn of_url(url: &str) -> Dialect {
        if url.starts_with("mysql:") || url.starts_with("mariadb:") {
            Dialect::MySql
        } else {
            Dialect::Sqlite
        }
    }

    /// The dialect a connection speaks (sqlx names its drivers `MySQL` and `SQLite`).
    pub fn of_connection(conn: &AnyConnection) -> Dialect {
        if conn.backend_name() == "MySQL" {
            Dialect::MySql
        } else {
            Dialect::Sqlite
        }
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// SQLite allows one writer at a time. Queueing writers here, instead of letting them race
    /// for the file lock, turns `database is locked` errors into a short wait.
    sqlite_writer: Option<Arc<Mutex<()>>>,
    /// Woken after every commit, so readers of the event outbox need not wait for their poll.
    committed: Arc<Notify>,
    /// Counts commits made through this store: a cached figure computed at an older
    /// generation may be out of date.
    generation: Arc<AtomicU64>,
    /// Recent `COUNT(*)` results by query key, with the generation they were computed at.
    /// Counts by (key, commit generation they were computed at).
    counts: moka::future::Cache<(String, u64), i64>,
    /// `sla.pause_while_waiting_on_customer`, handed to every transaction: the one setting
    /// ticket changes depend on, whichever caller (API, macro, job) makes them.
    pause_sla_while_waiting: bool,
}

impl Store {
    /// Connects, creating the SQLite file or the MySQL database when it does not exist yet.
    pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let url = config.url.as_str();
        let dialect = Dialect::of_url(url);
        let shown = crate::config::redact_url(url);
        let in_memory = url.contains("mode=memory") || url.contains(":memory:");
        if !in_memory
            && !Any::database_exists(url)
                .await
                .with_context(|| format!("cannot reach the database {shown}"))?
        {
            Any::create_database(url)
                .await
                .with_context(|| format!("cannot create the database {shown}"))?;
            tracing::info!(database = %shown, "created the database");
        }
        let options = AnyConnectOptions::from_str(url)
            .with_context(|| format!("database.url is not a valid database URL: {shown}"))?;
        let pool = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    let setup = match dialect {
                        // WAL lets readers proceed while one writer writes.
                        Dialect::Sqlite => {
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;"
                        }
                        Dialect::MySql => "SET time_zone = '+00:00'",
                    };
                    conn.execute(setup).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to the database {shown}"))?;
        Ok(Store {
            pool,
            dialect,
            sqlite_writer: (dialect == Dialect::Sqlite).then(|| Arc::new(Mutex::new(()))),
            committed: Arc::new(Notify::new()),
            generation: Arc::new(AtomicU64::new(0)),
            counts: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(COUNT_CACHE_TTL)
                .build(),
            pause_sla_while_waiting: true,
        })
    }

    /// Sets whether the SLA clock stops while tickets wait on the customer (default: it does).
    pub fn pausing_sla_while_waiting(mut self, pause: bool) -> Store {
        self.pause_sla_while_waiting = pause;
        self
    }

    /// Applies the embedded migrations of this dialect that have not run yet.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::MySql => &MYSQL_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("running the database migrations")?;
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A pooled connection for reads.
    pub async fn conn(&self) -> Result<PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// A write transaction. Every domain operation is one of these.
    pub async fn begin(&self) -> Result<Tx> {
        let writer = match &self.sqlite_writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let tx = match self.dialect {
            // IMMEDIATE takes the write lock up front, so a transaction that reads first cannot
            // fail later when another process (a CLI job) holds the lock.
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::MySql => self.pool.begin().await?,
        };
        Ok(Tx {
            tx,
            dialect: self.dialect,
            committed: self.committed.clone(),
            generation: self.generation.clone(),
            pause_sla_while_waiting: self.pause_sla_while_waiting,
            events: Vec::new(),
            _writer: writer,
        })
    }

    /// A count by `key`, from memory when nothing was committed through this store since it
    /// was computed (and it is younger than [`COUNT_CACHE_TTL`], which bounds how long another
    /// node's writes may go unseen); else from `count`, which is then remembered. Requests
    /// that miss together wait for one `count` instead of each running it (on a large table a
    /// count is the costliest statement of a page).
    pub async fn cached_count(
        &self,
        key: String,
        count: impl Future<Output = Result<i64>>,
    ) -> Result<i64> {
        let generation = self.generation.load(Ordering::Acquire);
        self.counts
            .try_get_with((key, generation), count)
            .await
            .map_err(|err| crate::error::Error::Internal(anyhow::anyhow!("{err}")))
    }

    /// Resolves after the next commit made through this store.
    pub async fn committed(&self) {
        self.committed.notified().await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A write transaction; dropped without [`Tx::commit`] it rolls back.
pub struct Tx {
    tx: Transaction<'static, Any>,
    dialect: Dialect,
    committed: Arc<Notify>,
    generation: Arc<AtomicU64>,
    pause_sla_while_waiting: bool,
    /// Events of this transaction, written to the outbox at commit (see [`Tx::commit`]).
    events: Vec<events::NewEvent>,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether the SLA clock stops while a ticket waits on the customer (see [`Store`]).
    pub fn pauses_sla_while_waiting(&self) -> bool {
        self.pause_sla_while_waiting
    }

    /// Queues an event for the outbox; it is written when the transaction commits.
    pub fn push_event(&mut self, event: events::NewEvent) {
        self.events.push(event);
    }

    /// Writes the queued events and commits. On MySQL the outbox lock is taken first, so
    /// event ids become visible in id order across concurrent transactions.
    pub async fn commit(mut self) -> Result<()> {
        if !self.events.is_empty() {
            if self.dialect == Dialect::MySql {
                sqlx::query("SELECT id FROM outbox_lock WHERE id = 1 FOR UPDATE")
                    .execute(&mut *self.tx)
                    .await?;
            }
            for event in std::mem::take(&mut self.events) {
                events::insert(&mut self.tx, &event).await?;
            }
        }
        self.tx.commit().await?;
        self.generation.fetch_add(1, Ordering::AcqRel);
        // One permit is kept when the reader is busy, so it looks again straight after.
        self.committed.notify_one();
        Ok(())
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// The id of the row an `INSERT` just wrote. MySQL reports it with the result; the `Any` driver
/// does not for SQLite, so there it is asked for on the same connection.
pub async fn inserted_id(conn: &mut AnyConnection, result: AnyQueryResult) -> Result<i64> {
    if let Some(id) = result.last_insert_id() {
        return Ok(id);
    }
    let id: i64 = sqlx::query_scalar("SELECT last_insert_rowid()")
        .fetch_one(&mut *conn)
        .await?;
    Ok(id)
}

/// True when `err` is a unique-key violation: the database's last word when two writers claim
/// the same name at once, after the domain's own check passed for both.
pub fn is_unique_violation(err: &crate::error::Error) -> bool {
    match err {
        crate::error::Error::Internal(cause) => cause
            .downcast_ref::<sqlx::Error>()
            .and_then(|e| e.as_database_error())
            .is_some_and(|e| e.is_unique_violation()),
        _ => false,
    }
}

/// `?, ?, ?` for an `IN (...)` list of `n` values.
pub fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}
