//! Cursors: the opaque text a client passes back (`cursor=...`) to continue a list where the
//! last page ended (see `store::keyset`).
//!
//! A cursor is the base64url of a small JSON document: which list and order it belongs to, and
//! the sort key and id of the last row shown. It is not secret (it holds nothing the page did
//! not show) and not signed: a made-up cursor can only start a list the caller may read
//! anyway at another place. It is checked all the same: a cursor of another list or order, or
//! one that does not decode, is 422 on `cursor`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

/// Where a page starts and what it holds, as the store reads them.
pub use crate::store::keyset::{Position, Slice, Window};
use crate::{error::Error, error::Result, store::keyset::SortValue};

/// The longest cursor accepted (a ticket subject of 255 characters encodes in about 1,400).
pub const MAX_CURSOR: usize = 2048;

/// What a list's sort key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Ordered by id alone.
    IdOnly,
    Int,
    Text,
    /// A file's name for negative ids, else the id alone (admin lists of script-backed kinds).
    FileNameOrId,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    /// The list and order, e.g. `tickets:created_at:desc` or `Tag`.
    l: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<SortValue>,
    i: i64,
}

/// The cursor that continues the list `list` after `position`.
pub fn encode(list: &str, position: &Position) -> String {
    let wire = Wire {
        l: list.to_string(),
        k: position.key.clone(),
        i: position.id,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
}

/// The position `text` names in the list `list` whose key is `kind`; 422 on `cursor` unless it
/// is a cursor this server made for that list.
pub fn decode(list: &str, kind: KeyKind, text: &str) -> Result<Position> {
    let invalid = || Error::field("cursor", "The cursor is invalid.");
    if text.len() > MAX_CURSOR {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if wire.l != list {
        return Err(Error::field(
            "cursor",
            "The cursor belongs to another list or order.",
        ));
    }
    let fits = match (kind, &wire.k) {
        (KeyKind::IdOnly, None) => true,
        (KeyKind::Int, Some(SortValue::Int(_))) => true,
        (KeyKind::Text, Some(SortValue::Text(_))) => true,
        (KeyKind::FileNameOrId, None) => wire.i > 0,
        (KeyKind::FileNameOrId, Some(SortValue::Text(_))) => wire.i < 0,
        _ => false,
    };
    if !fits {
        return Err(invalid());
    }
    Ok(Position {
        key: wire.k,
        id: wire.i,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_list() {
        let at = Position {
            key: Some(SortValue::Text("Printer \"on\" fire ✓".into())),
            id: 42,
        };
        let text = encode("tickets:subject:asc", &at);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            decode("tickets:subject:asc", KeyKind::Text, &text).unwrap(),
            at
        );
        assert!(decode("tickets:subject:desc", KeyKind::Text, &text).is_err());
        assert!(decode("tickets:subject:asc", KeyKind::Int, &text).is_err());

        let by_id = encode("Tag", &Position::id(7));
        assert_eq!(
            decode("Tag", KeyKind::IdOnly, &by_id).unwrap(),
            Position::id(7)
        );
        for bad in ["", "%%%", "bm90IGpzb24", &"A".repeat(MAX_CURSOR + 1)] {
            assert!(decode("Tag", KeyKind::IdOnly, bad).is_err(), "{bad}");
        }
    }
}
