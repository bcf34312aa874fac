//! Storage: the only place that knows SQL.
//!
//! One `sqlx::AnyPool` serves SQLite and MySQL/MariaDB with the same statements: every time is a
//! Unix-seconds integer and every flag a 0/1 integer, the types the `Any` driver decodes on both.
//! What differs between the dialects lives in [`dialect`]: a store function learns the dialect
//! from its connection, and the statements that differ are written once there. Each module
//! here owns the queries of one aggregate; none of them decides a rule (that is `domain/`).

pub mod activities;
pub mod attachments;
pub mod automations;
pub mod canned_responses;
mod checkpoint;
pub mod delivery_queue;
pub mod departments;
mod dialect;
pub mod email;
pub mod events;
mod galera;
mod group_commit;
pub mod health;
pub mod idempotency;
pub mod jobs;
pub mod keyset;
pub mod macros;
mod one_transaction;
pub mod plugin_kv;
pub mod records;
pub mod remembered;
pub mod replies;
pub mod report_rollup;
pub mod reports;
pub mod sla;
pub mod sla_policies;
pub mod tags;
pub mod ticket_actions;
pub mod ticket_links;
pub mod tickets;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod word_index;
mod writable;

use std::{
    ops::{Deref, DerefMut},
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use sqlx::{
    Any, AnyConnection, AnyPool, QueryBuilder, Transaction,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::{MigrateDatabase, Migrator},
};
use tokio::sync::Notify;

use crate::{
    config::DatabaseConfig,
    error::{Error, Result},
    time::Clock,
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/mysql");

pub use dialect::Dialect;

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// Whether the database is a Galera node (see [`galera`]).
    galera: Arc<AtomicBool>,
    /// SQLite allows one writer at a time: writes queue here (instead of racing for the file
    /// lock) and the queue is committed in batches (see [`group_commit`]).
    sqlite_writer: Option<Arc<group_commit::GroupCommit>>,
    commits: Arc<Commits>,
    /// Remembered `COUNT(*)` results and full-text match sets (see [`remembered`]).
    counts: remembered::Remembered<i64>,
    match_sets: remembered::Remembered<remembered::MatchSet>,
    /// The search index in memory (see [`word_index`]), built when the server starts.
    word_index: Arc<word_index::WordIndex>,
    /// SQLite's background checkpoints (see [`checkpoint`]).
    #[cfg_attr(not(test), allow(dead_code))]
    checkpoints: Option<checkpoint::Turn>,
    /// Inside [`Store::in_one_transaction`]: the transaction's connection, which every read and
    /// write of this handle uses.
    pinned: Option<one_transaction::Pinned>,
    /// See [`Store::after_ticket_commit`]; shared by every clone.
    after_commit: Arc<std::sync::RwLock<Option<CommitHook>>>,
}

/// What [`Store::after_ticket_commit`] runs.
pub type CommitHook = Arc<dyn Fn() -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

pub use one_transaction::Conn;

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
        // Set once the pool is up (see [`galera`]).
        let galera = Arc::new(AtomicBool::new(false));
        let options = AnyConnectOptions::from_str(url)
            .with_context(|| format!("database.url is not a valid database URL: {shown}"))?;
        let heap_bytes = u64::from(config.sqlite_heap_mib) << 20;
        let lock_wait = config.lock_wait_seconds;
        let pool = AnyPoolOptions::new()
            .max_connections(pool_size(config, dialect))
            .acquire_timeout(Duration::from_millis(config.acquire_timeout_ms))
            // A ping before every use is a round trip to the connection's thread on SQLite (an
            // in-process file that cannot go away); on MySQL it notices a server restart.
            .test_before_acquire(dialect == Dialect::MySql)
            .after_release({
                let galera = galera.clone();
                move |conn, _| {
                    let galera = galera.load(Ordering::Acquire);
                    Box::pin(async move { Ok(!galera || galera::restore(conn).await) })
                }
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    let setup = match dialect {
                        // WAL lets readers proceed while one writer writes; the log is copied
                        // back in the background ([`checkpoint`]), and a log that grew under a
                        // burst is cut back to 64 MiB when it starts over. The heap limit is
                        // the process's (the same on every connection): the connections' page
                        // caches share it instead of each growing to its own 2 MiB.
                        Dialect::Sqlite => format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
                             PRAGMA soft_heap_limit = {heap_bytes};"
                        ),
                        Dialect::MySql => format!(
                            "SET time_zone = '+00:00', innodb_lock_wait_timeout = {lock_wait}"
                        ),
                    };
                    // The values formatted in are numbers from the configuration.
                    sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to the database {shown}"))?;
        if dialect == Dialect::MySql && galera::detect(&pool).await {
            tracing::info!("the database is a Galera node: write transactions are kept whole");
            galera.store(true, Ordering::Release);
        }
        let commits = Arc::new(Commits::default());
        let slow = Duration::from_millis(config.slow_count_ms);
        let clock = Clock::system();
        let counts =
            remembered::Remembered::counts(commits.generation.clone(), slow, clock.clone());
        let match_sets =
            remembered::Remembered::match_sets(commits.search_text_generation.clone(), slow, clock);
        let checkpoints =
            (dialect == Dialect::Sqlite && !in_memory).then(|| checkpoint::spawn(pool.clone()));
        Ok(Store {
            sqlite_writer: (dialect == Dialect::Sqlite)
                .then(|| group_commit::GroupCommit::new(pool.clone(), commits.clone())),
            pool,
            dialect,
            galera,
            commits,
            counts,
            match_sets,
            word_index: Arc::default(),
            checkpoints,
            pinned: None,
            after_commit: Arc::default(),
        })
    }

    /// Reads the age of remembered figures from `clock` (the server's) instead of the system
    /// clock. Call it before the store is cloned.
    pub fn timed_by(mut self, clock: &Clock) -> Store {
        self.counts.timed_by(clock.clone());
        self.match_sets.timed_by(clock.clone());
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

    /// Whether a transaction can lose to a concurrent one and be rolled back (MySQL and
    /// MariaDB: deadlocks, Galera certification); SQLite's single writer never does.
    pub fn may_conflict(&self) -> bool {
        self.dialect == Dialect::MySql
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Runs `hook` after every commit that changed a ticket, before the committing request goes
    /// on (`None` removes it). For tests only: the way to make the database fail at the worst
    /// moment, right after a write committed (tests/api/outage.rs). The server never sets it.
    pub fn after_ticket_commit(&self, hook: Option<CommitHook>) {
        if let Ok(mut slot) = self.after_commit.write() {
            *slot = hook;
        }
    }

    /// A pooled connection for reads.
    pub async fn conn(&self) -> Result<Conn> {
        Ok(match &self.pinned {
            Some(pinned) => Conn::Pinned(one_transaction::lock(pinned).await?),
            None => Conn::Pooled(self.pool.acquire().await?),
        })
    }

    /// A write of one statement that needs no transaction around it: on MySQL a pooled
    /// connection in autocommit mode (no `BEGIN` and `COMMIT` round trips, nor Galera's guard
    /// around them); on SQLite a [`Tx`], to queue behind its one writer.
    pub async fn one_statement(&self) -> Result<OneStatement> {
        Ok(match (&self.pinned, &self.sqlite_writer) {
            (None, Some(_)) => OneStatement::Queued(self.begin().await?),
            _ => OneStatement::Alone(self.conn().await?),
        })
    }

    /// A write transaction. Every domain operation is one of these.
    pub async fn begin(&self) -> Result<Tx> {
        let conn = match (&self.pinned, &self.sqlite_writer) {
            (Some(pinned), _) => {
                TxConn::Savepoint(one_transaction::Savepoint::begin(pinned).await?)
            }
            (None, Some(writer)) => TxConn::Member(writer.join().await?),
            (None, None) => {
                let mut tx = self.pool.begin().await?;
                if self.galera.load(Ordering::Acquire) {
                    galera::guard(&mut tx).await?;
                }
                TxConn::Own(tx)
            }
        };
        Ok(Tx {
            galera: matches!(conn, TxConn::Own(_)) && self.galera.load(Ordering::Acquire),
            conn,
            dialect: self.dialect,
            commits: self.commits.clone(),
            activities: Vec::new(),
            events: Vec::new(),
            effects: Effects::NONE,
            keeps_list_members: false,
            touched: Vec::new(),
            stamped: None,
            after_commit: self.after_commit.read().ok().and_then(|hook| hook.clone()),
        })
    }

    /// A count by `key` to show as a total: from memory unless this node committed since it
    /// was taken and taking it is quick, else from `count` (the rules are in [`remembered`]).
    pub async fn cached_count<F, Fut>(&self, key: String, count: F) -> Result<i64>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<i64>> + Send + 'static,
    {
        self.counts.get(key, remembered::Need::Exact, count).await
    }

    /// A count by `key` to choose a plan by: any remembered figure, else from `count`.
    pub async fn estimated_count<F, Fut>(&self, key: String, count: F) -> Result<i64>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<i64>> + Send + 'static,
    {
        self.counts
            .get(key, remembered::Need::Estimate, count)
            .await
    }

    /// The ids a search matches, by `key`, under the same rules as [`Store::cached_count`],
    /// except that only this node's commits that created tickets make it out of date (a
    /// ticket's searchable text is written once, with the ticket).
    pub async fn cached_match_set<F, Fut>(
        &self,
        key: String,
        read: F,
    ) -> Result<remembered::MatchSet>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<i64>>> + Send + 'static,
    {
        let read = move || async move { Ok(Arc::new(read().await?.into_iter().collect())) };
        self.match_sets
            .get(key, remembered::Need::Exact, read)
            .await
    }

    /// The search index in memory (not built until [`word_index::WordIndex::build`] runs).
    pub fn word_index(&self) -> &word_index::WordIndex {
        &self.word_index
    }

    /// Resolves after the next commit made through this store.
    pub async fn committed(&self) {
        self.commits.notify.notified().await
    }

    pub async fn close(&self) {
        if let Some(writer) = &self.sqlite_writer {
            writer.close().await;
        }
        self.pool.close().await;
    }
}

/// A store on a fresh SQLite file, for tests; the file goes with the returned directory.
#[cfg(test)]
pub(crate) async fn scratch_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&DatabaseConfig {
        url: format!("sqlite://{}", dir.path().join("db.sqlite").display()),
        max_connections: 4,
        ..DatabaseConfig::default()
    })
    .await
    .unwrap();
    (store, dir)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use sqlx::{Any, QueryBuilder};

    use super::{PADDED_UP_TO, push_in_list, scratch_store};

    /// By default (0) the pool's size follows the database; set, it is taken as it is.
    #[test]
    fn the_pool_size_follows_the_database_unless_set() {
        use super::{DatabaseConfig, Dialect, pool_size};
        let default = DatabaseConfig::default();
        assert_eq!(pool_size(&default, Dialect::Sqlite), 10);
        assert_eq!(pool_size(&default, Dialect::MySql), 16);
        let set = DatabaseConfig {
            max_connections: 3,
            ..default
        };
        assert_eq!(pool_size(&set, Dialect::MySql), 3);
    }

    /// Lists of every length up to the padded one make 11 statement texts, and a padded list
    /// still matches each row once.
    #[tokio::test]
    async fn in_lists_are_padded_to_few_statement_texts() {
        let texts: HashSet<String> = (1..=PADDED_UP_TO as i64)
            .map(|n| {
                let mut q = QueryBuilder::<Any>::new("SELECT 1 WHERE 1 IN (");
                push_in_list(&mut q, 1..=n);
                q.push(")");
                q.into_string()
            })
            .collect();
        assert_eq!(texts.len(), 11);

        let (store, _dir) = scratch_store().await;
        let mut conn = store.conn().await.unwrap();
        sqlx::query("CREATE TABLE scratch (id INTEGER PRIMARY KEY)")
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO scratch (id) VALUES (1), (2), (3), (4), (5), (6)")
            .execute(&mut *conn)
            .await
            .unwrap();
        let mut q = QueryBuilder::<Any>::new("SELECT id FROM scratch WHERE id IN (");
        push_in_list(&mut q, [2_i64, 3, 5]);
        q.push(") ORDER BY id");
        assert_eq!(q.sql().as_str().matches('?').count(), 4);
        let found: Vec<i64> = q.build_query_scalar().fetch_all(&mut *conn).await.unwrap();
        assert_eq!(found, [2, 3, 5]);
    }

    /// Every SQLite connection shares the configured heap limit (the same value on every store
    /// of the process, so other tests connecting meanwhile cannot change what this one reads).
    #[tokio::test]
    async fn sqlite_connections_share_the_configured_heap_limit() {
        let (store, _dir) = scratch_store().await;
        let limit: i64 = sqlx::query_scalar("PRAGMA soft_heap_limit")
            .fetch_one(&mut *store.conn().await.unwrap())
            .await
            .unwrap();
        let mib = super::DatabaseConfig::default().sqlite_heap_mib;
        assert_eq!(limit, i64::from(mib) << 20);
    }

    /// Which commits make the remembered totals out of date: those that touch a ticket, unless
    /// their caller said they move none, and whatever it said once a write marks a move.
    #[tokio::test]
    async fn only_commits_that_may_move_a_ticket_change_the_totals() {
        let (store, _dir) = scratch_store().await;
        store.migrate().await.unwrap();
        let generation = || {
            store
                .commits
                .generation
                .load(std::sync::atomic::Ordering::Acquire)
        };
        let commit = async |touch: bool, keeps: bool, moves: bool| {
            let before = generation();
            let mut tx = store.begin().await.unwrap();
            if touch {
                tx.touch_ticket(1);
            }
            if keeps {
                tx.keeps_list_members();
            }
            if moves {
                tx.changes_list_members();
            }
            tx.commit().await.unwrap();
            generation() > before
        };
        assert!(!commit(false, false, false).await, "no ticket touched");
        assert!(commit(true, false, false).await, "a ticket touched");
        assert!(
            !commit(true, true, false).await,
            "a ticket touched, none moved"
        );
        assert!(
            commit(true, true, true).await,
            "said to move none, but one moved"
        );
        assert!(commit(false, false, true).await, "a move marked");
    }
}

