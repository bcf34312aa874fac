//! Group commit for SQLite: the write transactions that queue up while one runs are made
//! members of one database transaction, committed once.
//!
//! SQLite has one writer at a time, so writes queue anyway; what each one costs while the
//! others wait is round trips to the connection's thread (`BEGIN`, `COMMIT`) and the pages its
//! commit appends to the WAL (the same rightmost pages of every ticket index, again and again).
//! Here a member runs its statements inside a savepoint of the open transaction and releases
//! it; when nobody is queued behind it, it commits the whole batch, and every member of the
//! batch learns the outcome of that one `COMMIT` before it answers. Under load that is one
//! `BEGIN`, one `COMMIT` and one WAL append per batch instead of per request; alone, a write
//! commits at once as before.
//!
//! Isolation is unchanged: members run one after the other on the writer's connection, each
//! sees the writes of the members before it, and a member that fails or is dropped is rolled
//! back to its savepoint without touching the others. If the `COMMIT` itself fails, every
//! member of the batch gets the error, and nothing of the batch is written.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use sqlx::{Any, AnyConnection, AnyPool, Executor, QueryBuilder, pool::PoolConnection};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use super::{Commits, Effects};
use crate::error::{Error, Result};

/// Most members of one batch: bounds how long the first one waits for its answer.
const MAX_MEMBERS: usize = 64;
/// How long a member waits for its batch to be committed by someone else before it takes the
/// writer and commits the batch itself (the one queued behind it may have given up).
const LINGER: Duration = Duration::from_millis(20);

/// The outcome of a batch's `COMMIT`, shared by its members.
type Outcome = Option<std::result::Result<(), Arc<str>>>;

/// The single writer of a SQLite store.
pub(super) struct GroupCommit {
    pool: AnyPool,
    commits: Arc<Commits>,
    writer: Arc<Mutex<Writer>>,
    /// Writes waiting for the writer: while there are some, a member leaves the batch open
    /// for them instead of committing.
    queued: AtomicUsize,
}

/// What the writer's lock guards.
pub(super) struct Writer {
    /// The writer's own connection, kept between batches; `None` before the first write and
    /// after a failure left it in doubt.
    conn: Option<PoolConnection<Any>>,
    /// Whether a batch's transaction is open, its number, and its members so far.
    open: bool,
    batch: u64,
    members: usize,
    /// Whether the member savepoint is open (a member opens it for the next one, in the same
    /// round trip as its own release, when someone is queued).
    savepoint: bool,
    /// What the open batch's members may change of the remembered figures.
    effects: Effects,
    outcome: watch::Sender<Outcome>,
}

impl GroupCommit {
    pub(super) fn new(pool: AnyPool, commits: Arc<Commits>) -> Arc<GroupCommit> {
        Arc::new(GroupCommit {
            pool,
            commits,
            writer: Arc::new(Mutex::new(Writer {
                conn: None,
                open: false,
                batch: 0,
                members: 0,
                savepoint: false,
                effects: Effects::NONE,
                outcome: watch::channel(None).0,
            })),
            queued: AtomicUsize::new(0),
        })
    }

    /// Waits for the writer and joins the open batch, or opens one.
    pub(super) async fn join(self: &Arc<Self>) -> Result<Member> {
        let mut writer = {
            let _queued = Queued::enter(&self.queued);
            self.writer.clone().lock_owned().await
        };
        if writer.conn.is_none() {
            writer.conn = Some(self.writable_connection().await?);
        }
        if !writer.open {
            // IMMEDIATE takes the file's write lock up front, so a member that reads first
            // cannot fail later when another process (a CLI job) holds it.
            if let Err(err) = writer
                .connection()
                .execute("BEGIN IMMEDIATE; SAVEPOINT member")
                .await
            {
                // If BEGIN ran and SAVEPOINT did not, the connection is mid-transaction.
                writer.discard_connection();
                return Err(err.into());
            }
            writer.open = true;
            writer.batch += 1;
            writer.members = 0;
            writer.savepoint = true;
            writer.effects = Effects::NONE;
            writer.outcome = watch::channel(None).0;
        } else if !writer.savepoint {
            writer.connection().execute("SAVEPOINT member").await?;
            writer.savepoint = true;
        }
        Ok(Member {
            group: self.clone(),
            writer: Some(writer),
        })
    }

    /// A connection from the pool that can write. One that SQLite opened read-only (the file
    /// could not be written when it was opened) would stay so after the cause clears, so it is
    /// closed instead of kept, until the pool opens one that can write or has nothing else.
    async fn writable_connection(&self) -> Result<PoolConnection<Any>> {
        let mut attempts = self.pool.options().get_max_connections() + 1;
        loop {
            let mut conn = self.pool.acquire().await?;
            match conn.execute(super::writable::SQLITE_CHECK).await {
                Ok(_) => return Ok(conn),
                Err(err) => {
                    // It may be left inside the check's transaction.
                    conn.close_on_drop();
                    attempts -= 1;
                    if attempts == 0 || !super::writable::is_read_only(&err) {
                        return Err(err.into());
                    }
                }
            }
        }
    }

