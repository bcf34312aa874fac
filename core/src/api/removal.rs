//! The answer of the admin deletes: what happened to the thing, since some kinds are
//! deactivated instead of deleted while still in use.

use poem_openapi::{Enum, Object, payload::Json};

use super::envelope::{Written, written};
use crate::domain::Removal;

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RemovalOutcome {
    /// The record is gone.
    Deleted,
    /// The record is still referenced (or is a user) and was deactivated instead.
    Deactivated,
}

#[derive(Debug, Object)]
pub struct RemovalResult {
    pub id: i64,
    pub outcome: RemovalOutcome,
}

/// `{"data": {"id", "outcome"}, "message": "<Kind> deleted."}`.
pub fn removed(id: i64, removal: Removal, message: &str) -> Json<Written<RemovalResult>> {
    let outcome = match removal {
        Removal::Deleted => RemovalOutcome::Deleted,
        Removal::Deactivated => RemovalOutcome::Deactivated,
    };
    written(RemovalResult { id, outcome }, message)
}