/// What every commit through a store announces.
#[derive(Default)]
struct Commits {
    /// Counts the commits that may change which tickets a list holds: a total computed at an
    /// older generation may be out of date.
    generation: Arc<AtomicU64>,
    /// Counts the commits that added text to the search index (created tickets).
    search_text_generation: Arc<AtomicU64>,
    /// Woken after every commit, so readers of the event outbox need not wait for their poll.
    notify: Notify,
}

/// What a commit may have changed, for the figures remembered from before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Effects {
    /// It created tickets, whose text the remembered match sets do not hold yet.
    pub search_text: bool,
    /// It may have changed which tickets a list holds (the remembered totals).
    pub list_members: bool,
}

impl Effects {
    /// What nothing committed changed, to gather a batch's members into.
    pub const NONE: Effects = Effects {
        search_text: false,
        list_members: false,
    };
    /// Anything at all.
    pub const ALL: Effects = Effects {
        search_text: true,
        list_members: true,
    };
}

impl std::ops::BitOrAssign for Effects {
    fn bitor_assign(&mut self, other: Effects) {
        self.search_text |= other.search_text;
        self.list_members |= other.list_members;
    }
}

impl Commits {
    fn record(&self, effects: Effects) {
        if effects.search_text {
            self.search_text_generation.fetch_add(1, Ordering::AcqRel);
        }
        if effects.list_members {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        // One permit is kept when the reader is busy, so it looks again straight after.
        self.notify.notify_one();
    }
}

/// A write transaction; dropped without [`Tx::commit`] it rolls back.
pub struct Tx {
    conn: TxConn,
    dialect: Dialect,
    /// Kept whole on a Galera node (see [`galera`]).
    galera: bool,
    commits: Arc<Commits>,
    /// History rows of this transaction, written at commit (see [`Tx::commit`]).
    activities: Vec<activities::NewActivity>,
    /// Events of this transaction, written to the outbox at commit (see [`Tx::commit`]).
    events: Vec<events::NewEvent>,
    /// What it may change of the remembered figures (see [`Tx::keeps_list_members`]).
    effects: Effects,
    /// Whether its caller said which tickets a list holds stays as it is.
    keeps_list_members: bool,
    /// The tickets it changes, which get the next change number as it commits.
    touched: Vec<i64>,
    /// The change number taken early by [`Tx::stamp_changes`], if it was.
    stamped: Option<i64>,
    /// A test's [`Store::after_ticket_commit`].
    after_commit: Option<CommitHook>,
}

enum TxConn {
    /// MySQL: a transaction of its own; InnoDB runs many at once.
    Own(Transaction<'static, Any>),
    /// SQLite: a member of the single writer's batch.
    Member(group_commit::Member),
    /// Inside [`Store::in_one_transaction`]: a savepoint of that transaction.
    Savepoint(one_transaction::Savepoint),
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Marks the transaction as adding text to the search index (see [`Store::cached_match_set`]).
    pub(crate) fn adds_search_text(&mut self) {
        self.effects.search_text = true;
    }

    /// Says that this transaction, as its caller knows all of its writes, leaves every ticket
    /// list with the tickets it held (no ticket created or deleted, no filtered column or
    /// follower changed): a reply. Then the remembered totals stay exact after it commits.
    /// [`Tx::changes_list_members`] overrides it.
    pub fn keeps_list_members(&mut self) {
        self.keeps_list_members = true;
    }

    /// Marks a write that changes which tickets a list holds, whatever the caller said.
    pub fn changes_list_members(&mut self) {
        self.effects.list_members = true;
    }

    /// What this transaction's commit may change of the remembered figures. Which tickets a
    /// list holds follows from the tickets' rows and followers alone, and every change to
    /// those touches its ticket (the change feed's rule, see [`Tx::touch_ticket`]), so a
    /// transaction that touches no ticket (an admin item, a webhook's cursor, a job's lease)
    /// changes no total.
    fn effects(&self) -> Effects {
        let touches_tickets = !self.touched.is_empty() || self.stamped.is_some();
        Effects {
            search_text: self.effects.search_text,
            list_members: self.effects.list_members
                || (touches_tickets && !self.keeps_list_members),
        }
    }

    /// Marks the ticket `id` as changed by this transaction: as it commits, the ticket gets
    /// the next number of the change sequence (the change feed's order and the ticket's
    /// version, see docs/sync.md).
    pub fn touch_ticket(&mut self, id: i64) {
        if !self.touched.contains(&id) {
            self.touched.push(id);
        }
    }

    /// Takes this transaction's change number now rather than at commit, stamps the tickets
    /// changed so far with it and returns it: the tickets' new version (their ETag), for a
    /// write that answers it from inside its transaction. Tickets changed later get the same
    /// number at commit. On MySQL the sequence row is locked from here to the commit, as it
    /// would be from the commit's first statements: keep what follows short.
    pub async fn stamp_changes(&mut self) -> Result<i64> {
        let seq = match self.stamped {
            Some(seq) => seq,
            None => {
                let seq = match self.dialect {
                    Dialect::Sqlite => {
                        sqlx::query_scalar::<_, i64>(tickets::NEXT_CHANGE_RETURNING)
                            .fetch_one(&mut **self)
                            .await?
                    }
                    Dialect::MySql => {
                        sqlx::query(tickets::NEXT_CHANGE)
                            .execute(&mut **self)
                            .await?;
                        sqlx::query_scalar::<_, i64>(tickets::CURRENT_CHANGE)
                            .fetch_one(&mut **self)
                            .await?
                    }
                };
                self.stamped = Some(seq);
                seq
            }
        };
        let touched = std::mem::take(&mut self.touched);
        if !touched.is_empty() {
            let mut q = QueryBuilder::<Any>::new("");
            tickets::push_stamp_changes(&mut q, &touched);
            q.build().execute(&mut **self).await?;
        }
        Ok(seq)
    }

    /// Queues an event for the outbox; it is written when the transaction commits.
    pub fn push_event(&mut self, event: events::NewEvent) {
        self.events.push(event);
    }

    /// Queues a history row; it is written when the transaction commits, or before by
    /// [`Tx::write_history`] for a reader of the history inside the transaction.
    pub fn push_activity(&mut self, activity: activities::NewActivity) {
        self.activities.push(activity);
    }

    /// Writes the queued history rows now, so a read inside this transaction sees them.
    pub async fn write_history(&mut self) -> Result<()> {
        let activities = std::mem::take(&mut self.activities);
        if !activities.is_empty() {
            let mut q = QueryBuilder::<Any>::new("");
            activities::push_insert(&mut q, &activities);
            q.build().execute(&mut **self).await?;
        }
        Ok(())
    }

    /// Writes the queued history rows and events, and commits. Each table's rows go in one
    /// statement; on SQLite both statements and the release of the member's savepoint go in
    /// one round trip (its connection runs on a thread of its own, and the write lock is held
    /// meanwhile). On MySQL the outbox row is written first (its lock held to the commit), so
    /// event ids become visible in id order across concurrent transactions, on every node of a
    /// Galera cluster too.
    pub async fn commit(mut self) -> Result<()> {
        let effects = self.effects();
        let events = std::mem::take(&mut self.events);
        // A keyed request's first commit inserts its claim, so the claim exists exactly when
        // the write does.
        let claim = idempotency::unmarked_claim();
        let touched = std::mem::take(&mut self.touched);
        let after_commit = self
            .after_commit
            .take()
            .filter(|_| !touched.is_empty() || self.stamped.is_some());
        if self.dialect == Dialect::MySql {
            // MySQL's prepared statements take one statement per call.
            self.write_history().await?;
            if let Some(claim) = &claim {
                // First: a duplicate's insert waits here for the first claim's commit, then
                // fails, before this transaction takes the sequence or outbox locks.
                let mut q = QueryBuilder::<Any>::new("");
                idempotency::push_claim(&mut q, claim, crate::time::now());
                let inserted = q.build().execute(&mut *self).await.map_err(Error::from);
                if let Err(err) = inserted {
                    idempotency::settle(claim, Err(&err));
                    return Err(err);
                }
            }
            // The sequence row's lock is held to the commit, so change numbers become visible
            // in order (like event ids under the outbox lock, which is always taken second).
            if !touched.is_empty() {
                if self.stamped.is_none() {
                    sqlx::query(tickets::NEXT_CHANGE)
                        .execute(&mut *self)
                        .await?;
                }
                let mut q = QueryBuilder::<Any>::new("");
                tickets::push_stamp_changes(&mut q, &touched);
                q.build().execute(&mut *self).await?;
            }
            if !events.is_empty() {
                // A write, not only a lock: on Galera a lock does not reach the other nodes,
                // but two writes of the row conflict there (one is rolled back and retried).
                sqlx::query("UPDATE outbox_lock SET writes = writes + 1 WHERE id = 1")
                    .execute(&mut *self)
                    .await?;
            }
        }
        let activities = std::mem::take(&mut self.activities);
        let mut q = QueryBuilder::<Any>::new("");
        let mut queued = false;
        let mut next = |q: &mut QueryBuilder<Any>| {
            if std::mem::replace(&mut queued, true) {
                q.push("; ");
            }
        };
        if let Some(claim) = claim.as_deref().filter(|_| self.dialect == Dialect::Sqlite) {
            next(&mut q);
            idempotency::push_claim(&mut q, claim, crate::time::now());
        }
        if !activities.is_empty() {
            next(&mut q);
            activities::push_insert(&mut q, &activities);
        }
        if !touched.is_empty() && self.dialect == Dialect::Sqlite {
            if self.stamped.is_none() {
                next(&mut q);
                q.push(tickets::NEXT_CHANGE);
            }
            next(&mut q);
            tickets::push_stamp_changes(&mut q, &touched);
        }
        if !events.is_empty() {
            next(&mut q);
            events::push_insert(&mut q, &events);
        }
        let outcome = match self.conn {
            TxConn::Member(member) => member.commit(q, queued, effects).await,
            TxConn::Savepoint(mut savepoint) => {
                if queued {
                    q.build().execute(savepoint.connection_mut()).await?;
                }
                savepoint.release().await
            }
            TxConn::Own(mut tx) => {
                if queued {
                    q.build().execute(&mut *tx).await?;
                }
                if self.galera {
                    galera::check_whole(&mut tx).await?;
                }
                tx.commit().await?;
                self.commits.record(effects);
                Ok(())
            }
        };
        if outcome.is_ok() {
            crate::conflicts::note_commit();
        }
        if let Some(claim) = &claim {
            idempotency::settle(claim, outcome.as_ref().map(|_| ()));
        }
        if let (Ok(()), Some(hook)) = (&outcome, after_commit) {
            hook().await;
        }
        outcome
    }
}

/// See [`Store::one_statement`].
pub enum OneStatement {
    Alone(Conn),
    Queued(Tx),
}

impl OneStatement {
    /// Commits the statement (it already has, alone).
    pub async fn commit(self) -> Result<()> {
        match self {
            OneStatement::Alone(_) => Ok(()),
            OneStatement::Queued(tx) => tx.commit().await,
        }
    }
}

impl Deref for OneStatement {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            OneStatement::Alone(conn) => conn,
            OneStatement::Queued(tx) => tx,
        }
    }
}

