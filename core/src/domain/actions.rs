//! The vocabulary of ticket changes (contract §8): what a macro's declarative actions and a
//! script's calls may ask for. Both go through [`Action::parse`], so a saved action list and a
//! script's `set_status("...")` are checked by the same rules. Whether a change is allowed on a
//! given ticket (a transition, an existing agent) is decided when it is applied, not here.

use serde_json::{Value, json};

use super::{
    tickets::{Priority, Status, TicketType},
    validate,
};
use crate::error::FieldErrors;
pub use crate::scripting::RawAction;

/// At most this many actions in one macro, as many as a script may record.
pub const MAX_ACTIONS: usize = crate::scripting::MAX_CHANGES;
const MAX_TAG: usize = 100;
const MAX_TEXT: usize = 65_535;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionType {
    SetStatus,
    SetPriority,
    SetType,
    Assign,
    Unassign,
    SetDepartment,
    AddTag,
    RemoveTag,
    AddReply,
    AddNote,
    Follow,
}

impl ActionType {
    pub const ALL: [ActionType; 11] = [
        ActionType::SetStatus,
        ActionType::SetPriority,
        ActionType::SetType,
        ActionType::Assign,
        ActionType::Unassign,
        ActionType::SetDepartment,
        ActionType::AddTag,
        ActionType::RemoveTag,
        ActionType::AddReply,
        ActionType::AddNote,
        ActionType::Follow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionType::SetStatus => "set_status",
            ActionType::SetPriority => "set_priority",
            ActionType::SetType => "set_type",
            ActionType::Assign => "assign",
            ActionType::Unassign => "unassign",
            ActionType::SetDepartment => "set_department",
            ActionType::AddTag => "add_tag",
            ActionType::RemoveTag => "remove_tag",
            ActionType::AddReply => "add_reply",
            ActionType::AddNote => "add_note",
            ActionType::Follow => "follow",
        }
    }

    pub fn parse(text: &str) -> Option<ActionType> {
        ActionType::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// Who `assign` names: a user id or an email address (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentRef {
    Id(i64),
    Email(String),
}

/// One requested change, its value checked for shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    SetStatus(Status),
    SetPriority(Priority),
    SetType(TicketType),
    Assign(AgentRef),
    Unassign,
    SetDepartment(i64),
    AddTag(String),
    RemoveTag(String),
    AddReply(String),
    AddNote(String),
    Follow,
}

/// Why an action was refused: its type is unknown, or its value has the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionError {
    Type(String),
    Value(String),
}

/// One of `all`, by its name.
fn one_of<T: Copy>(
    kind: ActionType,
    value: &Value,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, ActionError> {
    let wanted = value.as_str();
    all.iter()
        .copied()
        .find(|v| Some(name(*v)) == wanted)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            ActionError::Value(format!(
                "The {} value must be one of: {}.",
                kind.as_str(),
                names.join(", ")
            ))
        })
}

fn positive_id(value: &Value) -> Option<i64> {
    value.as_i64().filter(|id| *id > 0)
}

/// A non-blank string: tag names are trimmed, message texts kept as written.
fn text(kind: ActionType, value: &Value, max: usize) -> Result<String, ActionError> {
    let Some(text) = value.as_str() else {
        return Err(ActionError::Value(format!(
            "The {} value must be a string.",
            kind.as_str()
        )));
    };
    let checked = match kind {
        ActionType::AddTag | ActionType::RemoveTag => validate::line("value", text, max),
        _ => validate::body("value", text, max),
    };
    checked.map_err(ActionError::Value)
}

fn nothing(kind: ActionType, value: &Value) -> Result<(), ActionError> {
    if value.is_null() {
        Ok(())
    } else {
        Err(ActionError::Value(format!(
            "The {} action takes no value (null).",
            kind.as_str()
        )))
    }
}

impl Action {
    /// Checks a `{type, value}` pair.
    pub fn parse(kind: &str, value: &Value) -> Result<Action, ActionError> {
        let Some(ty) = ActionType::parse(kind) else {
            return Err(ActionError::Type(format!(
                "Unknown action type '{kind}'. Known: {}.",
                ActionType::ALL.map(ActionType::as_str).join(", ")
            )));
        };
        Ok(match ty {
            ActionType::SetStatus => {
                Action::SetStatus(one_of(ty, value, &Status::ALL, Status::as_str)?)
            }
            ActionType::SetPriority => {
                Action::SetPriority(one_of(ty, value, &Priority::ALL, Priority::as_str)?)
            }
            ActionType::SetType => {
                Action::SetType(one_of(ty, value, &TicketType::ALL, TicketType::as_str)?)
            }
            ActionType::Assign => match value {
                Value::String(email) => Action::Assign(AgentRef::Email(
                    validate::email("value", email).map_err(ActionError::Value)?,
                )),
                _ => Action::Assign(AgentRef::Id(positive_id(value).ok_or_else(|| {
                    ActionError::Value(
                        "The assign value must be a user id or an email address.".into(),
                    )
                })?)),
            },
            ActionType::Unassign => {
                nothing(ty, value)?;
                Action::Unassign
            }
            ActionType::SetDepartment => {
                Action::SetDepartment(positive_id(value).ok_or_else(|| {
                    ActionError::Value("The set_department value must be a department id.".into())
                })?)
            }
            ActionType::AddTag => Action::AddTag(text(ty, value, MAX_TAG)?),
            ActionType::RemoveTag => Action::RemoveTag(text(ty, value, MAX_TAG)?),
            ActionType::AddReply => Action::AddReply(text(ty, value, MAX_TEXT)?),
            ActionType::AddNote => Action::AddNote(text(ty, value, MAX_TEXT)?),
            ActionType::Follow => {
                nothing(ty, value)?;
                Action::Follow
            }
        })
    }

