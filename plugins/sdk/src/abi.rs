//! The raw C ABI, version [`ABI_VERSION`]. docs/plugins.md describes it for C authors; this
//! module is the one definition both the SDK and the server compile against.
//!
//! Everything crossing the boundary is UTF-8 JSON in a [`Buf`]. Whoever allocated a buffer frees
//! it: buffers a plugin returns are freed with the entry's `free`, buffers the host returns are
//! freed with the host table's `free`. Input pointers are borrowed for the duration of the call.

use std::ffi::c_void;

/// The ABI this SDK speaks. Bumped on any incompatible change to a table, a signature or the
/// meaning of a call; the host refuses a plugin whose entry carries another number.
pub const ABI_VERSION: u32 = 1;

/// The name of the static [`PluginEntry`] every plugin exports.
pub const ENTRY_SYMBOL: &str = "ESCALATED_PLUGIN_ENTRY";

/// The call succeeded; `out` holds the result (JSON), or is empty.
pub const STATUS_OK: i32 = 0;
/// The call failed; `out` holds `{"error": "..."}` or is empty.
pub const STATUS_ERROR: i32 = 1;
/// The callee panicked (and caught it); `out` holds `{"error": "..."}` or is empty.
pub const STATUS_PANIC: i32 = 2;

/// A byte buffer owned by whoever allocated it. `ptr` is null when there is nothing (`len` 0).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Buf {
    pub ptr: *mut u8,
    pub len: usize,
}

impl Buf {
    pub const EMPTY: Buf = Buf {
        ptr: std::ptr::null_mut(),
        len: 0,
    };

    /// Hands `bytes` over: the receiver must give the buffer back to [`Buf::free_rust`] (through
    /// the allocator's exported `free`).
    pub fn from_vec(bytes: Vec<u8>) -> Buf {
        if bytes.is_empty() {
            return Buf::EMPTY;
        }
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        Buf {
            ptr: Box::into_raw(boxed) as *mut u8,
            len,
        }
    }

    /// Frees a buffer made by [`Buf::from_vec`] in this same library.
    ///
    /// # Safety
    /// `self` must come from `Buf::from_vec` of this library and not have been freed yet.
    pub unsafe fn free_rust(self) {
        if !self.ptr.is_null() {
            let slice = std::ptr::slice_from_raw_parts_mut(self.ptr, self.len);
            drop(unsafe { Box::from_raw(slice) });
        }
    }

    /// The bytes, borrowed.
    ///
    /// # Safety
    /// `ptr` must be null or point to `len` readable bytes for the borrow's lifetime.
    pub unsafe fn as_slice<'a>(&self) -> &'a [u8] {
        unsafe { bytes(self.ptr, self.len) }
    }
}

/// A borrowed input: `ptr`/`len` as passed to a call.
///
/// # Safety
/// `ptr` must be null or point to `len` readable bytes for `'a`.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// The first two fields of every table: read before anything else, so a table of another
/// layout is recognised without touching the rest of it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub abi_version: u32,
    /// `sizeof` the whole table as its author compiled it.
    pub size: u32,
}

/// `manifest(out)`: the plugin's manifest (JSON, see `Manifest`).
pub type ManifestFn = unsafe extern "C" fn(out: *mut Buf) -> i32;
/// `create(host, instance, out)`: makes an instance bound to `host` (valid for the process)
/// and stores its opaque pointer in `*instance`; on failure `out` says why.
pub type CreateFn =
    unsafe extern "C" fn(host: *const HostApi, instance: *mut *mut c_void, out: *mut Buf) -> i32;
/// `call(instance, input, input_len, out)`: `handle` and `on_event`.
pub type InstanceFn = unsafe extern "C" fn(
    instance: *mut c_void,
    input: *const u8,
    input_len: usize,
    out: *mut Buf,
) -> i32;
/// Frees a buffer the same side allocated.
pub type FreeFn = unsafe extern "C" fn(buf: Buf);

/// What a plugin exports under [`ENTRY_SYMBOL`]. Field order is the ABI.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PluginEntry {
    pub abi_version: u32,
    pub size: u32,
    pub manifest: Option<ManifestFn>,
    pub create: Option<CreateFn>,
    /// Input: a request (JSON, see `Request`); output: a response (`Response`).
    pub handle: Option<InstanceFn>,
    /// Input: `{"name": ..., "payload": ...}`; output ignored. Null when subscribed to nothing.
    pub on_event: Option<InstanceFn>,
    pub free: Option<FreeFn>,
}

// A table made by the SDK crosses threads as plain data (function pointers and integers).
unsafe impl Sync for PluginEntry {}

/// `fn(ctx, input, input_len, out)`: every host callback; input and output are JSON.
pub type HostFn = unsafe extern "C" fn(
    ctx: *mut c_void,
    input: *const u8,
    input_len: usize,
    out: *mut Buf,
) -> i32;

/// The host's table, handed to `create`. It stays valid for the life of the process and its
/// functions may be called from any thread, concurrently. Fields are only ever appended within
/// one ABI version; check `size` before using a field added after version 1's first release.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HostApi {
    pub abi_version: u32,
    pub size: u32,
    /// Passed back as the first argument of every callback.
    pub ctx: *mut c_void,
    /// Frees a buffer a callback returned.
    pub free: Option<FreeFn>,
    /// `{"level": "error|warn|info|debug", "message": "..."}` → `{}`.
    pub log: Option<HostFn>,
    /// `{"key"}` → `{"found": bool, "value": any|null}`.
    pub kv_get: Option<HostFn>,
    /// `{"key", "value"}` → `{}`.
    pub kv_set: Option<HostFn>,
    /// `{"key"}` → `{"deleted": bool}`.
    pub kv_delete: Option<HostFn>,
    /// `{"prefix"?, "after"?, "limit"?}` → `{"entries": [{"key", "value"}], "next": key|null}`.
    pub kv_list: Option<HostFn>,
    /// `{"reference"}` → the ticket as `GET /tickets/{reference}` shows it.
    pub ticket_get: Option<HostFn>,
    /// The query of `GET /tickets` as an object → `{"data": [...], "meta": {...}}`.
    pub ticket_list: Option<HostFn>,
    /// `{"reference", "body", "user_id"?}` → the reply.
    pub ticket_add_reply: Option<HostFn>,
    /// `{"reference", "body", "user_id"?}` → the note.
    pub ticket_add_note: Option<HostFn>,
    /// `{"reference", "status"}` → the ticket.
    pub ticket_set_status: Option<HostFn>,
    /// `{"reference", "priority"}` → the ticket.
    pub ticket_set_priority: Option<HostFn>,
    /// `{"reference", "add"?: [names], "remove"?: [names]}` → the ticket.
    pub ticket_set_tags: Option<HostFn>,
}

unsafe impl Sync for HostApi {}
unsafe impl Send for HostApi {}

// The documented layouts (docs/plugins.md), on 64-bit targets.
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(std::mem::size_of::<Buf>() == 16);
    assert!(std::mem::size_of::<PluginEntry>() == 48);
    assert!(std::mem::size_of::<HostApi>() == 120);
};
