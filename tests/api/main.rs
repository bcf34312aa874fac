//! Integration tests: the real server, over HTTP, on SQLite and (when reachable) MySQL.
//! One test binary, so it links once; each module holds the rules of one area.

mod support;

mod auth;
mod cli;
mod errors;
mod openapi;
mod rate_limits;
mod tokens;