    /// Commits the open batch and tells its members.
    async fn finish(&self, writer: &mut Writer) -> Result<()> {
        let sql = if writer.savepoint {
            "RELEASE member; COMMIT"
        } else {
            "COMMIT"
        };
        match writer.connection().execute(sql).await {
            Ok(_) => {
                self.commits.record(writer.effects);
                writer.end_batch(Ok(()));
                Ok(())
            }
            Err(err) => {
                tracing::error!(error = %err, members = writer.members, "a batched commit failed; its writes are rolled back");
                let cause: Arc<str> = Arc::from(err.to_string());
                writer.roll_back_batch(cause.clone()).await;
                Err(failed(cause))
            }
        }
    }

    /// Undoes a member that did not commit; the batch goes on without it.
    async fn abandon(&self, mut writer: OwnedMutexGuard<Writer>) {
        if writer.members == 0 {
            // Nobody else is in the batch: roll all of it back.
            if writer.connection().execute("ROLLBACK").await.is_err() {
                writer.discard_connection();
            }
            writer.end_batch(Ok(()));
            return;
        }
        match writer.connection().execute("ROLLBACK TO member").await {
            // The savepoint stays open, empty, for the next member.
            Ok(_) if self.queued.load(Ordering::Acquire) > 0 => {}
            Ok(_) => {
                let _ = self.finish(&mut writer).await;
            }
            Err(err) => {
                tracing::error!(error = %err, "rolling back a failed write inside a batch failed; the batch is rolled back");
                writer.roll_back_batch(Arc::from(err.to_string())).await;
            }
        }
    }

    /// Waits for the outcome of `batch`, committing it if nobody else has for a while.
    async fn outcome(&self, batch: u64, mut outcome: watch::Receiver<Outcome>) -> Result<()> {
        loop {
            let waited = tokio::time::timeout(LINGER, outcome.wait_for(Option::is_some))
                .await
                .map(|done| done.map(|done| done.clone()));
            match waited {
                Ok(Ok(done)) => return done.unwrap_or(Ok(())).map_err(failed),
                Ok(Err(_)) => return Err(failed(Arc::from("the writer went away"))),
                Err(_) => {
                    let mut writer = self.writer.lock().await;
                    if writer.open && writer.batch == batch {
                        return self.finish(&mut writer).await;
                    }
                }
            }
        }
    }

    /// Hands the writer's connection back, so the pool can close.
    pub(super) async fn close(&self) {
        let mut writer = self.writer.lock().await;
        writer.conn = None;
    }
}

impl Writer {
    fn connection(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("the writer has a connection")
    }

    /// Closes the open batch and tells its members how it ended.
    fn end_batch(&mut self, outcome: std::result::Result<(), Arc<str>>) {
        self.open = false;
        self.savepoint = false;
        self.outcome.send_replace(Some(outcome));
    }

    /// Rolls the whole open batch back and fails its members with `cause`. The connection is
    /// not trusted after that.
    async fn roll_back_batch(&mut self, cause: Arc<str>) {
        let _ = self.connection().execute("ROLLBACK").await;
        self.discard_connection();
        self.end_batch(Err(cause));
    }

    /// Closes the connection instead of returning it to the pool, since it may still be
    /// inside a transaction.
    fn discard_connection(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
    }
}

/// A write transaction that is one member of a batch. It holds the writer until it commits;
/// dropped before, its writes are rolled back.
pub(super) struct Member {
    group: Arc<GroupCommit>,
    writer: Option<OwnedMutexGuard<Writer>>,
}

impl Member {
    pub(super) fn connection(&self) -> &AnyConnection {
        let writer = self
            .writer
            .as_ref()
            .expect("a live member holds the writer");
        writer.conn.as_ref().expect("the writer has a connection")
    }

    pub(super) fn connection_mut(&mut self) -> &mut AnyConnection {
        self.writer
            .as_mut()
            .expect("a live member holds the writer")
            .connection()
    }

    /// Runs `last` (the member's queued history and events, if `queued`) with the release of
    /// its savepoint in one round trip, then waits until its batch is committed.
    pub(super) async fn commit(
        mut self,
        mut last: QueryBuilder<Any>,
        queued: bool,
        effects: Effects,
    ) -> Result<()> {
        let writer = self
            .writer
            .as_mut()
            .expect("a live member holds the writer");
        let leave_open =
            self.group.queued.load(Ordering::Acquire) > 0 && writer.members + 1 < MAX_MEMBERS;
        if queued {
            last.push("; ");
        }
        last.push("RELEASE member");
        if leave_open {
            last.push("; SAVEPOINT member");
        }
        last.build().execute(writer.connection()).await?;
        writer.members += 1;
        writer.savepoint = leave_open;
        writer.effects |= effects;
        let mut writer = self.writer.take().expect("a live member holds the writer");
        if leave_open {
            let (batch, outcome) = (writer.batch, writer.outcome.subscribe());
            drop(writer);
            self.group.outcome(batch, outcome).await
        } else {
            self.group.finish(&mut writer).await
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let Some(mut writer) = self.writer.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let group = self.group.clone();
                runtime.spawn(async move { group.abandon(writer).await });
            }
            // No runtime to roll back on: closing the connection rolls the batch back.
            Err(_) => {
                writer.discard_connection();
                writer.end_batch(Err(Arc::from("the server is shutting down")));
            }
        }
    }
}