    pub fn action_type(&self) -> ActionType {
        match self {
            Action::SetStatus(_) => ActionType::SetStatus,
            Action::SetPriority(_) => ActionType::SetPriority,
            Action::SetType(_) => ActionType::SetType,
            Action::Assign(_) => ActionType::Assign,
            Action::Unassign => ActionType::Unassign,
            Action::SetDepartment(_) => ActionType::SetDepartment,
            Action::AddTag(_) => ActionType::AddTag,
            Action::RemoveTag(_) => ActionType::RemoveTag,
            Action::AddReply(_) => ActionType::AddReply,
            Action::AddNote(_) => ActionType::AddNote,
            Action::Follow => ActionType::Follow,
        }
    }

    /// The `value` as clients see it (`null` for `unassign` and `follow`).
    pub fn value(&self) -> Value {
        match self {
            Action::SetStatus(s) => json!(s.as_str()),
            Action::SetPriority(p) => json!(p.as_str()),
            Action::SetType(t) => json!(t.as_str()),
            Action::AddTag(s) | Action::RemoveTag(s) | Action::AddReply(s) | Action::AddNote(s) => {
                json!(s)
            }
            Action::Assign(AgentRef::Id(id)) | Action::SetDepartment(id) => json!(id),
            Action::Assign(AgentRef::Email(email)) => json!(email),
            Action::Unassign | Action::Follow => Value::Null,
        }
    }

    /// `{"type": ..., "value": ...}`.
    pub fn to_json(&self) -> Value {
        json!({ "type": self.action_type().as_str(), "value": self.value() })
    }
}

/// Checks a list of actions, recording problems under `{field}.{index}.type` / `.value`.
pub fn parse_list(errors: &mut FieldErrors, field: &str, raw: &[RawAction]) -> Option<Vec<Action>> {
    if raw.is_empty() {
        errors.add(field, validate::required(field));
        return None;
    }
    if raw.len() > MAX_ACTIONS {
        errors.add(
            field,
            format!("The {field} may not have more than {MAX_ACTIONS} items."),
        );
        return None;
    }
    let mut actions = Vec::with_capacity(raw.len());
    for (i, item) in raw.iter().enumerate() {
        match Action::parse(&item.kind, &item.value) {
            Ok(action) => actions.push(action),
            Err(ActionError::Type(message)) => errors.add(format!("{field}.{i}.type"), message),
            Err(ActionError::Value(message)) => errors.add(format!("{field}.{i}.value"), message),
        }
    }
    (actions.len() == raw.len()).then_some(actions)
}

/// The stored form: a JSON array of `{type, value}`.
pub fn encode(actions: &[Action]) -> String {
    Value::Array(actions.iter().map(Action::to_json).collect()).to_string()
}

/// Reads the stored form back; entries that no longer parse are an internal error.
pub fn decode(stored: &str) -> anyhow::Result<Vec<Action>> {
    let items: Vec<Value> = serde_json::from_str(stored)?;
    items
        .iter()
        .map(|item| {
            let kind = item["type"].as_str().unwrap_or_default();
            Action::parse(kind, &item["value"])
                .map_err(|err| anyhow::anyhow!("stored macro action {item} is invalid: {err:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_by_type() {
        assert_eq!(
            Action::parse("set_status", &json!("resolved")),
            Ok(Action::SetStatus(Status::Resolved))
        );
        assert!(matches!(
            Action::parse("set_status", &json!("done")),
            Err(ActionError::Value(_))
        ));
        assert!(matches!(
            Action::parse("explode", &json!(null)),
            Err(ActionError::Type(_))
        ));
        assert_eq!(
            Action::parse("assign", &json!("Ann@Example.com")),
            Ok(Action::Assign(AgentRef::Email("ann@example.com".into())))
        );
        assert_eq!(
            Action::parse("assign", &json!(7)),
            Ok(Action::Assign(AgentRef::Id(7)))
        );
        assert!(Action::parse("assign", &json!(1.5)).is_err());
        assert!(Action::parse("follow", &json!("x")).is_err());
        assert!(Action::parse("add_note", &json!("  ")).is_err());
    }

    #[test]
    fn stored_form_round_trips() {
        let actions = vec![
            Action::SetPriority(Priority::High),
            Action::Unassign,
            Action::AddTag("vip".into()),
        ];
        assert_eq!(decode(&encode(&actions)).unwrap(), actions);
    }
}
