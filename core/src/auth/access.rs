//! What each route requires. One table, so the guard can decide before the endpoint runs
//! (the contract's order: authentication, ability, rate limit, then 404 and validation), and so
//! the OpenAPI descriptions can be checked against it.

use poem::http::Method;

use crate::domain::{abilities::Ability, roles::Role};

/// The ability and the lowest owner role a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// `None`: any valid token will do (`/auth/validate`).
    pub ability: Option<Ability>,
    pub role: Role,
}

/// Routes that check their own credentials instead of an API token: the inbound email route
/// (`email.inbound_secret`). The guard lets them through untouched.
pub fn authenticates_itself(path: &str) -> bool {
    path == "/inbound/email"
}

/// `path` is relative to the API prefix (`/tickets/ESC-00001`).
pub fn requirement(method: &Method, path: &str) -> Requirement {
    let staff = |ability| Requirement {
        ability: Some(ability),
        role: Role::Agent,
    };
    if path == "/auth/validate" {
        return Requirement {
            ability: None,
            role: Role::Agent,
        };
    }
    let admin_only = |area: &str| {
        path.strip_prefix(area)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    // `/metrics` is the server root's (`GET /metrics`), guarded by this table too.
    if admin_only("/admin") || admin_only("/reports") || path == "/metrics" {
        return Requirement {
            ability: Some(Ability::Admin),
            role: Role::Admin,
        };
    }
    let is_ticket = path
        .strip_prefix("/tickets/")
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
    if *method == Method::DELETE && is_ticket {
        return Requirement {
            ability: Some(Ability::TicketsDelete),
            role: Role::Admin,
        };
    }
    if *method == Method::GET || *method == Method::HEAD {
        staff(Ability::TicketsRead)
    } else {
        staff(Ability::TicketsWrite)
    }
}

/// [`requirement`], except that a plugin route needs what its plugin declared: the ability
/// (`admin` and `tickets:delete` also an admin owner, as in the core API), or any valid token.
/// `declared` answers for a path under `/plugins/` (given without that prefix): `None` when no
/// plugin serves it, which then gets the method's default and its 404.
pub fn route_requirement(
    declared: impl FnOnce(&Method, &str) -> Option<Option<Ability>>,
    method: &Method,
    path: &str,
) -> Requirement {
    let declared = path
        .strip_prefix("/plugins/")
        .and_then(|rest| declared(method, rest));
    match declared {
        None => requirement(method, path),
        Some(ability) => Requirement {
            ability,
            role: match ability {
                Some(Ability::Admin | Ability::TicketsDelete) => Role::Admin,
                _ => Role::Agent,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let r = |m: Method, p| requirement(&m, p);
        assert_eq!(
            r(Method::GET, "/tickets").ability,
            Some(Ability::TicketsRead)
        );
        assert_eq!(
            r(Method::POST, "/tickets/create").ability,
            Some(Ability::TicketsWrite)
        );
        assert_eq!(
            r(Method::DELETE, "/tickets/ESC-00001"),
            Requirement {
                ability: Some(Ability::TicketsDelete),
                role: Role::Admin
            }
        );
        assert_eq!(r(Method::GET, "/admin/api-tokens").role, Role::Admin);
        assert_eq!(
            r(Method::GET, "/reports/summary"),
            Requirement {
                ability: Some(Ability::Admin),
                role: Role::Admin
            }
        );
        assert_eq!(
            r(Method::GET, "/reportsx").ability,
            Some(Ability::TicketsRead)
        );
        assert_eq!(r(Method::POST, "/auth/validate").ability, None);
    }
}
