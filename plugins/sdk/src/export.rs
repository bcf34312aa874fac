//! The C functions `export_plugin!` exports, over a [`Plugin`]. Each one catches panics and
//! reports them as [`STATUS_PANIC`], since unwinding across `extern "C"` would abort the server.

use std::{
    any::Any,
    ffi::c_void,
    panic::{AssertUnwindSafe, catch_unwind},
};

use serde_json::json;

use crate::{
    abi::{ABI_VERSION, Buf, HostApi, STATUS_ERROR, STATUS_OK, STATUS_PANIC, bytes},
    host::Host,
    plugin::Plugin,
    wire::{Event, Request},
};

/// Where the exported functions find the plugin; implemented by `export_plugin!`.
pub trait Source {
    fn plugin() -> &'static Plugin;
}

/// A call's outcome before it crosses the boundary.
enum Outcome {
    Ok(Vec<u8>),
    Err(String),
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

fn error_json(message: &str) -> Vec<u8> {
    json!({ "error": message }).to_string().into_bytes()
}

/// Runs `body` with panics caught, and writes its outcome to `out`.
unsafe fn guarded(out: *mut Buf, body: impl FnOnce() -> Outcome) -> i32 {
    let (status, bytes) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Outcome::Ok(bytes)) => (STATUS_OK, bytes),
        Ok(Outcome::Err(message)) => (STATUS_ERROR, error_json(&message)),
        Err(payload) => (STATUS_PANIC, error_json(&panic_message(payload.as_ref()))),
    };
    if !out.is_null() {
        unsafe { *out = Buf::from_vec(bytes) };
    }
    status
}

fn to_json<T: serde::Serialize>(value: &T) -> Outcome {
    match serde_json::to_vec(value) {
        Ok(bytes) => Outcome::Ok(bytes),
        Err(err) => Outcome::Err(err.to_string()),
    }
}

/// # Safety
/// `out` must be null or writable.
pub unsafe extern "C" fn manifest<S: Source>(out: *mut Buf) -> i32 {
    unsafe { guarded(out, || to_json(S::plugin().manifest())) }
}

/// # Safety
/// `host` must be a host table valid for the process; `instance` and `out` writable.
pub unsafe extern "C" fn create<S: Source>(
    host: *const HostApi,
    instance: *mut *mut c_void,
    out: *mut Buf,
) -> i32 {
    unsafe {
        guarded(out, || {
            if host.is_null() || instance.is_null() {
                return Outcome::Err("create needs a host table and an instance slot".into());
            }
            let version = (*host).abi_version;
            if version != ABI_VERSION {
                return Outcome::Err(format!(
                    "the host speaks plugin ABI {version}, this plugin ABI {ABI_VERSION}"
                ));
            }
            S::plugin();
            *instance = Box::into_raw(Box::new(Host::from_raw(host))) as *mut c_void;
            Outcome::Ok(Vec::new())
        })
    }
}

/// # Safety
/// `instance` must come from `create`; `input` must point to `len` bytes; `out` writable.
pub unsafe extern "C" fn handle<S: Source>(
    instance: *mut c_void,
    input: *const u8,
    len: usize,
    out: *mut Buf,
) -> i32 {
    unsafe {
        guarded(out, || {
            let host = &*(instance as *const Host);
            match serde_json::from_slice::<Request>(bytes(input, len)) {
                Ok(request) => to_json(&S::plugin().handle(host, request)),
                Err(err) => Outcome::Err(format!("unreadable request: {err}")),
            }
        })
    }
}

/// # Safety
/// As [`handle`].
pub unsafe extern "C" fn on_event<S: Source>(
    instance: *mut c_void,
    input: *const u8,
    len: usize,
    out: *mut Buf,
) -> i32 {
    unsafe {
        guarded(out, || {
            let host = &*(instance as *const Host);
            match serde_json::from_slice::<Event>(bytes(input, len)) {
                Ok(event) => match S::plugin().event(host, event) {
                    Ok(()) => Outcome::Ok(Vec::new()),
                    Err(message) => Outcome::Err(message),
                },
                Err(err) => Outcome::Err(format!("unreadable event: {err}")),
            }
        })
    }
}

/// Frees a buffer this library returned.
///
/// # Safety
/// `buf` must come from this library and be freed once.
pub unsafe extern "C" fn free(buf: Buf) {
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { buf.free_rust() }));
}

/// Exports a plugin: `export_plugin!(plugin)` where `fn plugin() -> Plugin` builds it (once,
/// on first use). Defines the `ESCALATED_PLUGIN_ENTRY` static the server looks for.
#[macro_export]
macro_rules! export_plugin {
    ($build:path) => {
        #[doc(hidden)]
        pub struct __EscalatedPluginSource;

        impl $crate::export::Source for __EscalatedPluginSource {
            fn plugin() -> &'static $crate::Plugin {
                static PLUGIN: ::std::sync::OnceLock<$crate::Plugin> = ::std::sync::OnceLock::new();
                PLUGIN.get_or_init($build)
            }
        }

        #[unsafe(no_mangle)]
        pub static ESCALATED_PLUGIN_ENTRY: $crate::abi::PluginEntry = $crate::abi::PluginEntry {
            abi_version: $crate::abi::ABI_VERSION,
            size: ::std::mem::size_of::<$crate::abi::PluginEntry>() as u32,
            manifest: Some($crate::export::manifest::<__EscalatedPluginSource>),
            create: Some($crate::export::create::<__EscalatedPluginSource>),
            handle: Some($crate::export::handle::<__EscalatedPluginSource>),
            on_event: Some($crate::export::on_event::<__EscalatedPluginSource>),
            free: Some($crate::export::free),
        };
    };
}
