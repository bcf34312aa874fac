//! What an inbound message does (contract §9.7): a reply on the ticket it answers, or a new
//! ticket, or nothing (a repeat, automatic mail, a loop, a sender over the rate limit). Tickets
//! and replies are made through the ticket operations, so rules, activities and events are the
//! same as through the API.

use serde_json::json;

use super::{
    message::{self, Attachment, Inbound},
    message_key, trim,
};
use crate::{
    config::EmailConfig,
    domain::{
        attachments::{self, Files, MAX_PER_MESSAGE},
        events,
        roles::Role,
        tickets::{
            Actor, MAX_BODY, MAX_SUBJECT, Status, TicketRules,
            activity::{self, Kind},
            create::{self, NewTicketInput},
            operations,
        },
        users::{self, NewUser},
    },
    error::{Error, Result},
    store::{Store, email as db, is_unique_violation, tickets},
    time::Timestamp,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Replied,
    Ignored,
    Duplicate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Replied => "replied",
            Outcome::Ignored => "ignored",
            Outcome::Duplicate => "duplicate",
        }
    }
}

/// What was done with a message.
#[derive(Debug, Clone)]
pub struct Received {
    pub outcome: Outcome,
    /// Why it was ignored: `auto_submitted`, `bulk`, `bounce`, `loop`, `rate_limited`.
    pub reason: Option<String>,
    pub message_id: String,
    /// The ticket it created or answered (for a repeat, the first one's).
    pub reference: Option<String>,
    pub reply_id: Option<i64>,
    pub attachments: Vec<Attachment>,
}

/// Applies one raw message at `now` under `rules`, the same as the API's ticket changes; its
/// files go to attachment storage under the same rules as uploads through the API.
pub async fn receive(
    files: Files<'_>,
    (rules, now): (&TicketRules, Timestamp),
    settings: &EmailConfig,
    reference_prefix: &str,
    raw: &[u8],
) -> Result<Received> {
    let store = files.store;
    let mut mail = message::parse(raw)?;
    let key = message_key(&mail.message_id);
    let mut conn = store.conn().await?;
    if let Some(seen) = db::inbound_by_key(&mut conn, &key).await? {
        return duplicate(store, mail, seen).await;
    }
    let reason = match mail.automatic {
        Some(why) => Some(why),
        None if is_ours(settings, &mail.from_email) => Some("loop"),
        None if db::accepted_from(&mut conn, &mail.from_email, now - 3600).await?
            >= i64::from(settings.per_sender_per_hour) =>
        {
            Some("rate_limited")
        }
        None => None,
    };
    drop(conn);
    let attachments = serde_json::to_string(&mail.attachments)?;
    let claim = db::NewInbound {
        message_key: &key,
        message_id: &mail.message_id,
        sender: &mail.from_email,
        subject: &truncate(&mail.subject, MAX_SUBJECT),
        attachments: &attachments,
        created_at: now,
    };
    let claimed = {
        let mut conn = store.conn().await?;
        db::claim_inbound(&mut conn, &claim).await
    };
    let claim_id = match claimed {
        Ok(id) => id,
        // Another request took this Message-ID a moment ago.
        Err(err) if is_unique_violation(&err) => {
            let mut conn = store.conn().await?;
            let seen = db::inbound_by_key(&mut conn, &key)
                .await?
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("a claimed message vanished")))?;
            return duplicate(store, mail, seen).await;
        }
        Err(err) => return Err(err),
    };
    if let Some(reason) = reason {
        let mut tx = store.begin().await?;
        let settled = db::Settled {
            outcome: "ignored",
            reason: Some(reason),
            ticket_id: None,
            reply_id: None,
            attachments: &attachments,
        };
        db::settle_inbound(&mut tx, claim_id, &settled).await?;
        let event = received_event(&mail, &settled);
        events::record_maybe_about(&mut tx, RECEIVED, None, event, now);
        tx.commit().await?;
        return Ok(Received {
            outcome: Outcome::Ignored,
            reason: Some(reason.into()),
            message_id: mail.message_id,
            reference: None,
            reply_id: None,
            attachments: mail.attachments,
        });
    }
    let applied = apply(files, (rules, now), reference_prefix, &mut mail, claim_id).await;
    if applied.is_err() {
        // Give the Message-ID back, so the sender's retry is not taken for a repeat.
        let mut conn = store.conn().await?;
        db::release_inbound(&mut conn, claim_id).await?;
    }
    applied
}

