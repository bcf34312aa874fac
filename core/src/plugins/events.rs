//! Event delivery: one queue and one task per subscribed plugin, so each plugin gets its events
//! in order and one at a time, and a slow or failing plugin holds up only its own queue.

use std::{sync::Arc, time::Duration};

use tokio::{runtime::Handle, sync::mpsc};

use super::{
    LoadedPlugin, PluginHost,
    ffi::{self, CallError},
};
use crate::{
    domain::events::envelope,
    events::EventBus,
    metrics::{self, PluginCall},
    store::Store,
};

/// Delivers every event of `bus`, in order, to the plugins subscribed to it (each plugin has its
/// own queue, so a slow one delays nobody). With several nodes, each node's plugins see every
/// event.
pub fn follow(bus: &EventBus, store: Store, plugins: Arc<PluginHost>) {
    // Plugins are loaded at start only: without a subscriber now there never is one.
    if !plugins.wants_events() {
        return;
    }
    bus.follow(store, "plugins", move |batch| {
        for row in &batch {
            plugins.dispatch(&row.kind, &envelope(row));
        }
        Box::pin(std::future::ready(()))
    });
}

/// Events waiting for one plugin; when it falls this far behind, new ones are dropped (logged).
pub const QUEUE: usize = 1024;

/// The sending side of one plugin's queue.
#[derive(Clone)]
pub struct Subscriber {
    pub slug: String,
    tx: mpsc::Sender<Arc<Vec<u8>>>,
}

impl Subscriber {
    /// Starts the plugin's delivery task on `runtime`.
    pub fn start(runtime: &Handle, plugin: Arc<LoadedPlugin>, timeout: Duration) -> Subscriber {
        let (tx, rx) = mpsc::channel(QUEUE);
        let slug = plugin.manifest.slug.clone();
        runtime.spawn(deliver(plugin, rx, timeout));
        Subscriber { slug, tx }
    }

    /// Queues an event (`{"name", "payload"}` as JSON) without waiting.
    pub fn offer(&self, name: &str, event: Arc<Vec<u8>>) {
        match self.tx.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(plugin = %self.slug, event = name, "plugin event queue full: event dropped");
            }
            // The server is stopping.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

async fn deliver(
    plugin: Arc<LoadedPlugin>,
    mut rx: mpsc::Receiver<Arc<Vec<u8>>>,
    timeout: Duration,
) {
    let slug = plugin.manifest.slug.clone();
    while let Some(event) = rx.recv().await {
        let worker = plugin.clone();
        let mut call = tokio::task::spawn_blocking(move || worker.instance.on_event(&event));
        let result = match tokio::time::timeout(timeout, &mut call).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(plugin = %slug, "plugin on_event is slow: still waiting for it");
                // Waiting keeps the plugin's events in order and one at a time.
                call.await
            }
        };
        let outcome = match &result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.clone()),
            Err(join) => Err(CallError::Panicked(join.to_string())),
        };
        metrics::plugin_call(
            &slug,
            PluginCall::Event,
            ffi::metric_label(outcome.as_ref().map(drop)),
        );
        match result {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(plugin = %slug, error = %err, "plugin on_event failed"),
            Err(err) => {
                tracing::error!(plugin = %slug, error = %err, "plugin on_event task failed")
            }
        }
    }
}
