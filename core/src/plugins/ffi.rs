//! Calls into a plugin's exported functions: input borrowed, output copied out and handed back
//! to the plugin's `free`, the status turned into a `Result`. Blocking: call off the runtime.

use std::ffi::c_void;

use escalated_plugin_sdk::abi::{
    Buf, FreeFn, HostApi, InstanceFn, PluginEntry, STATUS_OK, STATUS_PANIC,
};

/// Why a call into a plugin did not produce an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The plugin caught a panic of its own.
    Panicked(String),
    /// The plugin reported a failure.
    Failed(String),
    /// The host gave up waiting (`plugins.timeout_ms`).
    TimedOut,
}

/// How a call ended, as the metrics label it.
pub fn metric_label(result: Result<(), &CallError>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(CallError::Failed(_)) => "failed",
        Err(CallError::Panicked(_)) => "panicked",
        Err(CallError::TimedOut) => "timeout",
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Panicked(m) => write!(f, "panicked: {m}"),
            CallError::Failed(m) => write!(f, "failed: {m}"),
            CallError::TimedOut => f.write_str("timed out"),
        }
    }
}

/// Copies the plugin's output and frees it with the plugin's own `free`.
unsafe fn take(out: Buf, free: Option<FreeFn>) -> Vec<u8> {
    let bytes = unsafe { out.as_slice() }.to_vec();
    if let Some(free) = free
        && !out.ptr.is_null()
    {
        unsafe { free(out) };
    }
    bytes
}

fn outcome(status: i32, bytes: Vec<u8>) -> Result<Vec<u8>, CallError> {
    if status == STATUS_OK {
        return Ok(bytes);
    }
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("status {status} without a message"));
    Err(if status == STATUS_PANIC {
        CallError::Panicked(message)
    } else {
        CallError::Failed(message)
    })
}

/// The manifest JSON.
///
/// # Safety
/// `entry` must be the checked entry of a library that stays loaded.
pub unsafe fn manifest(entry: &PluginEntry) -> Result<Vec<u8>, CallError> {
    let function = entry
        .manifest
        .ok_or_else(|| CallError::Failed("the entry has no manifest function".into()))?;
    let mut out = Buf::EMPTY;
    let status = unsafe { function(&mut out) };
    outcome(status, unsafe { take(out, entry.free) })
}

/// A plugin instance: the entry and the opaque pointer `create` gave.
#[derive(Debug, Clone, Copy)]
pub struct Instance {
    entry: PluginEntry,
    ptr: *mut c_void,
}

// The ABI requires a plugin's functions to be callable from any thread, concurrently.
unsafe impl Send for Instance {}
unsafe impl Sync for Instance {}

impl Instance {
    /// # Safety
    /// `entry` must be checked and its library never unloaded; `host` valid for the process.
    pub unsafe fn create(
        entry: PluginEntry,
        host: &'static HostApi,
    ) -> Result<Instance, CallError> {
        let create = entry
            .create
            .ok_or_else(|| CallError::Failed("the entry has no create function".into()))?;
        let mut ptr = std::ptr::null_mut();
        let mut out = Buf::EMPTY;
        let status = unsafe { create(host, &mut ptr, &mut out) };
        outcome(status, unsafe { take(out, entry.free) })?;
        Ok(Instance { entry, ptr })
    }

    fn call(&self, function: Option<InstanceFn>, input: &[u8]) -> Result<Vec<u8>, CallError> {
        let function =
            function.ok_or_else(|| CallError::Failed("the plugin does not export it".into()))?;
        let mut out = Buf::EMPTY;
        let status = unsafe { function(self.ptr, input.as_ptr(), input.len(), &mut out) };
        outcome(status, unsafe { take(out, self.entry.free) })
    }

    /// A request (JSON) → the plugin's response (JSON).
    pub fn handle(&self, request: &[u8]) -> Result<Vec<u8>, CallError> {
        self.call(self.entry.handle, request)
    }

    /// `{"name", "payload"}` → nothing.
    pub fn on_event(&self, event: &[u8]) -> Result<(), CallError> {
        self.call(self.entry.on_event, event).map(|_| ())
    }
}
