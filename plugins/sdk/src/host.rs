//! `Host`: the safe handle on the host's callbacks, given to every handler.

use std::fmt;

use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use crate::abi::{Buf, HostApi, HostFn, STATUS_OK};

/// A host callback failed: the host's message (`not available yet`, `The key field is
/// required.`) or a transport problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostError {}

pub type HostResult<T> = Result<T, HostError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

/// The host, as one plugin instance sees it. Cheap to copy; usable from any thread.
#[derive(Clone, Copy)]
pub struct Host {
    api: *const HostApi,
}

// The host promises its table is valid for the process and callable from any thread.
unsafe impl Send for Host {}
unsafe impl Sync for Host {}

/// The offset of a field of `HostApi`, to compare with the size the host reported.
macro_rules! available {
    ($api:expr, $field:ident) => {{
        let end = std::mem::offset_of!(HostApi, $field) + std::mem::size_of::<Option<HostFn>>();
        ($api.size as usize >= end).then_some($api.$field).flatten()
    }};
}

impl Host {
    /// # Safety
    /// `api` must point to a host table valid for the rest of the process.
    pub unsafe fn from_raw(api: *const HostApi) -> Host {
        Host { api }
    }

    fn api(&self) -> &HostApi {
        // Valid for the process (see `from_raw`).
        unsafe { &*self.api }
    }

    fn call(&self, function: Option<HostFn>, name: &str, input: &Value) -> HostResult<Value> {
        let api = self.api();
        let function =
            function.ok_or_else(|| HostError(format!("the host does not offer {name}")))?;
        let input = serde_json::to_vec(input).map_err(|e| HostError(e.to_string()))?;
        let mut out = Buf::EMPTY;
        let status = unsafe { function(api.ctx, input.as_ptr(), input.len(), &mut out) };
        let parsed = {
            let bytes = unsafe { out.as_slice() };
            if bytes.is_empty() {
                Ok(Value::Null)
            } else {
                serde_json::from_slice::<Value>(bytes)
            }
        };
        if let Some(free) = api.free {
            unsafe { free(out) };
        }
        let value = parsed.map_err(|e| HostError(format!("{name}: unreadable answer: {e}")))?;
        if status == STATUS_OK {
            Ok(value)
        } else {
            let message = value["error"].as_str().unwrap_or("the host call failed");
            Err(HostError(message.to_string()))
        }
    }

    /// A line in the server's log, tagged with the plugin.
    pub fn log(&self, level: Level, message: &str) {
        let level = match level {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        };
        let log = available!(self.api(), log);
        let _ = self.call(log, "log", &json!({ "level": level, "message": message }));
    }

    /// The value stored under `key` in this plugin's key/value store.
    pub fn kv_get<T: DeserializeOwned>(&self, key: &str) -> HostResult<Option<T>> {
        let found = self.call(
            available!(self.api(), kv_get),
            "kv_get",
            &json!({ "key": key }),
        )?;
        if found["found"] != Value::Bool(true) {
            return Ok(None);
        }
        serde_json::from_value(found["value"].clone())
            .map(Some)
            .map_err(|e| HostError(format!("kv_get {key}: {e}")))
    }

    pub fn kv_set<T: Serialize>(&self, key: &str, value: &T) -> HostResult<()> {
        let value = serde_json::to_value(value).map_err(|e| HostError(e.to_string()))?;
        let set = available!(self.api(), kv_set);
        self.call(set, "kv_set", &json!({ "key": key, "value": value }))?;
        Ok(())
    }

    /// True when there was something to delete.
    pub fn kv_delete(&self, key: &str) -> HostResult<bool> {
        let delete = available!(self.api(), kv_delete);
        let answer = self.call(delete, "kv_delete", &json!({ "key": key }))?;
        Ok(answer["deleted"] == Value::Bool(true))
    }

    /// Every entry whose key starts with `prefix`, in key order (fetched a page at a time).
    pub fn kv_list(&self, prefix: &str) -> HostResult<Vec<(String, Value)>> {
        let list = available!(self.api(), kv_list);
        let mut entries = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.call(
                list,
                "kv_list",
                &json!({ "prefix": prefix, "after": after, "limit": 500 }),
            )?;
            for entry in page["entries"].as_array().into_iter().flatten() {
                let key = entry["key"].as_str().unwrap_or_default().to_string();
                entries.push((key, entry["value"].clone()));
            }
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_string()),
                None => return Ok(entries),
            }
        }
    }

    /// A ticket as `GET /tickets/{reference}` shows it.
    pub fn ticket(&self, reference: &str) -> HostResult<Value> {
        let get = available!(self.api(), ticket_get);
        self.call(get, "ticket_get", &json!({ "reference": reference }))
    }

    /// `filters` as the query of `GET /tickets` (`{"status": "open", "per_page": 50}`).
    pub fn tickets(&self, filters: &Value) -> HostResult<Value> {
        self.call(available!(self.api(), ticket_list), "ticket_list", filters)
    }

    pub fn add_reply(&self, reference: &str, body: &str) -> HostResult<Value> {
        let reply = available!(self.api(), ticket_add_reply);
        let input = json!({ "reference": reference, "body": body });
        self.call(reply, "ticket_add_reply", &input)
    }

    /// An internal note, visible to agents only.
    pub fn add_note(&self, reference: &str, body: &str) -> HostResult<Value> {
        let note = available!(self.api(), ticket_add_note);
        let input = json!({ "reference": reference, "body": body });
        self.call(note, "ticket_add_note", &input)
    }

    pub fn set_status(&self, reference: &str, status: &str) -> HostResult<Value> {
        let set = available!(self.api(), ticket_set_status);
        let input = json!({ "reference": reference, "status": status });
        self.call(set, "ticket_set_status", &input)
    }

    pub fn set_priority(&self, reference: &str, priority: &str) -> HostResult<Value> {
        let set = available!(self.api(), ticket_set_priority);
        let input = json!({ "reference": reference, "priority": priority });
        self.call(set, "ticket_set_priority", &input)
    }

    pub fn set_tags(&self, reference: &str, add: &[&str], remove: &[&str]) -> HostResult<Value> {
        let set = available!(self.api(), ticket_set_tags);
        let input = json!({ "reference": reference, "add": add, "remove": remove });
        self.call(set, "ticket_set_tags", &input)
    }
}
