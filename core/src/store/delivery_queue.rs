//! What the two delivery queues fed from the event outbox (email notifications and webhook
//! deliveries) store alike: a table of deliveries, each `pending` until due at its
//! `next_attempt_at`, and a one-row cursor naming the last event fanned out into it. What a
//! delivery holds and how an attempt is recorded differ, and stay in `store::email` and
//! `store::webhooks`.

use sqlx::{AnyConnection, AssertSqlSafe};

use crate::{error::Result, time::Timestamp};

/// The tables of one queue. Their names are constants of the store, never input, so the
/// statements built with them are safe.
#[derive(Debug, Clone, Copy)]
pub struct Queue {
    /// The deliveries: `email_deliveries`, `webhook_deliveries`.
    pub deliveries: &'static str,
    /// Its cursor, one row with `id = 1`: `email_cursor`, `webhook_cursor`.
    pub cursor: &'static str,
}

impl Queue {
    /// The earliest moment a pending delivery is due, if any is pending.
    pub async fn next_due(self, conn: &mut AnyConnection) -> Result<Option<Timestamp>> {
        let sql = format!(
            "SELECT MIN(next_attempt_at) FROM {} WHERE status = 'pending'",
            self.deliveries
        );
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(conn)
            .await?)
    }

    /// The id of the last event fanned out.
    pub async fn cursor(self, conn: &mut AnyConnection) -> Result<i64> {
        let sql = format!("SELECT last_event_id FROM {} WHERE id = 1", self.cursor);
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(conn)
            .await?)
    }

    /// Moves the cursor forward (never back, should a former lease holder finish late).
    pub async fn advance_cursor(self, conn: &mut AnyConnection, last_event_id: i64) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET last_event_id = ? WHERE id = 1 AND last_event_id < ?",
            self.cursor
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(last_event_id)
            .bind(last_event_id)
            .execute(conn)
            .await?;
        Ok(())
    }
}
