//! Webhook delivery. One worker per server; only the node holding the `webhooks` lease works,
//! so across a cluster each event is fanned out and sent once (at least once, if a node dies
//! mid-send). The worker reads the outbox in id order after a stored cursor, queues one
//! delivery per event and subscribed endpoint, and sends the due ones with the Standard
//! Webhooks headers, retrying failures with exponential backoff.

pub mod destination;
pub mod signing;

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
        webhooks::{decode_events, message_id, subscribes},
    },
    error::Result,
    jobs,
    store::{
        Store,
        events::{self as outbox, EventRow},
        jobs as leases,
        webhooks::{self as db, DueDelivery, Outcome},
    },
    time::{self, Timestamp},
};

const LEASE: &str = "webhooks";
/// How long the lease lasts if its holder dies; it is renewed at half of that.
const LEASE_SECONDS: i64 = 30;
/// How often a node without the lease asks for it.
const LEASE_RETRY: i64 = 10;
/// Longest sleep between rounds (events from other nodes, redeliveries, retries).
const POLL: Duration = Duration::from_secs(1);
const MIN_WAIT: Duration = Duration::from_millis(100);
/// After an event wakes the worker, how long it waits for more before a round: under a burst
/// of writes one round (a cursor read and a write) serves many events instead of each.
const GATHER: Duration = Duration::from_millis(50);
const FAN_OUT_BATCH: i64 = 500;
const SEND_BATCH: i64 = 50;
/// Requests in flight at once.
const CONCURRENCY: usize = 8;
const MAX_BACKOFF_MS: u64 = 3_600_000;
/// Longest error text kept per attempt, in characters.
const MAX_ERROR: usize = 500;

/// Starts the worker. `events` (this node's event bus) only wakes it early; what it sends is
/// read from the outbox.
pub fn spawn(
    store: Store,
    config: Arc<Config>,
    events: broadcast::Receiver<Arc<EventRow>>,
) -> anyhow::Result<()> {
    let worker = Worker {
        client: client(&config.webhooks)?,
        settings: config.webhooks.clone(),
        store,
    };
    tokio::spawn(worker.run(events));
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

impl Worker {
    async fn run(self, mut events: broadcast::Receiver<Arc<EventRow>>) {
        let mut held_until: Timestamp = 0;
        let mut next_try: Timestamp = 0;
        loop {
            let now = time::now();
            if held_until - now < LEASE_SECONDS / 2 && now >= next_try {
                match self.take_lease(now).await {
                    Ok(true) => held_until = now + LEASE_SECONDS,
                    Ok(false) => {
                        held_until = 0;
                        next_try = now + LEASE_RETRY;
                    }
                    Err(err) => {
                        held_until = 0;
                        tracing::warn!(error = %err, "taking the webhooks lease failed");
                    }
                }
            }
            let mut wait = POLL;
            if held_until > now {
                match self.round(now).await {
                    Ok(until_due) => wait = wait.min(until_due),
                    Err(err) => tracing::warn!(error = %err, "webhook delivery round failed"),
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

    async fn take_lease(&self, now: Timestamp) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        let dialect = tx.dialect();
        let got = leases::try_lease(
            &mut tx,
            dialect,
            LEASE,
            jobs::node(),
            now,
            now + LEASE_SECONDS,
        )
        .await?;
        tx.commit().await?;
        Ok(got)
    }

    /// Queues new events, sends what is due; returns how long until the next delivery is due.
    async fn round(&self, now: Timestamp) -> Result<Duration> {
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
        let next = db::next_due(&mut *self.store.conn().await?).await?;
        Ok(match next {
            // Whole seconds: a delivery due this second is due now. The floor keeps a
            // delivery that cannot be sent (its event gone) from spinning the loop.
            Some(at) => Duration::from_secs((at - time::now()).max(0) as u64).max(MIN_WAIT),
            None => POLL,
        })
    }

    /// Turns the outbox events after the cursor into deliveries, batch by batch.
    async fn fan_out(&self, now: Timestamp) -> Result<()> {
        loop {
            let (batch, hooks) = {
                let mut conn = self.store.conn().await?;
                let cursor = db::cursor(&mut conn).await?;
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
            db::advance_cursor(&mut tx, last).await?;
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
            ("pending", Some(self.retry_at(run_attempts)))
        } else {
            ("failed", None)
        };
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

    /// When the retry after the `attempt`-th failed attempt of a run is due: the base delay
    /// doubled per earlier retry, capped, rounded up to the next whole second.
    fn retry_at(&self, attempt: i64) -> Timestamp {
        let doublings = u32::try_from(attempt - 1).unwrap_or(0).min(30);
        let delay_ms = self
            .settings
            .retry_base_ms
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF_MS);
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        (now_ms + delay_ms).div_ceil(1000) as Timestamp
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
    text.chars().take(MAX_ERROR).collect()
}
