//! Rhai scripts: macros, custom ticket actions and automations (contract §7, §8).
//!
//! A script reads the ticket (`ticket`) and the acting user (`user`) and records intended
//! changes through the §8 functions; it never touches the database. The changes it records come
//! back as [`RawAction`]s, which the domain checks and applies through the same path as a
//! declarative macro (`domain::apply`). This module knows no ticket and no rule: the
//! domain builds what a script sees and decides what its changes mean. Every run is bounded (operations, call depth,
//! sizes, memory, wall-clock time) and happens on a blocking thread, at most `max_concurrent`
//! at once, so a runaway script costs one thread for at most `timeout_ms` and
//! `max_memory_bytes`, and the server goes on serving.

mod check;
mod engine;
pub mod memory;
pub mod values;

use std::{
    collections::HashSet,
    hash::{DefaultHasher, Hash, Hasher},
    sync::{Arc, PoisonError, RwLock},
    time::{Duration, Instant},
};

use rhai::{AST, CallFnOptions, Dynamic, Engine, EvalAltResult, Map, Scope};
use tokio::sync::Semaphore;

use crate::config::ScriptsConfig;

/// Most changes one run may record: the same bound as a declarative macro's action list
/// (`domain::actions::MAX_ACTIONS` is this constant).
pub const MAX_CHANGES: usize = 50;

/// A change as a script recorded it (or a macro's action as received), not yet checked.
#[derive(Debug, Clone)]
pub struct RawAction {
    pub kind: String,
    pub value: serde_json::Value,
}

/// Why a script was refused or stopped; the message is for the admin who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScriptError(pub String);

