//! Attachments (contract §9.5): what an upload may be, who may read a file, attaching uploads
//! to a new ticket or a reply, and deleting files no one needs any more.
//!
//! Who may read: before it is attached, only the uploader. Afterwards whoever may read the
//! ticket: on this API that is every active agent or admin whose token has `tickets:read` (the
//! guard admits no one else), as for `GET /tickets/{reference}`. An internal note's files are
//! for agents (and admins) only; the check is made here, so a caller of another kind would be
//! refused even though none reaches this API today. A deleted ticket's files are gone for all.

use serde_json::{Value, json};
use sqlx::AnyConnection;
use tokio::io::AsyncRead;

/// A stored attachment as the domain hands it out.
pub use crate::store::attachments::AttachmentRow;

use super::roles::Actor;
use crate::{
    blobs::{Blobs, PutError},
    config::AttachmentsConfig,
    error::{Error, Result},
    store::{
        Store, Tx,
        attachments::{self, NewAttachment, Target},
    },
    time::Timestamp,
};

/// Most attachments on one ticket creation or reply.
pub const MAX_PER_MESSAGE: usize = 10;

/// An upload may be attached for this long; afterwards the purge job deletes it.
pub const CLAIM_SECONDS: i64 = 24 * 3600;

/// Longest stored file name, in characters.
pub const MAX_FILENAME: usize = 255;

/// The metadata events and webhooks carry (never the content).
pub fn metadata(row: &AttachmentRow) -> Value {
    json!({
        "id": row.id,
        "filename": row.filename,
        "mime_type": row.mime_type,
        "size": row.size,
        "sha256": row.sha256,
    })
}

/// The type of a file from its first bytes, if it may be stored: executables never, other
/// types when `allowed` lists them (`image/png`, or a family such as `image/*`).
pub fn sniff(head: &[u8], allowed: &[String]) -> std::result::Result<String, String> {
    // A script names its interpreter; `infer` would call some of them text (`text/x-shellscript`).
    if head.starts_with(b"#!") {
        return Err("Executable files are not accepted.".into());
    }
    let mime = match infer::get(head) {
        Some(kind) if kind.matcher_type() == infer::MatcherType::App => {
            return Err("Executable files are not accepted.".into());
        }
        Some(kind) => kind.mime_type().to_string(),
        None if looks_like_text(head) => "text/plain".to_string(),
        None => "application/octet-stream".to_string(),
    };
    let family = mime.split('/').next().unwrap_or_default();
    let listed = allowed.iter().any(|a| {
        a.eq_ignore_ascii_case(&mime)
            || a.strip_suffix("/*")
                .is_some_and(|f| f.eq_ignore_ascii_case(family))
    });
    if !listed {
        return Err(format!("Files of type {mime} are not accepted."));
    }
    Ok(mime)
}

/// UTF-8 without NUL bytes (a character cut at the end of the sniffed head is fine).
fn looks_like_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(err) => err.error_len().is_none() && head.len() - err.valid_up_to() < 4,
    }
}

/// The name a file is stored under: the last path segment of what the client sent, without
/// control characters, at most [`MAX_FILENAME`] characters; `file` when nothing is left.
pub fn clean_filename(sent: Option<&str>) -> String {
    let last = sent
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let name: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILENAME)
        .collect();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        "file".into()
    } else {
        name.to_string()
    }
}

/// Where uploads go, under which limits.
#[derive(Clone, Copy)]
pub struct Files<'a> {
    pub store: &'a Store,
    pub blobs: &'a Blobs,
    pub config: &'a AttachmentsConfig,
}

/// Streams one upload of `uploader_id` into storage and records it; it is the uploader's alone
/// until attached.
#[tracing::instrument(name = "upload_attachment", skip_all)]
pub async fn upload(
    files: Files<'_>,
    uploader_id: i64,
    filename: Option<&str>,
    content: impl AsyncRead + Unpin,
    field: &str,
    now: Timestamp,
) -> Result<AttachmentRow> {
    let Files {
        store,
        blobs,
        config,
    } = files;
    let filename = clean_filename(filename);
    let (stored, mime_type) = blobs
        .put(content, config.max_bytes, |head| {
            sniff(head, &config.allowed_types)
        })
        .await
        .map_err(|err| match err {
            PutError::TooLarge => Error::TooLarge(format!(
                "The file is larger than the limit of {} bytes.",
                config.max_bytes
            )),
            PutError::Refused(message) => Error::field(field, message),
            PutError::Failed(cause) => Error::Internal(cause),
        })?;
    let mut tx = store.begin().await?;
    let new = NewAttachment {
        uploader_id,
        filename: &filename,
        mime_type: &mime_type,
        size: stored.size as i64,
        sha256: &stored.sha256,
    };
    let id = attachments::insert(&mut tx, &new, now).await?;
    tx.commit().await?;
    Ok(AttachmentRow {
        id,
        uploader_id,
        ticket_id: None,
        reply_id: None,
        is_internal: 0,
        filename,
        mime_type,
        size: stored.size as i64,
        sha256: stored.sha256,
        created_at: now,
    })
}

