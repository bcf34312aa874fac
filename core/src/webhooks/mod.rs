//! Webhook delivery. One worker per server; only the node holding the `webhooks` lease works,
//! so across a cluster each event is fanned out and sent once (at least once, if a node dies
//! mid-send). The worker reads the outbox in id order after a stored cursor, queues one
//! delivery per event and subscribed endpoint, and sends the due ones with the Standard
//! Webhooks headers, retrying failures with exponential backoff.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::StreamExt;
use tokio::sync::broadcast;

use crate::{
    config::{Config, WebhooksConfig},
    domain::{
        events::envelope,
        webhooks::{decode_events, destination, message_id, signing, subscribes},
    },
    error::Result,
    outbox_worker,
    store::{
        Store,
        events::{self as outbox, EventRow},
        webhooks::{self as db, DueDelivery, Outcome},
    },
    time::{self, Clock, Timestamp},
};

const FAN_OUT_BATCH: i64 = 500;
const SEND_BATCH: i64 = 50;
/// Requests in flight at once.
const CONCURRENCY: usize = 8;
/// Longest error text kept per attempt, in characters.
const MAX_ERROR: usize = 500;

/// Starts the worker. `events` (this node's event bus) only wakes it early; what it sends is
/// read from the outbox.
pub fn spawn(
    store: Store,
    config: Arc<Config>,
    events: broadcast::Receiver<Arc<EventRow>>,
) -> anyhow::Result<()> {
    let store_for_lease = store.clone();
    let worker = Worker {
        client: client(&config.webhooks)?,
        settings: config.webhooks.clone(),
        store,
    };
    // Real time, not the server's clock: a delivery's `webhook-timestamp` is checked by its
    // receiver against the receiver's own clock.
    tokio::spawn(outbox_worker::run(
        store_for_lease,
        worker,
        events,
        Clock::system(),
    ));
    Ok(())
}

/// The HTTP client: no redirects (a 3xx is a failure), no proxies, and, unless private
/// targets are allowed, a resolver that refuses non-public addresses.
fn client(settings: &WebhooksConfig) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(settings.timeout_seconds))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Escalated-Webhooks/", env!("CARGO_PKG_VERSION")));
    if !settings.allow_private {
        builder = builder.dns_resolver(destination::PublicResolver::shared());
    }
    Ok(builder.build()?)
}

struct Worker {
    store: Store,
    settings: WebhooksConfig,
    client: reqwest::Client,
}

impl outbox_worker::Rounds for Worker {
    const LEASE: &'static str = "webhooks";

    async fn round(&self, now: Timestamp) -> Result<Duration> {
        self.send_round(now).await
    }
}