/// Which part of a script a run executes.
#[derive(Debug, Clone)]
pub enum Entry {
    /// The top-level statements (macros, automations).
    Main,
    /// A function defined by the script, called with `(ticket, user)` (custom actions).
    Function(&'static str),
}

/// What a run gives back: the entry's value and the changes it recorded.
#[derive(Debug)]
pub struct Outcome {
    pub value: Dynamic,
    pub changes: Vec<RawAction>,
}

/// The shared runtime: one hardened engine, compiled scripts cached by source hash, and the
/// scripts loaded from files (`[scripts] dir`). What a file set holds is the domain's business
/// (`domain::scripts::Scripts` names the runtime with its `FileSet`).
pub struct Scripts<F> {
    inner: Arc<Inner<F>>,
}

impl<F> Clone for Scripts<F> {
    fn clone(&self) -> Self {
        Scripts {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<F> {
    engine: Engine,
    known: HashSet<String>,
    cache: moka::sync::Cache<u64, Arc<AST>>,
    limits: ScriptsConfig,
    /// One permit per run that may execute at once (`max_concurrent`); the others wait.
    runs: Arc<Semaphore>,
    /// Replaced whole on each reload, so a reader sees one consistent set.
    files: RwLock<Arc<F>>,
}

impl<F: Default + Send + Sync + 'static> Scripts<F> {
    pub fn new(limits: &ScriptsConfig) -> Scripts<F> {
        let engine = engine::build(limits);
        let known = engine::known_functions(&engine);
        Scripts {
            inner: Arc::new(Inner {
                engine,
                known,
                cache: moka::sync::Cache::new(limits.cache_capacity),
                limits: limits.clone(),
                runs: Arc::new(Semaphore::new(limits.concurrency())),
                files: RwLock::new(Arc::default()),
            }),
        }
    }

    /// The macros, custom actions and automations loaded from script files (none until
    /// `domain::script_files` loads them).
    pub fn files(&self) -> Arc<F> {
        self.inner
            .files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `files` in place of the current set, at once for every reader.
    pub fn replace_files(&self, files: F) {
        *self
            .inner
            .files
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(files);
    }

    /// Compiles `source` (or takes it from the cache), checking that every function it calls
    /// exists. The error names the line and column.
    pub fn compile(&self, source: &str) -> Result<Arc<AST>, ScriptError> {
        let key = hash(source);
        if let Some(ast) = self.inner.cache.get(&key) {
            return Ok(ast);
        }
        let ast = check::compile(&self.inner.engine, &self.inner.known, source)?;
        let ast = Arc::new(ast);
        self.inner.cache.insert(key, ast.clone());
        Ok(ast)
    }

    /// Whether the compiled script defines `name` with `params` parameters.
    pub fn defines(&self, source: &str, name: &str, params: usize) -> Result<bool, ScriptError> {
        Ok(self
            .compile(source)?
            .iter_functions()
            .any(|f| f.name == name && f.params.len() == params))
    }

    /// Runs `entry` of `source` on this thread, within every limit.
    pub fn run_blocking(
        &self,
        source: &str,
        entry: &Entry,
        ticket: Map,
        user: Map,
    ) -> Result<Outcome, ScriptError> {
        let ast = self.compile(source)?;
        let engine = &self.inner.engine;
        let mut scope = Scope::new();
        engine::begin_run(Instant::now() + Duration::from_millis(self.inner.limits.timeout_ms));
        let counting = memory::Counting::start();
        let result = match entry {
            Entry::Main => {
                scope.push_constant("ticket", ticket);
                scope.push_constant("user", user);
                engine.eval_ast_with_scope::<Dynamic>(&mut scope, &ast)
            }
            Entry::Function(name) => engine.call_fn_with_options::<Dynamic>(
                CallFnOptions::new().eval_ast(false),
                &mut scope,
                &ast,
                name,
                (Dynamic::from_map(ticket), Dynamic::from_map(user)),
            ),
        };
        // What the run built is freed before counting stops, so nothing it held outlives it
        // uncounted; the error keeps only its message.
        drop(scope);
        crate::metrics::script_run(run_outcome(&result));
        let result = result.map_err(|err| ScriptError(self.describe(&err)));
        drop(counting);
        let changes = engine::end_run();
        match result {
            Ok(value) => Ok(Outcome { value, changes }),
            Err(err) => Err(err),
        }
    }

    /// [`Scripts::run_blocking`] on a blocking thread, off the async runtime, once one of the
    /// `max_concurrent` places is free.
    pub async fn run(
        &self,
        source: String,
        entry: Entry,
        ticket: Map,
        user: Map,
    ) -> Result<Outcome, ScriptError> {
        let scripts = self.clone();
        let permit = (self.inner.runs.clone().acquire_owned().await)
            .map_err(|_| ScriptError("The script runner is shutting down.".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            scripts.run_blocking(&source, &entry, ticket, user)
        })
        .await
        .unwrap_or_else(|err| Err(ScriptError(format!("The script crashed: {err}."))))
    }

    /// An error as the admin should read it: a stop at a limit names the limit.
    fn describe(&self, err: &EvalAltResult) -> String {
        let limits = &self.inner.limits;
        let at = |pos: rhai::Position| match (pos.line(), pos.position()) {
            (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
            (Some(line), None) => format!(" (line {line})"),
            _ => String::new(),
        };
        match err {
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => self.describe(inner),
            EvalAltResult::ErrorTooManyOperations(pos) => format!(
                "The script stopped at its operation limit (max_operations = {}){}.",
                limits.max_operations,
                at(*pos)
            ),
            EvalAltResult::ErrorStackOverflow(pos) => format!(
                "The script stopped at its call depth limit (max_call_levels = {}){}.",
                limits.max_call_levels,
                at(*pos)
            ),
            EvalAltResult::ErrorDataTooLarge(what, pos) => {
                let (key, max) = match what.as_str() {
                    w if w.contains("rray") => ("max_array_size", limits.max_array_size),
                    w if w.contains("ap") => ("max_map_size", limits.max_map_size),
                    _ => ("max_string_size", limits.max_string_size),
                };
                format!(
                    "The script stopped at its size limit ({what}: {key} = {max}){}.",
                    at(*pos)
                )
            }
            EvalAltResult::ErrorTerminated(token, pos)
                if token
                    .clone()
                    .into_string()
                    .is_ok_and(|t| t == engine::MEMORY_TOKEN) =>
            {
                format!(
                    "The script stopped at its memory limit (max_memory_bytes = {}){}.",
                    limits.max_memory_bytes,
                    at(*pos)
                )
            }
            EvalAltResult::ErrorTerminated(_, pos) => format!(
                "The script stopped at its time limit (timeout_ms = {}){}.",
                limits.timeout_ms,
                at(*pos)
            ),
            EvalAltResult::ErrorRuntime(value, pos) => {
                format!("The script failed: {value}{}.", at(*pos))
            }
            other => format!("The script failed: {other}."),
        }
    }
}

fn hash(source: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    source.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests;

/// How a run ended, for the metrics: a stop at the time limit is a timeout, any other error
/// (the memory limit included) a failure.
fn run_outcome(result: &Result<Dynamic, Box<EvalAltResult>>) -> crate::metrics::ScriptRun {
    fn timed_out(err: &EvalAltResult) -> bool {
        match err {
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => timed_out(inner),
            EvalAltResult::ErrorTerminated(token, _) => !token
                .clone()
                .into_string()
                .is_ok_and(|t| t == engine::MEMORY_TOKEN),
            _ => false,
        }
    }
    match result {
        Ok(_) => crate::metrics::ScriptRun::Ok,
        Err(err) if timed_out(err) => crate::metrics::ScriptRun::Timeout,
        Err(_) => crate::metrics::ScriptRun::Failed,
    }
}
