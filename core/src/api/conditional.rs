//! Conditional requests (contract §9.3): the `ETag` a read or a write answers, `If-None-Match`
//! on reads (304 when the client's copy is current) and `If-Match` on writes (412 when the
//! resource changed since the client read it). The reasons for each kind of tag are in
//! docs/sync.md.
//!
//! - A ticket's tag is its version, `W/"<change_seq>"`: weak, because one version can be shown
//!   in more than one way (a tag, user or department renamed since; the caller's own
//!   `is_following`). Both headers compare versions (weak comparison), so a rename elsewhere
//!   neither makes a write fail nor a cached copy look stale; the version is checked under the
//!   ticket's lock, inside the write's transaction.
//! - An admin record's tag is a hash of its representation (strong).

use sha2::{Digest, Sha256};

/// The ETag of a ticket at `version`.
pub fn ticket(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The ETag of a representation: the first 128 bits of its JSON's SHA-256, in hex.
pub fn of_json(value: Option<serde_json::Value>) -> String {
    let text = value.map(|v| v.to_string()).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// The entity tags a header lists, each without its `W/` (weak comparison); `None` for `*`.
fn listed(value: &str) -> Option<Vec<&str>> {
    if value.trim() == "*" {
        return None;
    }
    Some(
        value
            .split(',')
            .map(|tag| {
                let tag = tag.trim();
                tag.strip_prefix("W/").unwrap_or(tag)
            })
            .filter(|tag| !tag.is_empty())
            .collect(),
    )
}

/// The ticket versions an `If-Match` accepts: `None` (any) when there is none or it is `*`,
/// else the versions it names. A tag that names no version accepts none: the write is 412.
pub fn versions(if_match: Option<&str>) -> Option<Vec<i64>> {
    let tags = listed(if_match?)?;
    Some(
        tags.iter()
            .filter_map(|tag| tag.strip_prefix('"')?.strip_suffix('"')?.parse().ok())
            .collect(),
    )
}

/// Whether an `If-None-Match` names `etag` (or is `*`): the client's copy is current.
pub fn none_match(if_none_match: Option<&str>, etag: &str) -> bool {
    let Some(value) = if_none_match else {
        return false;
    };
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    listed(value).is_none_or(|tags| tags.contains(&etag))
}

/// Whether an `If-Match` accepts a resource whose ETag is `etag` (no header accepts any).
pub fn matches(if_match: Option<&str>, etag: &str) -> bool {
    let Some(value) = if_match else {
        return true;
    };
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    listed(value).is_none_or(|tags| tags.contains(&etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_names_versions() {
        assert_eq!(versions(None), None);
        assert_eq!(versions(Some("*")), None);
        assert_eq!(versions(Some("W/\"12\"")), Some(vec![12]));
        assert_eq!(versions(Some("\"3\", W/\"4\"")), Some(vec![3, 4]));
        assert_eq!(versions(Some("12")), Some(vec![]), "unquoted: no version");
        assert_eq!(versions(Some("\"abc\"")), Some(vec![]));
    }

    #[test]
    fn tags_compare_weakly() {
        let tag = ticket(7);
        assert!(none_match(Some("W/\"7\""), &tag));
        assert!(none_match(Some("\"7\""), &tag));
        assert!(none_match(Some("\"1\", W/\"7\""), &tag));
        assert!(none_match(Some("*"), &tag));
        assert!(!none_match(Some("W/\"8\""), &tag));
        assert!(!none_match(None, &tag));
        let hashed = of_json(Some(serde_json::json!({"id": 1})));
        assert!(matches(None, &hashed));
        assert!(matches(Some(&hashed), &hashed));
        assert!(!matches(Some("\"0\""), &hashed));
        assert_ne!(hashed, of_json(Some(serde_json::json!({"id": 2}))));
    }
}
