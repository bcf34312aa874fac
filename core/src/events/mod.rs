//! Fan-out of the event outbox: one task per server reads new events in id order and
//! broadcasts them to the live streams (and, later, webhooks, plugins and automations) of
//! this node. Reading from the table rather than from memory means every node of a cluster
//! sees every event, and a stream can resume from any id.

use std::{sync::Arc, time::Duration};

use futures::future::BoxFuture;
use tokio::sync::broadcast;

use crate::{
    domain::{automations, scripts::Scripts, tickets::TicketRules},
    store::{
        Store,
        events::{self, EventRow},
    },
    time::Clock,
};

/// Events a slow subscriber may fall behind by before it must re-read from the database.
const CHANNEL_CAPACITY: usize = 1024;
/// Events read per query.
const BATCH: i64 = 500;
/// Longest wait for events written by another node (this node's commits wake the reader).
const POLL: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<EventRow>>,
    /// The newest event in the outbox when the bus started: followers begin after it.
    started_after: i64,
}

impl EventBus {
    /// Starts the reader from the newest event now in the outbox. It stops when the last
    /// handle on the bus is dropped.
    pub async fn start(store: Store) -> crate::error::Result<EventBus> {
        let started_after = events::last_id(&mut *store.conn().await?).await?;
        let mut last = started_after;
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        let weak = sender.downgrade();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = store.committed() => {},
                    _ = tokio::time::sleep(POLL) => {},
                }
                let Some(sender) = weak.upgrade() else { break };
                catch_up(&store, &mut last, "bus", &mut |batch| {
                    for row in batch {
                        // No receivers is fine: nobody is listening on this node right now.
                        let _ = sender.send(Arc::new(row));
                    }
                    Box::pin(std::future::ready(()))
                })
                .await;
            }
        });
        Ok(EventBus {
            sender,
            started_after,
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventRow>> {
        self.sender.subscribe()
    }

    /// Runs the event-driven automations of every event, in order. Every node reads every
    /// event; each (automation, event) is claimed in the database first, so one node runs it.
    /// Their changes are judged by `rules` at the moment `clock` says.
    pub fn forward_to_automations(
        &self,
        store: Store,
        scripts: Scripts,
        (rules, clock): (TicketRules, Clock),
    ) {
        let reader = store.clone();
        self.follow(reader, "automations", move |batch| {
            let (store, scripts, rules, clock) =
                (store.clone(), scripts.clone(), rules.clone(), clock.clone());
            Box::pin(async move {
                automations::on_events(&store, &scripts, (&rules, &clock), &batch).await
            })
        });
    }

    /// Hands every event after the bus started to `handle`, in id order, a batch at a time:
    /// the rows the broadcast carries, as long as it carries all of them. A follower that falls
    /// behind the broadcast (a burst of writes, a busy pool) is told it lagged; it then reads the
    /// outbox itself from its own position, so it skips nothing and one read catches it up.
    pub fn follow(
        &self,
        store: Store,
        follower: &'static str,
        mut handle: impl FnMut(Vec<EventRow>) -> BoxFuture<'static, ()> + Send + 'static,
    ) {
        let mut wake = self.subscribe();
        let mut last = self.started_after;
        tokio::spawn(async move {
            loop {
                let mut lagged = false;
                let mut batch = Vec::new();
                match wake.recv().await {
                    Ok(row) => batch.push(row),
                    Err(broadcast::error::RecvError::Lagged(_)) => lagged = true,
                    Err(broadcast::error::RecvError::Closed) => break,
                }
                // Take what is already waiting too, so a burst is handled in one batch.
                loop {
                    match wake.try_recv() {
                        Ok(row) => batch.push(row),
                        Err(broadcast::error::TryRecvError::Lagged(_)) => lagged = true,
                        Err(_) => break,
                    }
                }
                if lagged {
                    catch_up(&store, &mut last, follower, &mut handle).await;
                    continue;
                }
                let batch: Vec<EventRow> = batch
                    .iter()
                    .filter(|row| row.id > last)
                    .map(|row| EventRow::clone(row))
                    .collect();
                if let Some(row) = batch.last() {
                    last = row.id;
                    handle(batch).await;
                }
            }
        });
    }
}

/// Hands the events after `last` to `handle`, batch by batch, moving `last` along. A failed read
/// is logged and left for the next wake-up (the events stay in the outbox).
async fn catch_up(
    store: &Store,
    last: &mut i64,
    reader: &'static str,
    handle: &mut (dyn FnMut(Vec<EventRow>) -> BoxFuture<'static, ()> + Send),
) {
    loop {
        let batch = match store.conn().await {
            Ok(mut conn) => events::after(&mut conn, *last, BATCH).await,
            Err(err) => Err(err),
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(err) => {
                tracing::warn!(reader, error = %err, "reading the event outbox failed; retrying at the next wake-up");
                return;
            }
        };
        let full = batch.len() as i64 == BATCH;
        if let Some(row) = batch.last() {
            *last = row.id;
        }
        handle(batch).await;
        if !full {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{Arc, Mutex},
        time::{Duration, Instant},
    };

    use super::{CHANNEL_CAPACITY, EventBus};
    use crate::store::{events::NewEvent, scratch_store};

    /// A follower slower than the writes is overrun by the broadcast; it must then read what it
    /// missed from the outbox, and see every event once, in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_follower_that_falls_behind_sees_every_event_once() {
        let (store, _dir) = scratch_store().await;
        store.migrate().await.unwrap();
        let bus = EventBus::start(store.clone()).await.unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        bus.follow(store.clone(), "test", move |batch| {
            let record = record.clone();
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                record.lock().unwrap().extend(batch.iter().map(|e| e.id));
            })
        });
        // Three times what the broadcast holds, in one commit: the bus sends them all while
        // the follower still sleeps in its first batch.
        let total = CHANNEL_CAPACITY * 3;
        let mut tx = store.begin().await.unwrap();
        for _ in 0..total {
            tx.push_event(NewEvent {
                kind: "ticket.created",
                ticket_id: None,
                payload: "{}".into(),
                created_at: 0,
            });
        }
        tx.commit().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen.lock().unwrap().len() < total && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen = seen.lock().unwrap().clone();
        let expected: Vec<i64> = (1..=total as i64).collect();
        assert!(
            seen == expected,
            "{} of {total} events seen, first gap after {:?}",
            seen.len(),
            seen.windows(2).find(|w| w[1] != w[0] + 1)
        );
    }
}