/// 422 on `attachment_ids` unless every id is an upload of `uploader_id` that may still be
/// attached. Checked before a write starts; [`attach`] checks again inside it.
pub async fn check_claimable(
    conn: &mut AnyConnection,
    ids: &[i64],
    uploader_id: i64,
    now: Timestamp,
) -> Result<()> {
    if ids.len() > MAX_PER_MESSAGE {
        return Err(Error::field(
            "attachment_ids",
            format!("The attachment ids field may hold at most {MAX_PER_MESSAGE} ids."),
        ));
    }
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != ids.len() {
        return Err(Error::field(
            "attachment_ids",
            "The attachment ids field holds an id twice.",
        ));
    }
    let found = attachments::claimable(conn, ids, uploader_id, now - CLAIM_SECONDS).await?;
    if found.len() != ids.len() {
        return Err(unclaimable(ids, &found));
    }
    Ok(())
}

fn unclaimable(ids: &[i64], found: &[i64]) -> Error {
    let missing = ids.iter().find(|id| !found.contains(id)).copied();
    Error::field(
        "attachment_ids",
        format!(
            "Attachment {} is not an upload of yours that can be attached (uploads are attached \
             once, within 24 hours).",
            missing.unwrap_or_default()
        ),
    )
}

/// Attaches the uploads `ids` of `uploader_id` to `target` inside the caller's transaction and
/// returns their metadata for the event. 422 on `attachment_ids` when one of them can no longer
/// be attached (claimed meanwhile by another request, or too old).
pub async fn attach(
    conn: &mut AnyConnection,
    ids: &[i64],
    uploader_id: i64,
    target: Target,
    now: Timestamp,
) -> Result<Vec<Value>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    check_claimable(conn, ids, uploader_id, now).await?;
    let since = now - CLAIM_SECONDS;
    let done = attachments::attach(conn, ids, uploader_id, since, target, now).await?;
    if done as usize != ids.len() {
        return Err(unclaimable(ids, &[]));
    }
    Ok(attachments::by_ids(conn, ids)
        .await?
        .iter()
        .map(metadata)
        .collect())
}

/// Every file of a ticket (its replies' and those attached at creation), in id order.
pub async fn of_ticket(conn: &mut AnyConnection, ticket_id: i64) -> Result<Vec<AttachmentRow>> {
    attachments::of_ticket(conn, ticket_id).await
}

/// The attachments `ids`, read in `tx` (a write's answer shows the files it attached).
pub async fn by_ids(tx: &mut Tx, ids: &[i64]) -> Result<Vec<AttachmentRow>> {
    attachments::by_ids(tx, ids).await
}

/// The attachment `id` if `caller` may read it; `Attachment not found.` otherwise (a file one
/// may not read is not admitted to exist).
pub async fn readable(conn: &mut AnyConnection, id: i64, caller: &Actor) -> Result<AttachmentRow> {
    let not_found = || Error::not_found("Attachment");
    let found = attachments::find(conn, id).await?.ok_or_else(not_found)?;
    let row = found.row;
    let visible = match row.ticket_id {
        None => row.uploader_id == caller.user_id,
        Some(_) if found.ticket_deleted != 0 => false,
        Some(_) if row.is_internal != 0 => caller.role.is_staff(),
        Some(_) => true,
    };
    if !visible {
        return Err(not_found());
    }
    Ok(row)
}

/// Rows deleted per query; a run loops until none are left.
const BATCH: i64 = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PurgeReport {
    /// Attachment rows deleted.
    pub rows: u64,
    /// Stored objects deleted (no row referred to them any more).
    pub objects: u64,
}

/// Deletes uploads never attached within [`CLAIM_SECONDS`] and the attachments of deleted
/// tickets, and each stored object once no row refers to its hash.
#[tracing::instrument(name = "purge_attachments", skip_all)]
pub async fn purge(store: &Store, blobs: &Blobs, now: Timestamp) -> Result<PurgeReport> {
    let mut report = PurgeReport::default();
    loop {
        let doomed = {
            let mut conn = store.conn().await?;
            let mut doomed =
                attachments::unattached_before(&mut conn, now - CLAIM_SECONDS, BATCH).await?;
            doomed.extend(attachments::of_deleted_tickets(&mut conn, BATCH).await?);
            doomed
        };
        if doomed.is_empty() {
            break;
        }
        for row in &doomed {
            // The row goes first: a new upload of the same content that lands between the two
            // steps keeps the object, because the object is deleted only when unreferenced.
            let mut tx = store.begin().await?;
            attachments::delete(&mut tx, row.id).await?;
            tx.commit().await?;
            report.rows += 1;
            let in_use = attachments::sha256_in_use(&mut *store.conn().await?, &row.sha256).await?;
            if !in_use {
                blobs.delete(&row.sha256).await?;
                report.objects += 1;
            }
        }
    }
    // Temporary objects of uploads cut off by a crash.
    blobs.delete_stale_temporaries(now - 3600).await?;
    Ok(report)
}
