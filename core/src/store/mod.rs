//! Storage: the only place that knows SQL.
//!
//! One `sqlx::AnyPool` serves SQLite and MySQL/MariaDB with the same statements: every time is a
//! Unix-seconds integer and every flag a 0/1 integer, the types the `Any` driver decodes on both.
//! What differs between the dialects lives in [`Dialect`]. Each module here owns the queries of
//! one aggregate; none of them decides a rule (that is `domain/`).

pub mod activities;
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

use std::{
    ops::{Deref, DerefMut},
    str::FromStr,
    sync::Arc,
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
        })
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
            events: Vec::new(),
            _writer: writer,
        })
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
    /// Events of this transaction, written to the outbox at commit (see [`Tx::commit`]).
    events: Vec<events::NewEvent>,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        self.dialect
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