/// Counts a write queued for the writer while it waits (also when its wait is cancelled).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(count: &'a AtomicUsize) -> Queued<'a> {
        count.fetch_add(1, Ordering::AcqRel);
        Queued(count)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn failed(cause: Arc<str>) -> Error {
    Error::Internal(anyhow::anyhow!("the batched commit failed: {cause}"))
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{Arc, atomic::Ordering},
        time::{Duration, Instant},
    };

    use super::LINGER;
    use crate::store::{Store, Tx, scratch_store};

    /// A store on a fresh SQLite file with a scratch table.
    async fn store() -> (Store, tempfile::TempDir) {
        let (store, dir) = scratch_store().await;
        sqlx::query("CREATE TABLE scratch (v TEXT NOT NULL)")
            .execute(store.pool())
            .await
            .unwrap();
        (store, dir)
    }

    async fn insert(tx: &mut Tx, value: &str) {
        sqlx::query("INSERT INTO scratch (v) VALUES (?)")
            .bind(value.to_string())
            .execute(&mut **tx)
            .await
            .unwrap();
    }

    async fn write(store: &Store, value: &str) -> crate::error::Result<()> {
        let mut tx = store.begin().await?;
        insert(&mut tx, value).await;
        tx.commit().await
    }

    async fn values(store: &Store) -> Vec<String> {
        sqlx::query_scalar("SELECT v FROM scratch ORDER BY v")
            .fetch_all(store.pool())
            .await
            .unwrap()
    }

    fn writer(store: &Store) -> &Arc<super::GroupCommit> {
        store.sqlite_writer.as_ref().unwrap()
    }

    async fn batches(store: &Store) -> u64 {
        writer(store).writer.lock().await.batch
    }

    /// Waits until `n` writes are queued for the writer.
    async fn until_queued(store: &Store, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while writer(store).queued.load(Ordering::Acquire) < n {
            assert!(Instant::now() < deadline, "{n} writes never queued");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_queued_behind_one_are_committed_with_it() {
        let (store, _dir) = store().await;
        let mut first = store.begin().await.unwrap();
        insert(&mut first, "first").await;
        let others: Vec<_> = (0..20)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { write(&store, &format!("w{i:02}")).await })
            })
            .collect();
        until_queued(&store, 20).await;
        first.commit().await.unwrap();
        for other in others {
            other.await.unwrap().unwrap();
        }
        assert_eq!(values(&store).await.len(), 21);
        assert_eq!(
            batches(&store).await,
            1,
            "one transaction for all 21 writes"
        );
        // Alone, a write commits at once, in a batch of its own.
        write(&store, "alone").await.unwrap();
        assert_eq!(values(&store).await.len(), 22);
        assert_eq!(batches(&store).await, 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_in_a_batch_is_undone_alone() {
        let (store, _dir) = store().await;
        let mut first = store.begin().await.unwrap();
        insert(&mut first, "a").await;
        let failing = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                insert(&mut tx, "b").await;
                // A rule fails after the write: the transaction is dropped uncommitted.
            })
        };
        until_queued(&store, 1).await;
        // Queued behind the failing one.
        let last = {
            let store = store.clone();
            tokio::spawn(async move { write(&store, "c").await })
        };
        until_queued(&store, 2).await;
        first.commit().await.unwrap();
        failing.await.unwrap();
        last.await.unwrap().unwrap();
        assert_eq!(values(&store).await, ["a", "c"]);
        assert_eq!(batches(&store).await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_failed_write_leaves_nothing_behind() {
        let (store, _dir) = store().await;
        {
            let mut tx = store.begin().await.unwrap();
            insert(&mut tx, "dropped").await;
        }
        write(&store, "kept").await.unwrap();
        assert_eq!(values(&store).await, ["kept"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_left_open_for_a_write_that_gave_up_is_committed_anyway() {
        let (store, _dir) = store().await;
        // A write that queued and then went away (its request cancelled) after the member
        // before it saw it.
        writer(&store).queued.fetch_add(1, Ordering::AcqRel);
        let started = Instant::now();
        let committed = write(&store, "waited").await;
        writer(&store).queued.fetch_sub(1, Ordering::AcqRel);
        committed.unwrap();
        assert!(started.elapsed() >= LINGER);
        assert_eq!(values(&store).await, ["waited"]);
    }
}
