//! An inbound message as the rules need it: who sent it, what it answers, its text (HTML
//! reduced to text), its attachments, and whether a machine sent it. Parsed with `mail-parser`,
//! which decodes charsets, encoded words and transfer encodings.

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
use serde::Serialize;

use super::message_key;
use crate::{
    domain::attachments::clean_filename,
    error::{Error, Result},
};

/// Most Message-IDs of `References` looked at for threading.
const MAX_REFERENCES: usize = 50;
/// Most files of a message looked at (at most `attachments::MAX_PER_MESSAGE` are stored); the
/// rest are not listed, so the list stays small whatever a message holds.
const MAX_FILES: usize = 50;

#[derive(Debug, Clone)]
pub struct Inbound {
    /// Without angle brackets. A message without one gets `<sha256 of the message>@no-message-id`,
    /// so a repeat of it is still recognised.
    pub message_id: String,
    /// Lower-cased.
    pub from_email: String,
    pub from_name: Option<String>,
    pub subject: String,
    /// `In-Reply-To` first, then `References` newest first; without angle brackets.
    pub answers: Vec<String>,
    pub text: String,
    /// Why a machine sent it, if one did: it then creates nothing.
    pub automatic: Option<&'static str>,
    pub attachments: Vec<Attachment>,
}

/// A file of the message, and what became of it: stored as an attachment (§9.5, `id` and
/// `sha256` set) or refused by the upload rules (`refused` says why). A file of a message that
/// creates nothing is neither.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Attachment {
    pub filename: String,
    /// As declared by the message until stored, then as sniffed from the content.
    pub mime_type: String,
    pub size: i64,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub refused: Option<String>,
    /// The decoded content; never serialized.
    #[serde(skip)]
    pub content: Vec<u8>,
}

/// Parses `raw`; 422 on `message` when it is not a message with a sender.
pub fn parse(raw: &[u8]) -> Result<Inbound> {
    let invalid = |why: &str| Error::field("message", why.to_string());
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| invalid("The body is not an email message."))?;
    let from = message
        .from()
        .and_then(|a| a.first())
        .ok_or_else(|| invalid("The message has no From address."))?;
    let from_email = from
        .address()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@'))
        .ok_or_else(|| invalid("The message has no From address."))?;
    let from_name = from
        .name()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    let message_id = match message
        .message_id()
        .map(unbracket)
        .filter(|id| !id.is_empty())
    {
        Some(id) => id,
        None => format!(
            "{}@no-message-id",
            message_key(&String::from_utf8_lossy(raw))
        ),
    };
    let mut answers = ids(message.in_reply_to());
    let mut references = ids(message.references());
    references.reverse();
    answers.extend(references);
    answers.dedup();
    answers.truncate(MAX_REFERENCES);
    let text = message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    let attachments = message
        .attachments()
        .take(MAX_FILES)
        .map(|part| Attachment {
            filename: clean_filename(
                part.attachment_name()
                    .map(str::to_string)
                    .or_else(|| {
                        part.message()
                            .and_then(|m| m.subject())
                            .map(|s| format!("{s}.eml"))
                    })
                    .as_deref()
                    .or(Some("attachment")),
            ),
            mime_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_lowercase(),
            size: part.contents().len() as i64,
            id: None,
            sha256: None,
            refused: None,
            content: part.contents().to_vec(),
        })
        .collect();
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_lowercase());
    let is_report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    let local = from_email.split('@').next().unwrap_or_default();
    let automatic = if header("auto-submitted")
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim() != "no")
        || header("x-autoreply").is_some()
        || header("x-autorespond").is_some()
    {
        Some("auto_submitted")
    } else if header("precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "list" | "junk")) {
        Some("bulk")
    } else if is_report
        || matches!(local, "mailer-daemon" | "postmaster")
        || header("return-path").is_some_and(|v| v == "<>")
    {
        Some("bounce")
    } else {
        None
    };
    Ok(Inbound {
        message_id,
        from_email,
        from_name,
        subject: message.subject().unwrap_or_default().trim().to_string(),
        answers,
        text,
        automatic,
        attachments,
    })
}

fn unbracket(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// The Message-IDs of an `In-Reply-To` or `References` field.
fn ids(value: &HeaderValue) -> Vec<String> {
    let list: Vec<String> = match value {
        HeaderValue::Text(text) => text.split_whitespace().map(unbracket).collect(),
        HeaderValue::TextList(list) => list.iter().map(|t| unbracket(t)).collect(),
        _ => Vec::new(),
    };
    list.into_iter().filter(|id| !id.is_empty()).collect()
}

/// The ticket reference named in a subject (`Re: Printer [ESC-00042]` → `ESC-00042`).
pub fn subject_reference(subject: &str, prefix: &str) -> Option<String> {
    let mut rest = subject;
    while let Some(start) = rest.find('[') {
        let after = &rest[start + 1..];
        if let Some(end) = after.find(']') {
            let candidate = after[..end].trim();
            if let Some(digits) = candidate
                .get(..prefix.len())
                .filter(|p| p.eq_ignore_ascii_case(prefix))
                .and_then(|_| candidate[prefix.len()..].strip_prefix('-'))
                && !digits.is_empty()
                && digits.len() <= 20
                && digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Some(format!("{prefix}-{digits}"));
            }
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_reference_in_a_subject() {
        assert_eq!(
            subject_reference("Re: Printer jammed [ESC-00042]", "ESC").as_deref(),
            Some("ESC-00042")
        );
        assert_eq!(
            subject_reference("[esc-7] hi", "ESC").as_deref(),
            Some("ESC-7")
        );
        assert_eq!(subject_reference("[ESC-] [ESC-x1] [XYZ-1]", "ESC"), None);
        assert_eq!(subject_reference("no brackets", "ESC"), None);
    }
}
