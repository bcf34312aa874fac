//! Notifications by SMTP (contract §9.7). One worker per server, the webhooks' pattern
//! (`outbox_worker`): only the node holding the `email` lease works; it reads the outbox in id
//! order after a stored cursor, queues one mail per notification and recipient (rendered then,
//! so every retry sends the same mail under the same `Message-ID`), and sends the due ones,
//! retrying failures with exponential backoff. Nothing runs when `email.smtp_url` is empty.

use std::{sync::Arc, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Mailbox, MultiPart,
        header::{ContentType, HeaderName, HeaderValue},
    },
};
use tokio::sync::broadcast;

use crate::{
    config::{Config, EmailConfig},
    domain::email::{self as rules, message_key, notices, templates::Template},
    error::Result,
    outbox_worker,
    store::{
        Store,
        email::{self as db, DeliveryRow, NewDelivery},
        events::{self as outbox, EventRow},
    },
    time::{Clock, Timestamp},
};

const FAN_OUT_BATCH: i64 = 200;
const SEND_BATCH: i64 = 20;
/// Most Message-IDs named in `References`.
const MAX_REFERENCES: i64 = 20;
/// Longest error text kept, in characters.
const MAX_ERROR: usize = 500;

/// Starts the worker when `email.smtp_url` is set; it works at the moments `clock` says.
pub fn spawn(
    store: Store,
    config: Arc<Config>,
    events: broadcast::Receiver<Arc<EventRow>>,
    clock: Clock,
) -> anyhow::Result<()> {
    let settings = config.email.clone();
    if settings.smtp_url.is_empty() {
        return Ok(());
    }
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url)
        .map_err(|err| anyhow::anyhow!("email.smtp_url: {err}"))?
        .timeout(Some(Duration::from_secs(settings.timeout_seconds)))
        .build();
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|err| anyhow::anyhow!("email.from: {err}"))?;
    let reply_to = if settings.reply_to.is_empty() {
        from.clone()
    } else {
        settings
            .reply_to
            .parse()
            .map_err(|err| anyhow::anyhow!("email.reply_to: {err}"))?
    };
    let mailer = Mailer {
        domain: from.email.domain().to_string(),
        from,
        reply_to,
        transport,
        settings,
        store: store.clone(),
        clock: clock.clone(),
    };
    tokio::spawn(outbox_worker::run(store, mailer, events, clock));
    Ok(())
}

struct Mailer {
    store: Store,
    clock: Clock,
    settings: EmailConfig,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reply_to: Mailbox,
    /// The right-hand side of our Message-IDs: the sender's domain.
    domain: String,
}

impl outbox_worker::Rounds for Mailer {
    const LEASE: &'static str = "email";

    async fn round(&self, now: Timestamp) -> Result<Duration> {
        self.fan_out(now).await?;
        let due = {
            let mut conn = self.store.conn().await?;
            db::due(&mut conn, now, SEND_BATCH).await?
        };
        let full = due.len() as i64 == SEND_BATCH;
        for mail in due {
            let id = mail.id;
            if let Err(err) = self.attempt(mail).await {
                tracing::warn!(delivery = id, error = %err, "recording an email attempt failed");
            }
        }
        if full {
            return Ok(Duration::ZERO);
        }
        let next = db::QUEUE.next_due(&mut *self.store.conn().await?).await?;
        Ok(outbox_worker::until(next, now))
    }
}

impl Mailer {
    /// Turns the outbox events after the cursor into queued mails, batch by batch.
    async fn fan_out(&self, now: Timestamp) -> Result<()> {
        loop {
            let batch = {
                let mut conn = self.store.conn().await?;
                let cursor = db::QUEUE.cursor(&mut conn).await?;
                outbox::after(&mut conn, cursor, FAN_OUT_BATCH).await?
            };
            let Some(last) = batch.last().map(|e| e.id) else {
                return Ok(());
            };
            let mut tx = self.store.begin().await?;
            for event in &batch {
                let notices =
                    notices::for_event(&mut tx, event, &self.settings.templates_dir).await?;
                for notice in notices {
                    let thread =
                        db::thread_of(&mut tx, notice.ticket_id, event.id, MAX_REFERENCES).await?;
                    let message_id = format!("{}@{}", uuid::Uuid::new_v4().simple(), self.domain);
                    let references = (!thread.is_empty()).then(|| {
                        thread
                            .iter()
                            .map(|id| format!("<{id}>"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    });
                    db::insert_delivery(
                        &mut tx,
                        &NewDelivery {
                            event_id: event.id,
                            ticket_id: notice.ticket_id,
                            kind: notice.template.as_str(),
                            recipient: &notice.recipient,
                            subject: &notice.subject,
                            body: &notice.body,
                            html: &notice.html,
                            message_key: &message_key(&message_id),
                            message_id: &message_id,
                            in_reply_to: thread.last().map(String::as_str),
                            references: references.as_deref(),
                        },
                        now,
                    )
                    .await?;
                }
            }
            db::QUEUE.advance_cursor(&mut tx, last).await?;
            tx.commit().await?;
            if (batch.len() as i64) < FAN_OUT_BATCH {
                return Ok(());
            }
        }
    }

    /// Sends one mail and records the outcome; the last attempt (sent, or failed for good)
    /// also publishes `email.sent` or `email.failed`.
    async fn attempt(&self, mail: DeliveryRow) -> Result<()> {
        let error = match self.build(&mail) {
            Ok(message) => self
                .transport
                .send(message)
                .await
                .err()
                .map(|err| describe(&err)),
            Err(why) => Some(why),
        };
        let attempts = mail.attempts + 1;
        let (status, next) = match &error {
            None => ("sent", None),
            Some(_) if attempts < i64::from(self.settings.max_attempts) => (
                "pending",
                Some(outbox_worker::retry_at(
                    self.settings.retry_base_ms,
                    attempts,
                    &self.clock,
                )),
            ),
            Some(_) => ("failed", None),
        };
        if let Some(err) = &error {
            tracing::warn!(delivery = mail.id, attempt = attempts, error = %err, "an email was not sent");
        }
        let error = error.map(|e| outbox_worker::truncate(&e, MAX_ERROR));
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        db::record_attempt(&mut tx, mail.id, status, error.as_deref(), next, now).await?;
        if status != "pending" {
            rules::delivery_event(&mut tx, &mail, attempts, error.as_deref(), now).await?;
        }
        tx.commit().await
    }

    /// The mail: a text and an HTML part (text only for mail queued before there was HTML),
    /// our Message-ID, the thread's `In-Reply-To` and `References`, `Reply-To` the inbound
    /// address. Notifications the system writes itself say so (`Auto-Submitted`), so
    /// well-behaved auto-responders do not answer them.
    fn build(&self, mail: &DeliveryRow) -> Result<Message, String> {
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|err| format!("The recipient address is not valid: {err}"))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .reply_to(self.reply_to.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{}>", mail.message_id)));
        if let Some(parent) = &mail.in_reply_to {
            builder = builder.in_reply_to(format!("<{parent}>"));
        }
        if let Some(references) = &mail.references_ids {
            builder = builder.references(references.clone());
        }
        let built = match &mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.body.clone(),
                html.clone(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body.clone()),
        };
        let mut message = built.map_err(|err| format!("The mail could not be built: {err}"))?;
        if mail.kind != Template::AgentReply.as_str() {
            message.headers_mut().insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ));
        }
        Ok(message)
    }
}

/// An SMTP error with its causes.
fn describe(err: &lettre::transport::smtp::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
