//! Integration tests: the real server, over HTTP, on SQLite and (when reachable) MySQL.
//! One test binary, so it links once; each module holds the rules of one area.

mod conformance;
mod support;

mod admin_canned_responses;
mod admin_departments;
mod admin_fixtures;
mod admin_macros;
mod admin_sla_policies;
mod admin_tags;
mod admin_users;
mod attachments;
mod attachments_s3;
mod auth;
mod automations;
mod bounds;
mod change_feed;
mod cli;
mod cli_admin;
mod cursor_pages;
mod email;
mod errors;
mod idempotency;
mod jobs;
mod openapi;
mod operations;
mod outage;
mod plugins;
mod rate_limits;
mod realtime;
mod reports;
mod resources;
mod script_files;
mod seed;
mod serve_limits;
mod sla_clock;
mod slow_clients;
mod ticket_actions;
mod ticket_changes;
mod ticket_list;
mod ticket_macros;
mod tickets;
mod tokens;
mod try_it;
mod webhooks;
