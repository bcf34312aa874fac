//! The host table given to each plugin instance: its callbacks run the domain operations for
//! that plugin. They are called from the plugin's blocking thread, so they may block on the
//! runtime; they never unwind into the plugin.

use std::{
    ffi::c_void,
    panic::{AssertUnwindSafe, catch_unwind},
};

use escalated_plugin_sdk::abi::{self, ABI_VERSION, Buf, HostApi, STATUS_ERROR, STATUS_OK};
use serde_json::{Value, json};
use tokio::runtime::Handle;

use super::host_tickets::{self, TicketJson};
use crate::{
    domain::{plugin_kv, tickets::TicketRules},
    error::Error,
    store::Store,
    time::Clock,
};

/// What the callbacks of one plugin instance work with.
struct HostCtx {
    slug: String,
    store: Store,
    /// What the plugin's ticket changes are judged by (the server's).
    rules: TicketRules,
    clock: Clock,
    json: TicketJson,
    runtime: Handle,
}

/// A table for the plugin `slug`. Leaked on purpose: plugins keep it for the process.
pub fn table(
    slug: &str,
    store: Store,
    (rules, clock): (TicketRules, Clock),
    json: TicketJson,
    runtime: Handle,
) -> &'static HostApi {
    let ctx = Box::leak(Box::new(HostCtx {
        slug: slug.to_string(),
        store,
        rules,
        clock,
        json,
        runtime,
    }));
    Box::leak(Box::new(HostApi {
        abi_version: ABI_VERSION,
        size: std::mem::size_of::<HostApi>() as u32,
        ctx: ctx as *mut HostCtx as *mut c_void,
        free: Some(free),
        log: Some(log),
        kv_get: Some(kv_get),
        kv_set: Some(kv_set),
        kv_delete: Some(kv_delete),
        kv_list: Some(kv_list),
        ticket_get: Some(ticket_get),
        ticket_list: Some(ticket_list),
        ticket_add_reply: Some(ticket_add_reply),
        ticket_add_note: Some(ticket_add_note),
        ticket_set_status: Some(ticket_set_status),
        ticket_set_priority: Some(ticket_set_priority),
        ticket_set_tags: Some(ticket_set_tags),
    }))
}

unsafe extern "C" fn free(buf: Buf) {
    unsafe { buf.free_rust() }
}

/// A client-facing message for a failed operation (the first field message of a 422).
fn describe(err: Error) -> String {
    match err {
        Error::Validation(fields) | Error::Rejected { errors: fields, .. } => fields
            .iter()
            .next()
            .map(|(_, message)| message.clone())
            .unwrap_or_else(|| "Validation failed.".into()),
        Error::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "plugin host call failed");
            "Server error.".into()
        }
        other => other.to_string(),
    }
}

/// Runs one callback: parses the input, runs `body`, writes `{...}` or `{"error": ...}`.
unsafe fn serve(
    ctx: *mut c_void,
    input: *const u8,
    len: usize,
    out: *mut Buf,
    body: impl FnOnce(&HostCtx, Value) -> Result<Value, String>,
) -> i32 {
    let run = AssertUnwindSafe(|| {
        if ctx.is_null() {
            return Err("no host context".to_string());
        }
        let ctx = unsafe { &*(ctx as *const HostCtx) };
        let input = unsafe { abi::bytes(input, len) };
        let value: Value = if input.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(input).map_err(|e| format!("the input is not JSON: {e}"))?
        };
        body(ctx, value)
    });
    let (status, answer) = match catch_unwind(run) {
        Ok(Ok(value)) => (STATUS_OK, value),
        Ok(Err(message)) => (STATUS_ERROR, json!({ "error": message })),
        // E.g. a plugin calling back from inside an async runtime of its own.
        Err(_) => (STATUS_ERROR, json!({ "error": "the host call panicked" })),
    };
    if !out.is_null() {
        unsafe { *out = Buf::from_vec(answer.to_string().into_bytes()) };
    }
    status
}

fn text<'v>(input: &'v Value, field: &str) -> Result<&'v str, String> {
    match &input[field] {
        Value::String(s) => Ok(s),
        Value::Null => Err(crate::domain::validate::required(field)),
        _ => Err(format!("The {field} field must be a string.")),
    }
}

