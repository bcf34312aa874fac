//! The SDK for native Escalated plugins: a versioned C ABI ([`abi`]) and a safe Rust layer
//! over it, so a plugin is ordinary Rust:
//!
//! ```ignore
//! use escalated_plugin_sdk::{Endpoint, Plugin, Response, export_plugin};
//! use serde_json::json;
//!
//! fn plugin() -> Plugin {
//!     Plugin::new("hello", "Hello", env!("CARGO_PKG_VERSION")).endpoint(
//!         Endpoint::get("/hello", "Say hello"),
//!         |_host, request| Response::ok(json!({ "message": format!("Hello, {}", request.user.name) })),
//!     )
//! }
//!
//! export_plugin!(plugin);
//! ```
//!
//! Build it as a `cdylib` and drop the library into the server's `plugins.dir`. The ABI, its
//! ownership rules and its versioning policy are in docs/plugins.md.

pub mod abi;
pub mod export;
pub mod host;
pub mod manifest;
pub mod plugin;
pub mod wire;

pub use abi::ABI_VERSION;
pub use host::{Host, HostError, HostResult, Level};
pub use manifest::{EndpointSpec, Manifest};
pub use plugin::{Endpoint, Plugin};
pub use wire::{Event, Request, Response, User};

/// The crates a plugin needs, so its versions match the SDK's.
pub use serde_json;

#[cfg(test)]
mod tests;
