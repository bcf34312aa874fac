//! The rules of the helpdesk, in one place: what may change, how, and what it implies. No HTTP
//! here; storage is reached through `store/`.

pub mod abilities;
pub mod bootstrap;
pub mod plugin_kv;
pub mod roles;
pub mod tokens;
pub mod users;
pub mod validate;
