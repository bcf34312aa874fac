//! `/admin/actions`: custom ticket actions (requires `admin`).

use poem_openapi::Object;
use serde::Deserialize;

use super::{
    ApiTags,
    admin::{admin_api, into_input, script_record},
};
use crate::domain::ticket_actions::{ActionInput, TicketAction};

script_record! {
    #[oai(rename = "CustomAction")]
    ActionRecord from TicketAction {
        /// Unique; `[a-z0-9_-]`. Run with `POST /tickets/{reference}/actions/{key}`.
        key: String,
        label: String,
        /// Rhai source defining `visible(ticket, user)`, `enabled(ticket, user)`, `run(ticket, user)`.
        script: String,
        is_active: bool,
    }
    /// `database` (made through this API) or `file` (read from a script file: read-only, a
    /// negative `id`, the key `file:{file name}`; see docs/scripting.md).
    origin,
    /// The script file of a `file` action, relative to `[scripts] dir`
    /// (`actions/escalate-vip.rhai`); `null` for a database one.
    file,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateActionRequest {
    pub key: String,
    pub label: String,
    /// Must compile and define `visible`, `enabled` and `run`, each taking `(ticket, user)`.
    pub script: String,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[derive(Debug, Default, Object, Deserialize)]
#[oai(example)]
#[serde(default)]
pub struct UpdateActionRequest {
    pub key: Option<String>,
    pub label: Option<String>,
    pub script: Option<String>,
    pub is_active: Option<bool>,
}

into_input! { CreateActionRequest => ActionInput {
    key: Some, label: Some, script: Some, is_active
} }

into_input! { UpdateActionRequest => ActionInput { key, label, script, is_active } }

admin_api! {
    AdminActionsApi for TicketAction {
        tag: "ApiTags::AdminActions",
        path: "/admin/actions",
        record: ActionRecord,
        created: ActionRecord,
        create: CreateActionRequest,
        update: UpdateActionRequest,
        ids: ["admin_actions.list", "admin_actions.show", "admin_actions.create", "admin_actions.update", "admin_actions.delete"],
    }
    /// List custom ticket actions
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page` 1..100):
    /// the actions from script files first (by file name), then the others by id.
    list;
    /// Show a custom ticket action
    ///
    /// Requires the `admin` ability and an admin owner.
    show;
    /// Create a custom ticket action
    ///
    /// Requires the `admin` ability and an admin owner. A script that does not compile or
    /// lacks one of its three functions is 422 on `script`; a taken key is 422 on `key`.
    create;
    /// Update a custom ticket action
    ///
    /// Requires the `admin` ability and an admin owner. An action from a script file is 403
    /// (edit the file).
    update;
    /// Delete a custom ticket action
    ///
    /// Requires the `admin` ability and an admin owner. An action from a script file is 403
    /// (remove the file).
    delete;
}