impl Worker {
    /// Queues new events, sends what is due; returns how long until the next delivery is due.
    async fn send_round(&self, now: Timestamp) -> Result<Duration> {
        self.fan_out(now).await?;
        let due = {
            let mut conn = self.store.conn().await?;
            db::due(&mut conn, now, SEND_BATCH).await?
        };
        let full = due.len() as i64 == SEND_BATCH;
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |delivery| async move {
                let id = delivery.id;
                if let Err(err) = self.attempt(delivery).await {
                    tracing::warn!(delivery = id, error = %err, "recording a webhook attempt failed");
                }
            })
            .await;
        if full {
            return Ok(Duration::ZERO);
        }
        let next = db::QUEUE.next_due(&mut *self.store.conn().await?).await?;
        Ok(outbox_worker::until(next, now))
    }

    /// Turns the outbox events after the cursor into deliveries, batch by batch.
    async fn fan_out(&self, now: Timestamp) -> Result<()> {
        loop {
            let (batch, hooks) = {
                let mut conn = self.store.conn().await?;
                let cursor = db::QUEUE.cursor(&mut conn).await?;
                let batch = outbox::after(&mut conn, cursor, FAN_OUT_BATCH).await?;
                if batch.is_empty() {
                    return Ok(());
                }
                (batch, db::active(&mut conn).await?)
            };
            let hooks: Vec<_> = hooks
                .into_iter()
                .map(|h| (decode_events(&h.event_names), h))
                .collect();
            let mut tx = self.store.begin().await?;
            for event in &batch {
                for (events, hook) in &hooks {
                    if event.id > hook.after_event_id && subscribes(events, &event.kind) {
                        db::insert_delivery(&mut tx, hook.id, event.id, &event.kind, now).await?;
                    }
                }
            }
            let last = batch.last().map_or(0, |e| e.id);
            db::QUEUE.advance_cursor(&mut tx, last).await?;
            tx.commit().await?;
            if (batch.len() as i64) < FAN_OUT_BATCH {
                return Ok(());
            }
        }
    }

    /// Sends one delivery and records the outcome.
    async fn attempt(&self, delivery: DueDelivery) -> Result<()> {
        if delivery.is_active == 0 {
            let mut tx = self.store.begin().await?;
            db::give_up(
                &mut tx,
                delivery.id,
                "The webhook is inactive.",
                time::now(),
            )
            .await?;
            crate::metrics::webhook_delivery(crate::metrics::Delivery::Skipped);
            return tx.commit().await;
        }
        let started = Instant::now();
        let attempted_at = time::now();
        let sent = self.send(&delivery, attempted_at).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let run_attempts = delivery.run_attempts + 1;
        let (response_status, error) = match sent {
            Ok(status) if (200..300).contains(&status) => (Some(status), None),
            Ok(status) => (
                Some(status),
                Some(format!("The endpoint answered {status}.")),
            ),
            Err(error) => (None, Some(truncate(&error))),
        };
        let (status, next_attempt_at) = if error.is_none() {
            ("delivered", None)
        } else if run_attempts < i64::from(self.settings.max_attempts) {
            (
                "pending",
                Some(outbox_worker::retry_at(
                    self.settings.retry_base_ms,
                    run_attempts,
                    &Clock::system(),
                )),
            )
        } else {
            ("failed", None)
        };
        crate::metrics::webhook_delivery(match status {
            "delivered" => crate::metrics::Delivery::Delivered,
            "pending" => crate::metrics::Delivery::Retry,
            _ => crate::metrics::Delivery::Failed,
        });
        let outcome = Outcome {
            response_status,
            error,
            duration_ms,
            attempted_at,
            status,
            next_attempt_at,
        };
        let mut tx = self.store.begin().await?;
        db::record_attempt(&mut tx, delivery.id, &outcome).await?;
        tx.commit().await
    }

    /// POSTs the event; the HTTP status, or why there is none.
    async fn send(&self, delivery: &DueDelivery, timestamp: Timestamp) -> Result<i64, String> {
        if !self.settings.allow_private {
            // IP literals bypass the resolver; names are checked again as they are resolved.
            destination::check(&delivery.url, false)
                .await
                .map_err(|refusal| refusal.to_string())?;
        }
        let key = signing::decode_secret(&delivery.secret)
            .ok_or_else(|| "The webhook secret is not valid.".to_string())?;
        let body = envelope(&EventRow {
            id: delivery.event_id,
            kind: delivery.event_type.clone(),
            ticket_id: None,
            payload: delivery.payload.clone(),
            created_at: delivery.event_created_at,
        })
        .to_string();
        let id = message_id(delivery.event_id, delivery.webhook_id);
        let signature = signing::signature(&key, &id, timestamp, &body);
        let response = self
            .client
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|err| describe(&err, self.settings.timeout_seconds))?;
        Ok(i64::from(response.status().as_u16()))
    }
}

/// A transport error with its causes (reqwest's own message hides them).
fn describe(err: &reqwest::Error, timeout_seconds: u64) -> String {
    if err.is_timeout() {
        return format!("No answer within {timeout_seconds} seconds.");
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn truncate(text: &str) -> String {
    outbox_worker::truncate(text, MAX_ERROR)
}
