//! A custom ticket action as the domain holds it, from the database or a script file: below
//! the actions' operations and the script file set ([`crate::domain::scripts::FileSet`]).

use crate::{store::ticket_actions::TicketActionRow, time::Timestamp};

#[derive(Debug, Clone)]
pub struct TicketAction {
    pub id: i64,
    pub key: String,
    pub label: String,
    pub script: String,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The script file it comes from (`actions/x.rhai`); `None` for a database action.
    pub file: Option<String>,
}

impl From<TicketActionRow> for TicketAction {
    fn from(row: TicketActionRow) -> Self {
        TicketAction {
            id: row.id,
            key: row.action_key,
            label: row.label,
            script: row.script,
            is_active: row.is_active != 0,
            created_at: row.created_at,
            updated_at: row.updated_at,
            file: None,
        }
    }
}
