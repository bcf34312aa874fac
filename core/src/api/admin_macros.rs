//! `/admin/macros`: list, show, create, update and delete macros (requires `admin`).

use poem_openapi::{Enum, Object, types::MaybeUndefined};
use serde::Deserialize;
use serde_json::Value;

use super::{
    ApiTags,
    admin::{admin_api, into_input, origin},
    admin_canned_responses::ContentOwner,
};
use crate::{
    api::date_time::DateTime,
    domain::{
        actions::RawAction,
        macros::{Macro, MacroBody, MacroInput},
    },
};

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum MacroKind {
    /// A list of declarative `{type, value}` actions.
    Actions,
    /// A Rhai script.
    Script,
}

/// One change a macro makes: `{"type": "set_status", "value": "resolved"}`.
#[derive(Debug, Object)]
pub struct MacroAction {
    /// `set_status`, `set_priority`, `set_type`, `assign`, `unassign`, `set_department`,
    /// `add_tag`, `remove_tag`, `add_reply`, `add_note` or `follow`.
    #[oai(rename = "type")]
    pub kind: String,
    /// Depends on the type: a status, priority or type name; a user id or email (`assign`);
    /// a department id; a tag name; a text; `null` for `unassign` and `follow`.
    pub value: Value,
}

#[derive(Debug, Object)]
#[oai(rename = "Macro")]
pub struct MacroRecord {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_shared: bool,
    /// Who a personal macro belongs to; `null` when shared.
    pub owner: Option<ContentOwner>,
    /// Display order, ascending.
    pub order: i64,
    pub kind: MacroKind,
    /// The actions of an `actions` macro; `null` for a script.
    pub actions: Option<Vec<MacroAction>>,
    /// The Rhai source of a `script` macro; `null` for actions.
    pub script: Option<String>,
    /// `database` (made through this API) or `file` (read from a script file: read-only, a
    /// negative `id`; see docs/scripting.md).
    pub origin: String,
    /// The script file of a `file` macro, relative to `[scripts] dir`
    /// (`macros/close-as-duplicate.rhai`); `null` for a database one.
    pub file: Option<String>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl From<Macro> for MacroRecord {
    fn from(m: Macro) -> Self {
        let (kind, actions, script) = match m.body {
            MacroBody::Actions(list) => (
                MacroKind::Actions,
                Some(
                    list.iter()
                        .map(|a| MacroAction {
                            kind: a.action_type().as_str().to_string(),
                            value: a.value(),
                        })
                        .collect(),
                ),
                None,
            ),
            MacroBody::Script(source) => (MacroKind::Script, None, Some(source)),
        };
        MacroRecord {
            id: m.id,
            name: m.name,
            description: m.description,
            is_shared: m.is_shared,
            owner: m.owner.map(ContentOwner::from),
            order: m.order,
            kind,
            actions,
            script,
            origin: origin(&m.file).into(),
            file: m.file,
            created_at: DateTime(m.created_at),
            updated_at: DateTime(m.updated_at),
        }
    }
}

/// An action as sent; its type and value are checked by the server.
#[derive(Debug, Object, Deserialize)]
pub struct MacroActionInput {
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// Omit or `null` for `unassign` and `follow`.
    #[serde(default)]
    pub value: Option<Value>,
}

fn raw_actions(list: Option<Vec<MacroActionInput>>) -> Option<Vec<RawAction>> {
    list.map(|items| {
        items
            .into_iter()
            .map(|a| RawAction {
                kind: a.kind,
                value: a.value.unwrap_or(Value::Null),
            })
            .collect()
    })
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateMacroRequest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Default true; `false` makes it personal to the caller.
    #[serde(default)]
    pub is_shared: Option<bool>,
    /// Display order, ascending; default 0.
    #[serde(default)]
    pub order: Option<i64>,
    /// 1 to 50 actions. Give `actions` or `script`, not both.
    #[serde(default)]
    pub actions: Option<Vec<MacroActionInput>>,
    /// Rhai source (see docs/scripting.md). Give `actions` or `script`, not both. A script
    /// that does not compile, or calls an unknown function, is 422 on `script` with the line
    /// and column.
    #[serde(default)]
    pub script: Option<String>,
}

#[derive(Debug, Default, Object, Deserialize)]
#[oai(example)]
#[serde(default)]
pub struct UpdateMacroRequest {
    pub name: Option<String>,
    /// `null` clears it.
    pub description: MaybeUndefined<String>,
    pub is_shared: Option<bool>,
    pub order: Option<i64>,
    /// Replaces what the macro does with these actions.
    pub actions: Option<Vec<MacroActionInput>>,
    /// Replaces what the macro does with this script.
    pub script: Option<String>,
}

into_input! { CreateMacroRequest => MacroInput {
    name: Some, description: Some, is_shared, order, actions: raw_actions, script
} }

into_input! { UpdateMacroRequest => MacroInput {
    name, description: Into::into, is_shared, order, actions: raw_actions, script
} }

admin_api! {
    AdminMacrosApi for Macro {
        tag: "ApiTags::AdminMacros",
        path: "/admin/macros",
        record: MacroRecord,
        created: MacroRecord,
        create: CreateMacroRequest,
        update: UpdateMacroRequest,
        ids: ["admin_macros.list", "admin_macros.show", "admin_macros.create", "admin_macros.update", "admin_macros.delete"],
    }
    /// List macros
    ///
    /// Requires the `admin` ability and an admin owner. Every macro, personal ones of all
    /// users included. Paginated (`page`, `per_page` 1..100): the macros from script files
    /// first (by file name), then the others by id.
    list;
    /// Show a macro
    ///
    /// Requires the `admin` ability and an admin owner.
    show;
    /// Create a macro
    ///
    /// Requires the `admin` ability and an admin owner. Exactly one of `actions` and
    /// `script`; a personal macro (`is_shared: false`) belongs to the caller.
    create;
    /// Update a macro
    ///
    /// Requires the `admin` ability and an admin owner. Giving `actions` or `script` (not
    /// both) replaces what the macro does. A macro from a script file is 403 (edit the file).
    update;
    /// Delete a macro
    ///
    /// Requires the `admin` ability and an admin owner. A macro from a script file is 403
    /// (remove the file).
    delete;
}
