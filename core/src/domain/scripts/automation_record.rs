//! An automation as the domain holds it, from the database or a script file: below the
//! automations' operations and the script file set ([`crate::domain::scripts::FileSet`]).

use crate::{store::automations::AutomationRow, time::Timestamp};

#[derive(Debug, Clone)]
pub struct Automation {
    pub id: i64,
    pub name: String,
    pub script: String,
    pub trigger: String,
    pub interval_minutes: Option<i64>,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The script file it comes from (`automations/x.rhai`); `None` for a database one.
    pub file: Option<String>,
}

impl From<AutomationRow> for Automation {
    fn from(row: AutomationRow) -> Self {
        Automation {
            id: row.id,
            name: row.name,
            script: row.script,
            trigger: row.trigger_on,
            interval_minutes: row.interval_minutes,
            is_active: row.is_active != 0,
            created_at: row.created_at,
            updated_at: row.updated_at,
            file: None,
        }
    }
}
