//! `/admin/automations`: scripts run as the system on a schedule or on events (requires `admin`).

use poem_openapi::Object;
use serde::Deserialize;

use super::{
    ApiTags,
    admin::{admin_api, into_input, script_record},
};
use crate::domain::automations::{Automation, AutomationInput};

script_record! {
    #[oai(rename = "Automation")]
    AutomationRecord from Automation {
        name: String,
        /// Rhai source run with `ticket` and `user` (the system); the changes it records are
        /// applied, and recording none means the ticket does not match.
        script: String,
        /// `schedule`, or the event name that runs it (`ticket.created`, ...).
        trigger: String,
        /// For `schedule`: the period, in minutes, in which it applies at most once per ticket.
        interval_minutes: Option<i64>,
        is_active: bool,
    }
    /// `database` (made through this API) or `file` (read from a script file: read-only, a
    /// negative `id`; see docs/scripting.md).
    origin,
    /// The script file of a `file` automation, relative to `[scripts] dir`
    /// (`automations/urgent-on-keyword.rhai`); `null` for a database one.
    file,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateAutomationRequest {
    pub name: String,
    /// Must compile.
    pub script: String,
    /// `schedule` or an event name.
    pub trigger: String,
    /// Required for `schedule`: 1 to 10080 (a week).
    #[serde(default)]
    pub interval_minutes: Option<i64>,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[derive(Debug, Default, Object, Deserialize)]
#[oai(example)]
#[serde(default)]
pub struct UpdateAutomationRequest {
    pub name: Option<String>,
    pub script: Option<String>,
    pub trigger: Option<String>,
    pub interval_minutes: Option<i64>,
    pub is_active: Option<bool>,
}

into_input! { CreateAutomationRequest => AutomationInput {
    name: Some, script: Some, trigger: Some, interval_minutes, is_active
} }

into_input! { UpdateAutomationRequest => AutomationInput {
    name, script, trigger, interval_minutes, is_active
} }

admin_api! {
    AdminAutomationsApi for Automation {
        tag: "ApiTags::AdminAutomations",
        path: "/admin/automations",
        record: AutomationRecord,
        created: AutomationRecord,
        create: CreateAutomationRequest,
        update: UpdateAutomationRequest,
        ids: ["admin_automations.list", "admin_automations.show", "admin_automations.create", "admin_automations.update", "admin_automations.delete"],
    }
    /// List automations
    ///
    /// Requires the `admin` ability and an admin owner. Paginated (`page`, `per_page` 1..100):
    /// the automations from script files first (by file name), then the others by id.
    list;
    /// Show an automation
    ///
    /// Requires the `admin` ability and an admin owner.
    show;
    /// Create an automation
    ///
    /// Requires the `admin` ability and an admin owner. A script that does not compile is 422
    /// on `script` (with the line and column); an unknown trigger is 422 on `trigger`; a
    /// schedule without `interval_minutes` in 1..10080 is 422 on `interval_minutes`.
    create;
    /// Update an automation
    ///
    /// Requires the `admin` ability and an admin owner. An automation from a script file is
    /// 403 (edit the file).
    update;
    /// Delete an automation
    ///
    /// Requires the `admin` ability and an admin owner. An automation from a script file is
    /// 403 (remove the file).
    delete;
}
