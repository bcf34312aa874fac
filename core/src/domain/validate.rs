//! Field checks shared by every operation, with the messages clients see (`errors.<field>`).
//! Lengths count Unicode code points, as the contract says.

use crate::error::FieldErrors;

/// `subject` → `subject`, `agent_id` → `agent id`: how a field is named inside a message.
fn label(field: &str) -> String {
    field.replace('_', " ")
}

pub fn required(field: &str) -> String {
    format!("The {} field is required.", label(field))
}

pub fn invalid(field: &str) -> String {
    format!("The selected {} is invalid.", label(field))
}

pub fn too_long(field: &str, max: usize) -> String {
    format!(
        "The {} may not be greater than {max} characters.",
        label(field)
    )
}

/// A required, non-blank text of at most `max` characters; surrounding white space is removed.
pub fn line(field: &str, value: &str, max: usize) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(required(field));
    }
    if trimmed.chars().count() > max {
        return Err(too_long(field, max));
    }
    Ok(trimmed.to_string())
}

/// A required, non-blank text kept exactly as written (message bodies).
pub fn body(field: &str, value: &str, max: usize) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err(required(field));
    }
    if value.chars().count() > max {
        return Err(too_long(field, max));
    }
    Ok(value.to_string())
}

/// Optional text: `None` or blank stays `None`.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > max => Err(too_long(field, max)),
        Some(text) => Ok(Some(text.to_string())),
    }
}

/// A plausible address, lower-cased: one `@`, something on each side, a dot in the domain, no
/// white space. Deliverability is not this server's business.
pub fn email(field: &str, value: &str) -> Result<String, String> {
    let email = line(field, value, MAX_EMAIL)?.to_lowercase();
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(email)
    } else {
        Err(format!(
            "The {} must be a valid email address.",
            label(field)
        ))
    }
}

/// An integer within bounds.
pub fn range(field: &str, value: i64, min: i64, max: i64) -> Result<i64, String> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "The {} must be between {min} and {max}.",
            label(field)
        ))
    }
}

/// A field that must hold a value on create and may be left out on update: checks `given`
/// (or, on create, the empty text, which `rule` refuses as required) and writes it to `slot`.
pub fn set_text(
    errors: &mut FieldErrors,
    field: &str,
    given: Option<&str>,
    creating: bool,
    rule: impl FnOnce(&str) -> Result<String, String>,
    slot: &mut String,
) {
    if (creating || given.is_some())
        && let Some(value) = errors.check(field, rule(given.unwrap_or_default()))
    {
        *slot = value;
    }
}

/// A nullable text field of at most `max` characters: `Some(None)` clears it.
pub fn set_optional(
    errors: &mut FieldErrors,
    field: &str,
    given: &Option<Option<String>>,
    max: usize,
    slot: &mut Option<String>,
) {
    if let Some(value) = given
        && let Some(value) = errors.check(field, optional(field, value.as_deref(), max))
    {
        *slot = value;
    }
}

/// Longest `name` of a person, a token or an admin record (departments, macros, SLA policies,
/// automations).
pub const MAX_NAME: usize = 255;
/// Longest email address.
pub const MAX_EMAIL: usize = 255;
/// Longest `description` of one.
pub const MAX_DESCRIPTION: usize = 1000;

/// The `name` (required on create) and nullable `description` that departments, macros and
/// SLA policies share.
pub fn set_name_and_description(
    errors: &mut FieldErrors,
    given: (Option<&str>, &Option<Option<String>>),
    creating: bool,
    name: &mut String,
    description: &mut Option<String>,
) {
    let rule = |n: &str| line("name", n, MAX_NAME);
    set_text(errors, "name", given.0, creating, rule, name);
    set_optional(errors, "description", given.1, MAX_DESCRIPTION, description);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        assert!(line("subject", &"é".repeat(255), 255).is_ok());
        assert!(line("subject", &"é".repeat(256), 255).is_err());
    }

    #[test]
    fn blank_is_missing() {
        assert_eq!(
            line("subject", "   ", 255),
            Err("The subject field is required.".into())
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            email("email", " Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        assert!(email("email", "ann@localhost").is_err());
        assert!(email("email", "a b@x.io").is_err());
    }
}
