//! The exported functions, called as the host calls them, against a fake host table.

use std::{collections::BTreeMap, ffi::c_void, sync::Mutex};

use serde_json::{Value, json};

use crate::{
    abi::{Buf, HostApi, PluginEntry, STATUS_ERROR, STATUS_OK, STATUS_PANIC, bytes},
    export::{self, Source},
    *,
};

static KV: Mutex<BTreeMap<String, Value>> = Mutex::new(BTreeMap::new());

unsafe extern "C" fn host_free(buf: Buf) {
    unsafe { buf.free_rust() }
}

unsafe extern "C" fn fake_kv_set(
    _: *mut c_void,
    input: *const u8,
    len: usize,
    out: *mut Buf,
) -> i32 {
    let input: Value = serde_json::from_slice(unsafe { bytes(input, len) }).unwrap();
    let key = input["key"].as_str().unwrap().to_string();
    KV.lock().unwrap().insert(key, input["value"].clone());
    unsafe { *out = Buf::from_vec(b"{}".to_vec()) };
    STATUS_OK
}

unsafe extern "C" fn fake_kv_get(
    _: *mut c_void,
    input: *const u8,
    len: usize,
    out: *mut Buf,
) -> i32 {
    let input: Value = serde_json::from_slice(unsafe { bytes(input, len) }).unwrap();
    let found = KV
        .lock()
        .unwrap()
        .get(input["key"].as_str().unwrap())
        .cloned();
    let answer = json!({ "found": found.is_some(), "value": found });
    unsafe { *out = Buf::from_vec(answer.to_string().into_bytes()) };
    STATUS_OK
}

unsafe extern "C" fn unavailable(_: *mut c_void, _: *const u8, _: usize, out: *mut Buf) -> i32 {
    unsafe { *out = Buf::from_vec(br#"{"error": "not available yet"}"#.to_vec()) };
    STATUS_ERROR
}

fn host_table(abi_version: u32) -> &'static HostApi {
    Box::leak(Box::new(HostApi {
        abi_version,
        size: std::mem::size_of::<HostApi>() as u32,
        ctx: std::ptr::null_mut(),
        free: Some(host_free),
        log: None,
        kv_get: Some(fake_kv_get),
        kv_set: Some(fake_kv_set),
        kv_delete: None,
        kv_list: None,
        ticket_get: Some(unavailable),
        ticket_list: None,
        ticket_add_reply: None,
        ticket_add_note: None,
        ticket_set_status: None,
        ticket_set_priority: None,
        ticket_set_tags: None,
    }))
}

fn sample() -> Plugin {
    Plugin::new("sample", "Sample", "1.0.0")
        .endpoint(Endpoint::get("/echo/:word", "Echo"), |_, req| {
            Response::ok(json!({ "word": req.param("word"), "user": req.user.name }))
        })
        .endpoint(Endpoint::get("/boom", "Panics"), |_, _| {
            panic!("on purpose")
        })
        .endpoint(Endpoint::post("/remember", "Stores"), |host, req| {
            host.kv_set("remembered", &req.body).unwrap();
            let back: Option<Value> = host.kv_get("remembered").unwrap();
            let ticket = host.ticket("ESC-00001").unwrap_err();
            Response::created(json!({ "back": back, "ticket": ticket.0 }), "Stored.")
        })
}

export_plugin!(sample);

fn call(function: abi::InstanceFn, instance: *mut c_void, input: &Value) -> (i32, Value) {
    let input = input.to_string();
    let mut out = Buf::EMPTY;
    let status = unsafe { function(instance, input.as_ptr(), input.len(), &mut out) };
    let value = serde_json::from_slice(unsafe { out.as_slice() }).unwrap_or(Value::Null);
    unsafe { export::free(out) };
    (status, value)
}

fn instance(entry: &PluginEntry, host: &'static HostApi) -> (i32, *mut c_void, Value) {
    let mut instance = std::ptr::null_mut();
    let mut out = Buf::EMPTY;
    let status = unsafe { entry.create.unwrap()(host, &mut instance, &mut out) };
    let error = serde_json::from_slice(unsafe { out.as_slice() }).unwrap_or(Value::Null);
    unsafe { export::free(out) };
    (status, instance, error)
}

fn request(endpoint: usize, path_params: Value, body: Value) -> Value {
    json!({
        "endpoint": endpoint, "method": "GET", "path": "/", "path_params": path_params,
        "body": body, "user": { "id": 1, "name": "Ada", "email": "a@x.io", "role": "agent" },
    })
}

#[test]
fn entry_starts_with_version_and_size() {
    let entry = &ESCALATED_PLUGIN_ENTRY;
    assert_eq!(entry.abi_version, ABI_VERSION);
    assert_eq!(entry.size as usize, std::mem::size_of::<PluginEntry>());
    let mut out = Buf::EMPTY;
    assert_eq!(unsafe { entry.manifest.unwrap()(&mut out) }, STATUS_OK);
    let manifest: Manifest = serde_json::from_slice(unsafe { out.as_slice() }).unwrap();
    unsafe { export::free(out) };
    assert_eq!(manifest.slug, "sample");
    assert_eq!(manifest.endpoints[0].path, "/echo/:word");
    assert_eq!(
        manifest.endpoints[2].ability.as_deref(),
        Some("tickets:write")
    );
}

#[test]
fn handler_answers_and_panic_is_reported() {
    let entry = &ESCALATED_PLUGIN_ENTRY;
    let (status, instance, _) = instance(entry, host_table(ABI_VERSION));
    assert_eq!(status, STATUS_OK);
    let handle = entry.handle.unwrap();
    let (status, answer) = call(
        handle,
        instance,
        &request(0, json!({ "word": "hi" }), Value::Null),
    );
    assert_eq!(status, STATUS_OK);
    assert_eq!(answer["body"], json!({ "word": "hi", "user": "Ada" }));
    let (status, answer) = call(handle, instance, &request(1, json!({}), Value::Null));
    assert_eq!(status, STATUS_PANIC);
    assert_eq!(answer["error"], "on purpose");
    let (status, answer) = call(handle, instance, &json!({ "nope": true }));
    assert_eq!(status, STATUS_ERROR);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("unreadable request")
    );
}

#[test]
fn host_callbacks_round_trip() {
    let entry = &ESCALATED_PLUGIN_ENTRY;
    let (_, instance, _) = instance(entry, host_table(ABI_VERSION));
    let (status, answer) = call(
        entry.handle.unwrap(),
        instance,
        &request(2, json!({}), json!({ "a": 1 })),
    );
    assert_eq!(status, STATUS_OK);
    assert_eq!(answer["status"], 201);
    assert_eq!(
        answer["body"],
        json!({ "back": { "a": 1 }, "ticket": "not available yet" })
    );
}

#[test]
fn create_refuses_a_host_of_another_abi() {
    let (status, _, error) = instance(&ESCALATED_PLUGIN_ENTRY, host_table(ABI_VERSION + 1));
    assert_eq!(status, STATUS_ERROR);
    assert!(error["error"].as_str().unwrap().contains("plugin ABI"));
}

#[test]
fn source_builds_the_plugin_once() {
    let first = __EscalatedPluginSource::plugin() as *const Plugin;
    assert_eq!(first, __EscalatedPluginSource::plugin() as *const Plugin);
}
