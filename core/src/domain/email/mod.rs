//! Email (contract §9.7): inbound messages become tickets and replies; notifications go out
//! by SMTP from the event outbox (`crate::email`).

pub mod inbound;
pub mod message;
pub mod notices;
pub mod templates;
pub mod trim;

use sha2::{Digest, Sha256};

/// The indexed form of a Message-ID (without angle brackets): its SHA-256 in hex, a fixed
/// length whatever the id's.
pub fn message_key(message_id: &str) -> String {
    hex::encode(Sha256::digest(message_id.trim().as_bytes()))
}

/// A page of the delivery log, newest first, with the total.
pub async fn deliveries(
    store: &crate::store::Store,
    window: &crate::store::keyset::Window,
) -> crate::error::Result<crate::store::keyset::Slice<crate::store::email::DeliveryRow>> {
    let mut conn = store.conn().await?;
    crate::store::email::delivery_page(&mut conn, window).await
}
