//! The rules of the helpdesk, in one place: what may change, how, and what it implies. No HTTP
//! here; storage is reached through `store/`.

pub mod abilities;
pub mod actions;
pub mod admin;
pub mod apply;
pub mod attachments;
pub mod automations;
pub mod bootstrap;
pub mod bulk;
pub mod business_hours;
pub mod business_time;
pub mod canned_responses;
pub mod departments;
pub mod email;
pub mod events;
pub mod idempotency;
pub mod macros;
pub mod paging;
pub mod plugin_kv;
pub mod reports;
pub mod roles;
pub mod script_files;
pub mod scripts;
pub mod sla_policies;
pub mod tags;
pub mod ticket_actions;
pub mod tickets;
pub mod tokens;
pub mod users;
pub mod validate;
pub mod webhooks;

/// The store and a write transaction, as the domain's operations take them: the endpoints
/// name these, never `crate::store`.
pub use crate::store::{Store, Tx};
use crate::{error::Error, store};

/// What an admin delete did: things still referenced are deactivated rather than removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Deleted,
    Deactivated,
}

/// Who a personal canned response or macro belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub id: i64,
    pub name: String,
}

/// Who a shareable record (a canned response, a macro) belongs to after `is_shared` is given:
/// `true` shares it with everyone; `false` makes a shared one personal to `actor`. An admin
/// editing someone's personal one does not take it over.
fn share(is_shared: Option<bool>, actor: i64, shared: &mut i64, owner: &mut Option<i64>) {
    match is_shared {
        Some(true) => {
            *shared = 1;
            *owner = None;
        }
        Some(false) if owner.is_none() => {
            *shared = 0;
            *owner = Some(actor);
        }
        _ => {}
    }
}

fn name_taken() -> Error {
    Error::field("name", "The name has already been taken.")
}

/// Maps the database's unique-key refusal (two writers claiming one name at once, both past
/// the domain's own check) to the same 422 as the check.
fn unique_name(err: Error) -> Error {
    if store::is_unique_violation(&err) {
        name_taken()
    } else {
        err
    }
}