impl DerefMut for OneStatement {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            OneStatement::Alone(conn) => conn,
            OneStatement::Queued(tx) => tx,
        }
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.conn {
            TxConn::Own(tx) => tx,
            TxConn::Member(member) => member.connection(),
            TxConn::Savepoint(savepoint) => savepoint.connection(),
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            TxConn::Own(tx) => tx,
            TxConn::Member(member) => member.connection_mut(),
            TxConn::Savepoint(savepoint) => savepoint.connection_mut(),
        }
    }
}

/// A statement with its arguments, for either database.
pub type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

/// Runs the `INSERT` statement `sql` with the arguments `bind` adds, and returns the new row's
/// id. On SQLite it asks with `RETURNING id`: the `Any` driver drops SQLite's last rowid, and
/// asking for it afterwards is a second round trip to the connection's thread (with the write
/// lock held). MySQL reports the id with the result (and has no `RETURNING`).
pub async fn insert_returning_id<'q>(
    conn: &mut AnyConnection,
    sql: &'static str,
    bind: impl FnOnce(AnyQuery<'q>) -> AnyQuery<'q>,
) -> Result<i64> {
    match Dialect::of_connection(conn) {
        Dialect::Sqlite => {
            let query = sqlx::query(sqlx::AssertSqlSafe(format!("{sql} RETURNING id")));
            Ok(sqlx::Row::try_get(&bind(query).fetch_one(conn).await?, 0)?)
        }
        Dialect::MySql => {
            let result = bind(sqlx::query(sql)).execute(conn).await?;
            result.last_insert_id().ok_or_else(|| {
                crate::error::Error::Internal(anyhow::anyhow!("MySQL did not report the new id"))
            })
        }
    }
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

/// The pool's size: `database.max_connections`, or when that is 0 (the default) 10 on SQLite,
/// whose connections read on this machine's cores and each hold a thread, a schema and a
/// statement cache, and 16 on MySQL, whose connections mostly wait on the network and the
/// server: there 10 let replies starve the lists read beside them (docs/performance.md,
/// "MariaDB: 40 ms lost").
fn pool_size(config: &DatabaseConfig, dialect: Dialect) -> u32 {
    match (config.max_connections, dialect) {
        (0, Dialect::Sqlite) => 10,
        (0, Dialect::MySql) => 16,
        (set, _) => set,
    }
}

/// `?, ?, ...` binding each value: the list inside an `IN (...)`, so many rows are read (or
/// changed) by one statement.
///
/// A list of up to [`PADDED_UP_TO`] values is padded to the next power of two by repeating its
/// last value, which changes no `IN`. Each connection keeps every statement it prepares, one per
/// distinct text, and lists of every length made a new text each: the change feed's pages, each
/// a few hundred ids long, filled the caches of SQLite's connections with large statements (see
/// docs/performance.md, "Server memory"). Padded, a query has at most 11 texts.
pub fn push_in_list<T>(q: &mut QueryBuilder<Any>, values: impl IntoIterator<Item = T>)
where
    T: for<'t> sqlx::Encode<'t, Any> + sqlx::Type<Any> + Clone,
{
    let mut list = q.separated(", ");
    let mut values = values.into_iter();
    let Some(mut last) = values.next() else {
        return;
    };
    let mut pushed = 1;
    for value in values {
        list.push_bind(std::mem::replace(&mut last, value));
        pushed += 1;
    }
    if pushed <= PADDED_UP_TO {
        for _ in pushed..pushed.next_power_of_two() {
            list.push_bind(last.clone());
        }
    }
    list.push_bind(last);
}

/// The longest `IN (...)` list that [`push_in_list`] pads (a longer one is bound as it is).
pub const PADDED_UP_TO: usize = 1024;

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
