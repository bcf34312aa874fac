//! Native plugins (contract §7, docs/plugins.md): dynamic libraries in `plugins.dir`, built
//! against `escalated-plugin-sdk`, loaded once at start and never unloaded. Their endpoints are
//! mounted under `/plugins/{slug}` behind the same guard as the core API (`api::plugin_routes`),
//! appear in the served OpenAPI document (`api::plugin_document`), and their event
//! subscriptions are fed by [`PluginHost::dispatch`] ([`events::follow`]).

pub mod check;
pub mod events;
pub mod ffi;
pub mod host_api;
pub mod host_tickets;
pub mod loader;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use escalated_plugin_sdk::Manifest;
use poem::http::Method;
use serde_json::{Value, json};
use tokio::{runtime::Handle, sync::Semaphore};

use self::host_tickets::TicketJson;
use crate::{
    config::PluginsConfig,
    domain::{abilities::Ability, tickets::TicketRules},
    metrics::{self, PluginCall},
    store::Store,
    time::Clock,
};

/// Calls one plugin may have running at once; more wait (within the timeout). Bounds the
/// blocking threads a stuck plugin can hold.
const CONCURRENT_CALLS: usize = 32;

/// The server version plugins' `host_versions` are matched against.
pub const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A plugin in service.
pub struct LoadedPlugin {
    pub manifest: Manifest,
    pub file: PathBuf,
    pub routes: Vec<check::Route>,
    instance: ffi::Instance,
    calls: Arc<Semaphore>,
}

impl LoadedPlugin {
    /// The route for a request path below `/plugins/{slug}`, and its parameters.
    pub fn route(
        &self,
        method: &Method,
        path: &str,
    ) -> Option<(&check::Route, std::collections::BTreeMap<String, String>)> {
        self.routes
            .iter()
            .filter(|r| r.method == *method)
            .find_map(|r| r.matches(path).map(|params| (r, params)))
    }

    /// True when some route has this path under another method (405 rather than 404).
    pub fn has_path(&self, path: &str) -> bool {
        self.routes.iter().any(|r| r.matches(path).is_some())
    }
}

/// What became of one library in `plugins.dir`.
#[derive(Debug, Clone)]
pub struct Report {
    pub file: PathBuf,
    /// `Ok(summary)` or `Err(why it was refused)`.
    pub outcome: Result<String, String>,
}

impl Report {
    fn loaded(file: &Path, manifest: &Manifest) -> Report {
        let mut summary = format!(
            "{} {} ({}): {} endpoint(s) under /plugins/{}",
            manifest.slug,
            manifest.version,
            manifest.name,
            manifest.endpoints.len(),
            manifest.slug
        );
        if !manifest.events.is_empty() {
            summary.push_str(&format!("; events: {}", manifest.events.join(", ")));
        }
        Report {
            file: file.to_path_buf(),
            outcome: Ok(summary),
        }
    }

    /// One line for people: `loaded  hello 0.1.0 ...` or `refused libx.so: why`.
    pub fn line(&self) -> String {
        let name = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.file.display().to_string());
        match &self.outcome {
            Ok(summary) => format!("loaded   {summary} [{name}]"),
            Err(why) => format!("refused  {name}: {why}"),
        }
    }
}

/// The plugins of a running server.
pub struct PluginHost {
    plugins: Vec<Arc<LoadedPlugin>>,
    timeout: Duration,
    subscribers: HashMap<String, Vec<events::Subscriber>>,
}

impl PluginHost {
    pub fn empty() -> PluginHost {
        PluginHost {
            plugins: Vec::new(),
            timeout: Duration::from_secs(5),
            subscribers: HashMap::new(),
        }
    }

    /// Checks every library of `dir` without starting any (for `escalated plugins list`).
    pub fn inspect(dir: &Path) -> Vec<Report> {
        loader::check_all(dir, HOST_VERSION)
            .into_iter()
            .map(|(file, checked)| match checked {
                Ok(candidate) => Report::loaded(&file, &candidate.manifest),
                Err(why) => Report {
                    file,
                    outcome: Err(why),
                },
            })
            .collect()
    }

