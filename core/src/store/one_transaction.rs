//! One database transaction around many domain operations (`seed --demo`: all of it or
//! nothing). The store handed to the work holds one connection inside an open transaction;
//! its reads use that connection and each of its write transactions is a savepoint in it, so
//! the operations see each other's writes and a failure anywhere undoes them all.

use std::{
    ops::{Deref, DerefMut},
    sync::Arc,
    time::Duration,
};

use sqlx::{Any, AnyConnection, Executor, pool::PoolConnection};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::{Dialect, Effects, Store};
use crate::error::{Error, Result};

/// The connection every operation of the transaction uses, one at a time.
pub(super) type Pinned = Arc<Mutex<PoolConnection<Any>>>;

/// How long an operation waits for the connection: only a read or write nested inside
/// another (a bug) waits at all, and it should fail rather than hang.
const WAIT: Duration = Duration::from_secs(30);

pub(super) async fn lock(pinned: &Pinned) -> Result<OwnedMutexGuard<PoolConnection<Any>>> {
    tokio::time::timeout(WAIT, pinned.clone().lock_owned())
        .await
        .map_err(|_| {
            Error::Internal(anyhow::anyhow!(
                "the transaction's connection stayed busy: a read or write nested in another"
            ))
        })
}

/// A connection to read with: the pool's, or the transaction's.
pub enum Conn {
    Pooled(PoolConnection<Any>),
    Pinned(OwnedMutexGuard<PoolConnection<Any>>),
}

impl Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Pooled(conn) => conn,
            Conn::Pinned(conn) => conn,
        }
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Pooled(conn) => conn,
            Conn::Pinned(conn) => conn,
        }
    }
}

/// A write transaction of the work: a savepoint, released on commit and rolled back when
/// dropped before.
pub(super) struct Savepoint {
    conn: Option<OwnedMutexGuard<PoolConnection<Any>>>,
}

impl Savepoint {
    pub(super) async fn begin(pinned: &Pinned) -> Result<Savepoint> {
        let mut conn = lock(pinned).await?;
        conn.execute("SAVEPOINT escalated_step").await?;
        Ok(Savepoint { conn: Some(conn) })
    }

    pub(super) fn connection(&self) -> &AnyConnection {
        self.conn
            .as_ref()
            .expect("a live savepoint holds the connection")
    }

    pub(super) fn connection_mut(&mut self) -> &mut AnyConnection {
        self.conn
            .as_mut()
            .expect("a live savepoint holds the connection")
    }

    pub(super) async fn release(mut self) -> Result<()> {
        self.connection_mut()
            .execute("RELEASE SAVEPOINT escalated_step")
            .await?;
        self.conn = None;
        Ok(())
    }
}

impl Drop for Savepoint {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // The guard goes with the task, so the next operation waits for the rollback.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    // One statement a call: MySQL's prepared statements take no more.
                    let undone = match conn.execute("ROLLBACK TO SAVEPOINT escalated_step").await {
                        Ok(_) => conn.execute("RELEASE SAVEPOINT escalated_step").await,
                        Err(err) => Err(err),
                    };
                    if undone.is_err() {
                        // Closing it rolls the whole transaction back.
                        conn.close_on_drop();
                    }
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

impl Store {
    /// Runs `work` with a store whose reads and writes all go through one database
    /// transaction, committed when `work` succeeds and rolled back when it fails.
    pub async fn in_one_transaction<T>(
        &self,
        work: impl AsyncFnOnce(&Store) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut conn = self.pool.acquire().await?;
        // IMMEDIATE: SQLite's write lock up front, so no other writer slips in halfway.
        let begin = match self.dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::MySql => "BEGIN",
        };
        conn.execute(begin).await?;
        let pinned: Pinned = Arc::new(Mutex::new(conn));
        let scoped = Store {
            pinned: Some(pinned.clone()),
            ..self.clone()
        };
        let outcome = work(&scoped).await;
        drop(scoped);
        // Waits for the rollback of a savepoint dropped last, if any.
        let mut conn = pinned.lock_owned().await;
        match outcome {
            Ok(value) => {
                if let Err(err) = conn.execute("COMMIT").await {
                    conn.close_on_drop();
                    return Err(err.into());
                }
                self.commits.record(Effects::ALL);
                Ok(value)
            }
            Err(err) => {
                if conn.execute("ROLLBACK").await.is_err() {
                    conn.close_on_drop();
                }
                Err(err)
            }
        }
    }
}
