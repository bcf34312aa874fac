//! Email (contract §9.7): inbound messages become tickets and replies; notifications go out
//! by SMTP from the event outbox (`crate::email`).

pub mod inbound;
pub mod message;
pub mod notices;
pub mod templates;
pub mod trim;

use serde_json::json;
use sha2::{Digest, Sha256};

/// A notification in the delivery log, as the domain hands it out.
pub use crate::store::email::DeliveryRow;
use crate::{
    domain::events::{self, TicketSnapshot},
    error::Result,
    store::{Tx, tickets},
    time::Timestamp,
};

/// The indexed form of a Message-ID (without angle brackets): its SHA-256 in hex, a fixed
/// length whatever the id's.
pub fn message_key(message_id: &str) -> String {
    hex::encode(Sha256::digest(message_id.trim().as_bytes()))
}

/// A page of the delivery log, newest first, with the total.
pub async fn deliveries(
    store: &crate::store::Store,
    window: &crate::store::keyset::Window,
) -> Result<crate::store::keyset::Slice<crate::store::email::DeliveryRow>> {
    let mut conn = store.conn().await?;
    crate::store::email::delivery_page(&mut conn, window).await
}

/// Publishes the end of a notification's delivery: `email.sent`, or `email.failed` when it
/// failed its last attempt (`error` set). Earlier failed attempts are in the delivery log only.
pub async fn delivery_event(
    tx: &mut Tx,
    mail: &DeliveryRow,
    attempts: i64,
    error: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    let ticket = tickets::find(tx, mail.ticket_id).await?;
    let name = if error.is_none() {
        "email.sent"
    } else {
        "email.failed"
    };
    let delivery = json!({
        "id": mail.id,
        "kind": mail.kind,
        "recipient": mail.recipient,
        "subject": mail.subject,
        "message_id": mail.message_id,
        "attempts": attempts,
        "error": error,
    });
    events::record_maybe_about(
        tx,
        name,
        ticket.as_ref().map(TicketSnapshot::from),
        json!({ "delivery": delivery }),
        now,
    );
    Ok(())
}
