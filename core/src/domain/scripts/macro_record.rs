//! A macro as the domain holds it, from the database or a script file: below the macros'
//! operations and the script file set ([`crate::domain::scripts::FileSet`]) that holds the
//! file ones.

use crate::{
    domain::{
        Owner,
        actions::{self, Action},
    },
    error::{Error, Result},
    store::macros::MacroRow,
    time::Timestamp,
};

/// What a macro does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacroBody {
    Actions(Vec<Action>),
    /// Rhai source.
    Script(String),
}

impl MacroBody {
    /// `actions` or `script`.
    pub fn kind(&self) -> &'static str {
        match self {
            MacroBody::Actions(_) => "actions",
            MacroBody::Script(_) => "script",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Macro {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_shared: bool,
    /// The owner of a personal macro; `None` for a shared one.
    pub owner: Option<Owner>,
    pub order: i64,
    pub body: MacroBody,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The script file it comes from (`macros/x.rhai`); `None` for a database macro.
    pub file: Option<String>,
}

impl Macro {
    pub fn is_visible_to(&self, user_id: i64) -> bool {
        self.is_shared || self.owner.as_ref().is_some_and(|o| o.id == user_id)
    }
}

impl TryFrom<MacroRow> for Macro {
    type Error = Error;
    fn try_from(row: MacroRow) -> Result<Self> {
        let body = match (row.script, row.actions) {
            (Some(script), _) => MacroBody::Script(script),
            (None, Some(stored)) => MacroBody::Actions(actions::decode(&stored)?),
            (None, None) => MacroBody::Actions(Vec::new()),
        };
        Ok(Macro {
            id: row.id,
            name: row.name,
            description: row.description,
            is_shared: row.is_shared != 0,
            owner: row.user_id.map(|id| Owner {
                id,
                name: row.owner_name.unwrap_or_default(),
            }),
            order: row.sort_order,
            body,
            created_at: row.created_at,
            updated_at: row.updated_at,
            file: None,
        })
    }
}
