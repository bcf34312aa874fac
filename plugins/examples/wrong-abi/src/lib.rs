//! A test fixture: a complete plugin whose entry claims the ABI version after the SDK's, as a
//! plugin built against a future SDK would. The server must refuse it before calling any of
//! its functions.

use escalated_plugin_sdk::{
    Endpoint, Plugin, Response,
    abi::{self, PluginEntry},
    export::{self, Source},
};
use serde_json::json;

pub struct WrongAbi;

impl Source for WrongAbi {
    fn plugin() -> &'static Plugin {
        static PLUGIN: std::sync::OnceLock<Plugin> = std::sync::OnceLock::new();
        PLUGIN.get_or_init(|| {
            Plugin::new("wrong-abi", "Wrong ABI", env!("CARGO_PKG_VERSION"))
                .endpoint(Endpoint::get("/never", "Never mounted"), |_, _| {
                    Response::ok(json!({ "mounted": true }))
                })
        })
    }
}

#[unsafe(no_mangle)]
pub static ESCALATED_PLUGIN_ENTRY: PluginEntry = PluginEntry {
    abi_version: abi::ABI_VERSION + 1,
    size: std::mem::size_of::<PluginEntry>() as u32,
    manifest: Some(export::manifest::<WrongAbi>),
    create: Some(export::create::<WrongAbi>),
    handle: Some(export::handle::<WrongAbi>),
    on_event: Some(export::on_event::<WrongAbi>),
    free: Some(export::free),
};