/// The reply or the new ticket, with the message's files stored as the sender's uploads and
/// attached to it.
async fn apply(
    files: Files<'_>,
    (rules, now): (&TicketRules, Timestamp),
    reference_prefix: &str,
    mail: &mut Inbound,
    claim_id: i64,
) -> Result<Received> {
    let store = files.store;
    let sender = sender(store, mail).await?;
    let actor = Actor {
        user_id: sender.id,
        role: sender.role,
    };
    let attachment_ids = store_files(files, sender.id, &mut mail.attachments, now).await?;
    let listed = serde_json::to_string(&mail.attachments)?;
    let mail: &Inbound = mail;
    let details = json!({
        "message_id": mail.message_id,
        "from": mail.from_email,
        "attachments": mail.attachments,
    });
    if let Some(reference) = thread(store, mail, reference_prefix, &sender).await? {
        let body = body_text(trim::reply(&mail.text), &mail.attachments);
        let reply_id = operations::edit(store, (rules, now), &actor, &reference, async |t, tx| {
            let reply_id = t.reply_with(tx, &body, false, &attachment_ids).await?;
            if !actor.role.is_staff() {
                // The customer answered: the ticket is the team's turn again, where the
                // configured status table allows that move (the reply is kept either way).
                let next = match t.status() {
                    Status::WaitingOnCustomer => Some(Status::Open),
                    Status::Resolved | Status::Closed => Some(Status::Reopened),
                    _ => None,
                };
                if let Some(next) = next.filter(|&next| rules.allows(t.status(), next)) {
                    t.set_status(tx, next).await?;
                }
            }
            activity::record(tx, t.id(), Some(&actor), Kind::EmailReceived, details, now);
            let settled = db::Settled {
                outcome: "replied",
                reason: None,
                ticket_id: Some(t.id()),
                reply_id: Some(reply_id),
                attachments: &listed,
            };
            db::settle_inbound(tx, claim_id, &settled).await?;
            t.emit(tx, RECEIVED, received_event(mail, &settled));
            Ok(reply_id)
        })
        .await?;
        return Ok(Received {
            outcome: Outcome::Replied,
            reason: None,
            message_id: mail.message_id.clone(),
            reference: Some(reference),
            reply_id: Some(reply_id),
            attachments: mail.attachments.clone(),
        });
    }
    let subject = match mail.subject.trim() {
        "" => "(no subject)".to_string(),
        s => truncate(&s.replace(char::is_control, " "), MAX_SUBJECT),
    };
    let reference = create::create(
        store,
        now,
        &actor,
        NewTicketInput {
            subject,
            description: body_text(trim::new_ticket(&mail.text), &mail.attachments),
            priority: None,
            ticket_type: None,
            department_id: None,
            tag_ids: Vec::new(),
            requester: None,
            channel: "email",
            attachment_ids,
        },
        reference_prefix,
    )
    .await?;
    operations::edit(store, (rules, now), &actor, &reference, async |t, tx| {
        activity::record(tx, t.id(), Some(&actor), Kind::EmailReceived, details, now);
        let settled = db::Settled {
            outcome: "created",
            reason: None,
            ticket_id: Some(t.id()),
            reply_id: None,
            attachments: &listed,
        };
        db::settle_inbound(tx, claim_id, &settled).await?;
        t.emit(tx, RECEIVED, received_event(mail, &settled));
        Ok(())
    })
    .await?;
    Ok(Received {
        outcome: Outcome::Created,
        reason: None,
        message_id: mail.message_id.clone(),
        reference: Some(reference),
        reply_id: None,
        attachments: mail.attachments.clone(),
    })
}

/// The event of a message taken (not of a repeat, which changes nothing).
const RECEIVED: &str = "email.received";

/// What `email.received` carries besides the ticket: what was done, and the message.
fn received_event(mail: &Inbound, settled: &db::Settled<'_>) -> serde_json::Value {
    json!({
        "outcome": settled.outcome,
        "reason": settled.reason,
        "reply_id": settled.reply_id,
        "message_id": mail.message_id,
        "from": mail.from_email,
        "subject": truncate(&mail.subject, MAX_SUBJECT),
        "attachments": mail.attachments,
    })
}