unsafe extern "C" fn log(ctx: *mut c_void, input: *const u8, len: usize, out: *mut Buf) -> i32 {
    unsafe {
        serve(ctx, input, len, out, |ctx, input| {
            let message = text(&input, "message")?;
            let plugin = ctx.slug.as_str();
            match input["level"].as_str().unwrap_or("info") {
                "error" => tracing::error!(plugin, "{message}"),
                "warn" => tracing::warn!(plugin, "{message}"),
                "debug" => tracing::debug!(plugin, "{message}"),
                _ => tracing::info!(plugin, "{message}"),
            }
            Ok(json!({}))
        })
    }
}

unsafe extern "C" fn kv_get(ctx: *mut c_void, input: *const u8, len: usize, out: *mut Buf) -> i32 {
    unsafe {
        serve(ctx, input, len, out, |ctx, input| {
            let key = text(&input, "key")?;
            let found = ctx
                .runtime
                .block_on(plugin_kv::get(&ctx.store, &ctx.slug, key))
                .map_err(describe)?;
            Ok(json!({ "found": found.is_some(), "value": found }))
        })
    }
}

unsafe extern "C" fn kv_set(ctx: *mut c_void, input: *const u8, len: usize, out: *mut Buf) -> i32 {
    unsafe {
        serve(ctx, input, len, out, |ctx, input| {
            let key = text(&input, "key")?;
            ctx.runtime
                .block_on(plugin_kv::set(&ctx.store, &ctx.slug, key, &input["value"]))
                .map_err(describe)?;
            Ok(json!({}))
        })
    }
}

unsafe extern "C" fn kv_delete(
    ctx: *mut c_void,
    input: *const u8,
    len: usize,
    out: *mut Buf,
) -> i32 {
    unsafe {
        serve(ctx, input, len, out, |ctx, input| {
            let key = text(&input, "key")?;
            let deleted = ctx
                .runtime
                .block_on(plugin_kv::delete(&ctx.store, &ctx.slug, key))
                .map_err(describe)?;
            Ok(json!({ "deleted": deleted }))
        })
    }
}

unsafe extern "C" fn kv_list(ctx: *mut c_void, input: *const u8, len: usize, out: *mut Buf) -> i32 {
    unsafe {
        serve(ctx, input, len, out, |ctx, input| {
            let prefix = input["prefix"].as_str().unwrap_or("");
            let after = input["after"].as_str();
            let limit = input["limit"].as_i64().unwrap_or(100);
            let page = ctx
                .runtime
                .block_on(plugin_kv::list(&ctx.store, &ctx.slug, prefix, after, limit))
                .map_err(describe)?;
            let entries: Vec<Value> = page
                .entries
                .into_iter()
                .map(|(key, value)| json!({ "key": key, "value": value }))
                .collect();
            Ok(json!({ "entries": entries, "next": page.next }))
        })
    }
}

/// A ticket callback: runs `operation` (one of `host_tickets`) on the runtime.
macro_rules! ticket_callback {
    ($name:ident, |$store:ident, $input:ident| $call:expr) => {
        unsafe extern "C" fn $name(
            ctx: *mut c_void,
            input: *const u8,
            len: usize,
            out: *mut Buf,
        ) -> i32 {
            unsafe {
                serve(ctx, input, len, out, |ctx, $input| {
                    let $store = host_tickets::Host {
                        store: &ctx.store,
                        rules: &ctx.rules,
                        clock: &ctx.clock,
                        json: ctx.json,
                    };
                    let $store = &$store;
                    ctx.runtime.block_on($call).map_err(describe)
                })
            }
        }
    };
}

ticket_callback!(ticket_get, |store, input| host_tickets::get(store, input));
ticket_callback!(ticket_list, |store, input| host_tickets::list(store, input));
ticket_callback!(ticket_add_reply, |store, input| host_tickets::add_reply(
    store, input, false
));
ticket_callback!(ticket_add_note, |store, input| host_tickets::add_reply(
    store, input, true
));
ticket_callback!(ticket_set_status, |store, input| host_tickets::set_status(
    store, input
));
ticket_callback!(ticket_set_priority, |store, input| {
    host_tickets::set_priority(store, input)
});
ticket_callback!(ticket_set_tags, |store, input| host_tickets::set_tags(
    store, input
));
