//! What the background senders fed by the event outbox share (webhooks, email): one worker
//! per server, of which only the node holding the sender's lease works, woken by this node's
//! events and polling for other nodes' and for retries that come due; and the retry schedule.

use std::{sync::Arc, time::Duration};

use tokio::sync::broadcast;

use crate::{
    error::Result,
    store::{Store, events::EventRow, jobs as leases},
    time::{Clock, Timestamp},
};

/// How long a lease lasts if its holder dies; it is renewed at half of that.
const LEASE_SECONDS: i64 = 30;
/// How often a node without the lease asks for it.
const LEASE_RETRY: i64 = 10;
/// Longest sleep between rounds (events from other nodes, retries).
pub const POLL: Duration = Duration::from_secs(1);
const MIN_WAIT: Duration = Duration::from_millis(100);
/// After an event wakes the worker, how long it waits for more before a round: under a burst
/// of writes one round (a cursor read and a write) serves many events instead of each.
const GATHER: Duration = Duration::from_millis(50);
const MAX_BACKOFF_MS: u64 = 3_600_000;

/// One sender: a round reads the outbox after its cursor, queues what it sends, and sends
/// what is due.
pub trait Rounds: Send + Sync + 'static {
    /// The name of its lease in `job_leases`.
    const LEASE: &'static str;

    /// Does one round at `now`; answers how long until the next piece of work is due.
    fn round(&self, now: Timestamp) -> impl Future<Output = Result<Duration>> + Send;
}

/// Runs `worker` until this node's event bus closes, at the moments `clock` says (its lease
/// too). `events` only wakes it early.
pub async fn run<W: Rounds>(
    store: Store,
    worker: W,
    mut events: broadcast::Receiver<Arc<EventRow>>,
    clock: Clock,
) {
    let mut held_until: Timestamp = 0;
    let mut next_try: Timestamp = 0;
    loop {
        let now = clock.now();
        if held_until - now < LEASE_SECONDS / 2 && now >= next_try {
            match take_lease(&store, W::LEASE, now).await {
                Ok(true) => held_until = now + LEASE_SECONDS,
                Ok(false) => {
                    held_until = 0;
                    next_try = now + LEASE_RETRY;
                }
                Err(err) => {
                    held_until = 0;
                    tracing::warn!(lease = W::LEASE, error = %err, "taking a sender's lease failed");
                }
            }
        }
        let mut wait = POLL;
        if held_until > now {
            match worker.round(now).await {
                Ok(until_due) => wait = wait.min(until_due),
                Err(err) => {
                    tracing::warn!(lease = W::LEASE, error = %err, "a sender's round failed")
                }
            }
        }
        tokio::select! {
            woke = events.recv() => {
                if matches!(woke, Err(broadcast::error::RecvError::Closed)) {
                    break;
                }
                tokio::time::sleep(GATHER).await;
                // The round reads the outbox itself; the wake-ups only say "something new".
                while !matches!(
                    events.try_recv(),
                    Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)
                ) {}
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn take_lease(store: &Store, lease: &str, now: Timestamp) -> Result<bool> {
    let mut tx = store.begin().await?;
    let got = leases::try_lease(
        &mut tx,
        lease,
        leases::node(),
        (now, now + LEASE_SECONDS),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(got)
}

/// How long to sleep from `now` until `next` (the earliest due moment, if any). Whole seconds:
/// something due this second is due now. The floor keeps work that cannot be done from
/// spinning the loop. (A clock set forward by a test is noticed at the next poll.)
pub fn until(next: Option<Timestamp>, now: Timestamp) -> Duration {
    match next {
        Some(at) => Duration::from_secs((at - now).max(0) as u64).max(MIN_WAIT),
        None => POLL,
    }
}

/// When the retry after the `attempt`-th failed attempt, made at `clock`'s present, is due:
/// `base_ms` doubled per earlier retry, capped at an hour, rounded up to the next whole second.
pub fn retry_at(base_ms: u64, attempt: i64, clock: &Clock) -> Timestamp {
    let doublings = u32::try_from(attempt - 1).unwrap_or(0).min(30);
    let delay_ms = base_ms.saturating_mul(1 << doublings).min(MAX_BACKOFF_MS);
    let now_ms = u64::try_from(clock.now_ms()).unwrap_or_default();
    (now_ms + delay_ms).div_ceil(1000) as Timestamp
}

/// An error text cut to `max` characters for the log tables.
pub fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
