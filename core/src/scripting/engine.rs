//! The one place a Rhai engine is built: every limit set, `eval` and module imports gone,
//! `print`/`debug` sent to the log, and the §8 change functions registered. The engine is
//! shared by all runs; what is per run (the recorded changes, the deadline) lives in
//! thread-locals set around each run, since a run happens on one blocking thread.

use std::{
    cell::{Cell, RefCell},
    time::Instant,
};

use rhai::{Dynamic, Engine, EvalAltResult, module_resolvers::DummyModuleResolver};
use serde_json::{Value, json};

use super::{MAX_CHANGES, RawAction};
use crate::config::ScriptsConfig;

thread_local! {
    /// The changes recorded by the run on this thread.
    static RECORDED: RefCell<Vec<RawAction>> = const { RefCell::new(Vec::new()) };
    /// When the run on this thread must stop.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// What `on_progress` answers when the deadline has passed; the run error carries it back.
pub const TIMEOUT_TOKEN: &str = "timeout";
/// What `on_progress` answers when the run holds more than `max_memory_bytes`.
pub const MEMORY_TOKEN: &str = "memory";

/// Operations between two looks at the clock.
const CLOCK_EVERY: u64 = 256;

/// Starts a run on this thread: no changes recorded yet, the deadline set.
pub fn begin_run(deadline: Instant) {
    RECORDED.with(|r| r.borrow_mut().clear());
    DEADLINE.with(|d| d.set(Some(deadline)));
}

/// Ends the run on this thread, returning the changes it recorded.
pub fn end_run() -> Vec<RawAction> {
    DEADLINE.with(|d| d.set(None));
    RECORDED.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

fn record(kind: &str, value: Value) -> Result<(), Box<EvalAltResult>> {
    RECORDED.with(|r| {
        let mut recorded = r.borrow_mut();
        if recorded.len() >= MAX_CHANGES {
            return Err(format!("A script may record at most {MAX_CHANGES} changes.").into());
        }
        recorded.push(RawAction {
            kind: kind.to_string(),
            value,
        });
        Ok(())
    })
}

/// The hardened engine for `limits`.
pub fn build(limits: &ScriptsConfig) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_variables(1000)
        .set_max_functions(200)
        .set_max_modules(0)
        .set_module_resolver(DummyModuleResolver::new())
        .set_strict_variables(true)
        .disable_symbol("eval")
        .disable_symbol("import")
        .disable_symbol("export");
    engine.on_print(|text| tracing::info!(target: "escalated::script", "{text}"));
    engine.on_debug(
        |text, source, pos| tracing::debug!(target: "escalated::script", source, %pos, "{text}"),
    );
    let max_memory = limits.max_memory_bytes;
    engine.on_progress(move |operations| {
        if super::memory::held() > max_memory {
            return Some(Dynamic::from(MEMORY_TOKEN));
        }
        if operations % CLOCK_EVERY != 0 {
            return None;
        }
        let late = DEADLINE.with(|d| d.get().is_some_and(|at| Instant::now() >= at));
        late.then(|| Dynamic::from(TIMEOUT_TOKEN))
    });
    register_changes(&mut engine);
    engine
}

/// The functions of contract §8: each records an intended change, checked and applied later.
fn register_changes(engine: &mut Engine) {
    for name in [
        "set_status",
        "set_priority",
        "set_type",
        "add_tag",
        "remove_tag",
    ] {
        engine.register_fn(name, move |value: &str| record(name, json!(value)));
    }
    for name in ["add_reply", "add_note"] {
        engine.register_fn(name, move |text: &str| record(name, json!(text)));
    }
    engine.register_fn("assign", |id: i64| record("assign", json!(id)));
    engine.register_fn("assign", |email: &str| record("assign", json!(email)));
    engine.register_fn("unassign", || record("unassign", Value::Null));
    engine.register_fn("set_department", |id: i64| {
        record("set_department", json!(id))
    });
    engine.register_fn("follow", || record("follow", Value::Null));
}

/// The names of every function a script can call: registered, standard library, and the
/// keywords the engine handles itself.
pub fn known_functions(engine: &Engine) -> std::collections::HashSet<String> {
    let mut names: std::collections::HashSet<String> = engine
        .collect_fn_metadata(None, |info| Some(info.metadata.name.to_string()), true)
        .into_iter()
        .collect();
    for keyword in [
        "print",
        "debug",
        "type_of",
        "Fn",
        "call",
        "curry",
        "is_def_var",
        "is_def_fn",
        "is_shared",
    ] {
        names.insert(keyword.to_string());
    }
    names
}