    /// Loads and starts every plugin of `config.dir`, logging each outcome. Blocking (plugins'
    /// `create` may call back into the host): run it off the async runtime.
    /// Their ticket calls are judged by `rules` at the moment `clock` says, and see tickets
    /// shown by `json`.
    pub fn load(
        config: &PluginsConfig,
        store: &Store,
        (rules, clock): (&TicketRules, &Clock),
        json: TicketJson,
        runtime: Handle,
    ) -> (PluginHost, Vec<Report>) {
        let mut host = PluginHost {
            timeout: Duration::from_millis(config.timeout_ms),
            ..PluginHost::empty()
        };
        let mut reports = Vec::new();
        for (file, checked) in loader::check_all(Path::new(&config.dir), HOST_VERSION) {
            let started = checked.and_then(|candidate| {
                let slug = candidate.manifest.slug.clone();
                let table = host_api::table(
                    &slug,
                    store.clone(),
                    (rules.clone(), clock.clone()),
                    json,
                    runtime.clone(),
                );
                let instance = unsafe { ffi::Instance::create(candidate.entry, table) }
                    .map_err(|e| format!("plugin {slug:?}: create {e}"))?;
                Ok(LoadedPlugin {
                    manifest: candidate.manifest,
                    file: file.clone(),
                    routes: candidate.routes,
                    instance,
                    calls: Arc::new(Semaphore::new(CONCURRENT_CALLS)),
                })
            });
            let report = match started {
                Ok(plugin) => {
                    let report = Report::loaded(&file, &plugin.manifest);
                    if let Ok(summary) = &report.outcome {
                        tracing::info!(file = %file.display(), "plugin loaded: {summary}");
                    }
                    host.add(Arc::new(plugin), &runtime);
                    report
                }
                Err(why) => {
                    tracing::warn!(file = %file.display(), reason = %why, "plugin refused");
                    Report {
                        file,
                        outcome: Err(why),
                    }
                }
            };
            reports.push(report);
        }
        (host, reports)
    }

    fn add(&mut self, plugin: Arc<LoadedPlugin>, runtime: &Handle) {
        if !plugin.manifest.events.is_empty() {
            // One queue per plugin, whichever of its events arrive.
            let worker = events::Subscriber::start(runtime, plugin.clone(), self.timeout);
            for name in &plugin.manifest.events {
                self.subscribers
                    .entry(name.clone())
                    .or_default()
                    .push(worker.clone());
            }
        }
        self.plugins.push(plugin);
    }

    pub fn plugins(&self) -> &[Arc<LoadedPlugin>] {
        &self.plugins
    }

    pub fn find(&self, slug: &str) -> Option<&Arc<LoadedPlugin>> {
        self.plugins.iter().find(|p| p.manifest.slug == slug)
    }

    /// For the guard: `Some(ability)` when `path` (below `/plugins/`) is a plugin route for
    /// `method`; the inner `None` means any valid token.
    pub fn declared_ability(&self, method: &Method, path: &str) -> Option<Option<Ability>> {
        let (slug, rest) = split_slug(path)?;
        let plugin = self.find(slug)?;
        plugin.route(method, rest).map(|(route, _)| route.ability)
    }

    /// Runs a request (JSON) through the plugin's `handle`, off the runtime, within the timeout.
    pub async fn handle(
        &self,
        plugin: &Arc<LoadedPlugin>,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, ffi::CallError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let permit = tokio::time::timeout_at(deadline, plugin.calls.clone().acquire_owned())
            .await
            .map_err(|_| ffi::CallError::TimedOut)?
            .map_err(|_| ffi::CallError::Failed("the plugin is shut".into()))?;
        let worker = plugin.clone();
        let call = tokio::task::spawn_blocking(move || {
            // Held until the plugin returns, even when the request stopped waiting.
            let _permit = permit;
            worker.instance.handle(&request)
        });
        let result = match tokio::time::timeout_at(deadline, call).await {
            Err(_) => Err(ffi::CallError::TimedOut),
            Ok(Err(join)) => Err(ffi::CallError::Panicked(join.to_string())),
            Ok(Ok(result)) => result,
        };
        let slug = &plugin.manifest.slug;
        metrics::plugin_call(
            slug,
            PluginCall::Request,
            ffi::metric_label(result.as_ref().map(drop)),
        );
        result
    }

    /// Delivers an event to every plugin subscribed to `name`, in order per plugin, after the
    /// caller's change committed. Never waits: a plugin that is behind loses the event (logged).
    /// Whether any loaded plugin subscribes to an event.
    pub fn wants_events(&self) -> bool {
        !self.subscribers.is_empty()
    }

    pub fn dispatch(&self, name: &str, payload: &Value) {
        let Some(subscribers) = self.subscribers.get(name) else {
            return;
        };
        let event = Arc::new(
            json!({ "name": name, "payload": payload })
                .to_string()
                .into_bytes(),
        );
        for subscriber in subscribers {
            subscriber.offer(name, event.clone());
        }
    }
}

/// `hello/greeting` → (`hello`, `/greeting`); `hello` → (`hello`, `/`).
pub fn split_slug(path: &str) -> Option<(&str, &str)> {
    let path = path.strip_prefix('/').unwrap_or(path);
    match path.find('/') {
        Some(i) => Some((&path[..i], &path[i..])),
        None if !path.is_empty() => Some((path, "/")),
        None => None,
    }
}
