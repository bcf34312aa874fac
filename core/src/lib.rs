//! Escalated: a self-hosted helpdesk API server.
//!
//! A request flows `api/` (endpoints) → `domain/` (rules) → `store/` (SQL), behind `auth/`
//! (tokens, abilities, rate limits). See docs/architecture.md.

pub mod api;
pub mod app;
pub mod auth;
pub mod blobs;
pub mod cli;
pub mod config;
pub mod conflicts;
pub mod domain;
pub mod email;
pub mod error;
pub mod events;
pub mod jobs;
#[cfg(test)]
mod layers;
pub mod metrics;
pub mod outbox_worker;
pub mod plugins;
pub mod scripting;
pub mod seed;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod webhooks;

/// Counts what each script run allocates, so its memory can be bounded (see
/// `scripting::memory`).
#[global_allocator]
static ALLOCATOR: scripting::memory::CountingAllocator = scripting::memory::CountingAllocator;
