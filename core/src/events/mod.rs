//! Fan-out of the event outbox: one task per server reads new events in id order and
//! broadcasts them to the live streams (and, later, webhooks, plugins and automations) of
//! this node. Reading from the table rather than from memory means every node of a cluster
//! sees every event, and a stream can resume from any id.

use std::{sync::Arc, time::Duration};

use tokio::sync::broadcast;

use crate::{
    domain::{automations, events::envelope},
    plugins::PluginHost,
    scripting::Scripts,
    store::{
        Store,
        events::{self, EventRow},
    },
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
}

impl EventBus {
    /// Starts the reader from the newest event now in the outbox. It stops when the last
    /// handle on the bus is dropped.
    pub async fn start(store: Store) -> crate::error::Result<EventBus> {
        let mut last = events::last_id(&mut *store.conn().await?).await?;
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        let weak = sender.downgrade();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = store.committed() => {},
                    _ = tokio::time::sleep(POLL) => {},
                }
                let Some(sender) = weak.upgrade() else { break };
                loop {
                    let batch = match store.conn().await {
                        Ok(mut conn) => events::after(&mut conn, last, BATCH).await,
                        Err(err) => Err(err),
                    };
                    let batch = match batch {
                        Ok(batch) => batch,
                        Err(err) => {
                            tracing::warn!(error = %err, "reading the event outbox failed; retrying");
                            break;
                        }
                    };
                    let full = batch.len() as i64 == BATCH;
                    for row in batch {
                        last = row.id;
                        // No receivers is fine: nobody is listening on this node right now.
                        let _ = sender.send(Arc::new(row));
                    }
                    if !full {
                        break;
                    }
                }
            }
        });
        Ok(EventBus { sender })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventRow>> {
        self.sender.subscribe()
    }

    /// Delivers every event, in order, to the plugins subscribed to it (each plugin has its own
    /// queue, so a slow one delays nobody). With several nodes, each node's plugins see every
    /// event.
    pub fn forward_to_plugins(&self, plugins: Arc<PluginHost>) {
        let mut events = self.subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(row) => plugins.dispatch(&row.kind, &envelope(&row)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "plugins fell behind the event stream; events skipped"
                        )
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }

    /// Runs the event-driven automations of every event, in order. Every node reads every
    /// event; each (automation, event) is claimed in the database first, so one node runs it.
    pub fn forward_to_automations(&self, store: Store, scripts: Scripts) {
        let mut events = self.subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(row) => {
                        if let Err(err) = automations::on_event(&store, &scripts, &row).await {
                            tracing::warn!(event = row.id, error = %err, "automations of an event failed");
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "automations fell behind the event stream; events skipped"
                        )
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }
}
