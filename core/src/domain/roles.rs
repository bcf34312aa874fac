//! The roles a user has. A token's powers are bounded by its owner's role.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Agent,
    Customer,
}

/// Who is acting: the API caller, or a script or plugin acting for someone.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub role: Role,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Agent, Role::Customer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Customer => "customer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Agents and admins work tickets; customers only raise them.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Agent)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