/// Stores the message's files as uploads of `uploader_id`, through the same checks as
/// `POST /attachments` (size, sniffed type); a file those refuse, or one past the first
/// [`MAX_PER_MESSAGE`], is marked refused and the message goes on without it. Answers the ids
/// to attach. Uploads left unattached (the write failed) are purged like any others.
async fn store_files(
    files: Files<'_>,
    uploader_id: i64,
    attachments: &mut [Attachment],
    now: Timestamp,
) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    for file in attachments.iter_mut() {
        if ids.len() == MAX_PER_MESSAGE {
            file.refused = Some(format!(
                "At most {MAX_PER_MESSAGE} files are kept per message."
            ));
            continue;
        }
        let content = std::mem::take(&mut file.content);
        let uploaded = attachments::upload(
            files,
            uploader_id,
            Some(&file.filename),
            content.as_slice(),
            "attachments",
            now,
        )
        .await;
        match uploaded {
            Ok(row) => {
                ids.push(row.id);
                file.filename = row.filename;
                file.mime_type = row.mime_type;
                file.size = row.size;
                file.id = Some(row.id);
                file.sha256 = Some(row.sha256);
            }
            Err(Error::TooLarge(why)) => file.refused = Some(why),
            Err(Error::Validation(errors)) => {
                file.refused = errors.iter().next().map(|(_, why)| why.clone());
            }
            Err(err) => return Err(err),
        }
    }
    Ok(ids)
}

/// The ticket this message answers, if its sender may answer it: by the Message-IDs it
/// names, then by the reference in its subject. Only the requester, a follower or staff may;
/// anyone else's message starts a ticket of their own.
async fn thread(
    store: &Store,
    mail: &Inbound,
    reference_prefix: &str,
    sender: &users::User,
) -> Result<Option<String>> {
    let mut conn = store.conn().await?;
    let keys: Vec<String> = mail.answers.iter().map(|id| message_key(id)).collect();
    let ticket = match db::ticket_of_message(&mut conn, &keys).await? {
        Some(id) => tickets::find(&mut conn, id).await?,
        None => match message::subject_reference(&mail.subject, reference_prefix) {
            Some(reference) => tickets::find_by_reference(&mut conn, &reference).await?,
            None => None,
        },
    };
    let Some(ticket) = ticket else {
        return Ok(None);
    };
    let allowed = sender.role.is_staff()
        || ticket.requester_id == sender.id
        || tickets::is_follower(&mut conn, ticket.id, sender.id).await?;
    Ok(allowed.then_some(ticket.reference))
}

/// The sender's user: found by address, or created as a customer.
async fn sender(store: &Store, mail: &Inbound) -> Result<users::User> {
    if let Some(user) = users::find_by_email(store, &mail.from_email).await? {
        return Ok(user);
    }
    let name = mail
        .from_name
        .clone()
        .map(|n| truncate(&n.replace(char::is_control, " "), 255))
        .unwrap_or_else(|| mail.from_email.split('@').next().unwrap_or("").to_string());
    let created = users::create(
        store,
        NewUser {
            name,
            email: mail.from_email.clone(),
            role: Role::Customer.as_str().into(),
            is_active: Some(true),
        },
    )
    .await;
    match created {
        Ok(user) => Ok(user),
        // Created by a concurrent message from the same sender.
        Err(Error::Validation(_)) => users::find_by_email(store, &mail.from_email)
            .await?
            .ok_or_else(|| Error::field("message", "The sender's address is not valid.")),
        Err(err) => Err(err),
    }
}

async fn duplicate(store: &Store, mail: Inbound, seen: db::InboundRow) -> Result<Received> {
    let reference = match seen.ticket_id {
        Some(id) => {
            let mut conn = store.conn().await?;
            tickets::find(&mut conn, id).await?.map(|t| t.reference)
        }
        None => None,
    };
    Ok(Received {
        outcome: Outcome::Duplicate,
        reason: Some(format!("already {}", seen.outcome)),
        message_id: mail.message_id,
        reference,
        reply_id: seen.reply_id,
        attachments: serde_json::from_str(&seen.attachments).unwrap_or_default(),
    })
}

/// Whether `address` is one this server sends from (its own mail coming back).
fn is_ours(settings: &EmailConfig, address: &str) -> bool {
    [&settings.from, &settings.reply_to]
        .iter()
        .any(|configured| {
            configured
                .parse::<lettre::message::Mailbox>()
                .is_ok_and(|m| m.email.to_string().eq_ignore_ascii_case(address))
        })
}

/// The text a ticket or reply gets: never blank (a message may be all attachment), within the
/// body limit.
fn body_text(text: String, attachments: &[Attachment]) -> String {
    let text = if text.trim().is_empty() {
        if attachments.is_empty() {
            "(no text)".to_string()
        } else {
            let names: Vec<&str> = attachments.iter().map(|a| a.filename.as_str()).collect();
            format!("(no text; attachments: {})", names.join(", "))
        }
    } else {
        text
    };
    truncate(&text, MAX_BODY)
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
