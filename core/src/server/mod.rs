//! Assembles the HTTP application and runs it.

mod cors;
pub mod listen;
pub mod memory;
mod observe;
mod probes;
pub mod routes;

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use anyhow::Context;
use poem::{Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Route, http::Method};
use tokio::{net::TcpListener, sync::oneshot};

use crate::{
    api::{
        self, conflicts::RetryConflicts, errors, guard::Guard, idempotency::Idempotency,
        plugin_document, plugin_routes::PluginRoutes, ticket_resources,
    },
    app::{AppState, ticket_rules},
    config::Config,
    domain::{bootstrap, script_files, tickets::TicketRules},
    email,
    events::EventBus,
    jobs,
    plugins::{self, PluginHost},
    store::Store,
    telemetry::RequestLog,
    time::Clock,
    webhooks,
};

/// The whole HTTP application: the API (with the plugins' endpoints under `/plugins`) under
/// its prefix behind the guard; the OpenAPI document and the docs page beside it, open to all;
/// the operator's probes and metrics at the root.
pub fn app(state: AppState) -> impl Endpoint + 'static {
    let prefix = state.config.api.prefix.clone();
    let service = api::service(&prefix);
    let generated = service.spec();
    let core_spec = api::document::finish(&generated);
    let spec = plugin_document::merge(&core_spec, &state.plugins);
    let routes = Arc::new(route_table(&prefix, &spec));
    // The interactive page embeds the document, so it is rendered once here.
    let docs_html = api::docs_page::render(&service.rapidoc_html(), &generated, &spec);
    let api = Route::new()
        .nest("/plugins", PluginRoutes::new(state.clone()))
        .nest("/", service);
    let guarded = api
        .with(RetryConflicts::new(&state))
        .with(Idempotency::new(state.clone()))
        .with(Guard::new(state.clone()));
    let under_prefix = Route::new()
        .at(
            "/openapi.json",
            poem::endpoint::make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json")
                    .body(spec.clone())
            }),
        )
        .at(
            "/docs",
            poem::endpoint::make_sync(move |_| poem::web::Html(docs_html.clone())),
        )
        .nest("/", guarded);
    let metrics = if state.config.metrics.public {
        probes::metrics_text.boxed()
    } else {
        // The guard's table asks `/metrics` for the `admin` ability.
        probes::metrics_text.with(Guard::new(state.clone())).boxed()
    };
    let root = Route::new()
        .at("/healthz", poem::get(probes::healthz))
        .at("/readyz", poem::get(probes::readyz))
        .at("/metrics", poem::get(metrics))
        .nest(prefix, under_prefix)
        .data(state.clone())
        .around(answer_expired_body)
        .catch_all_error(|err| async move { errors::envelope(err) })
        .around(api::problem::negotiate);
    let root = Arc::new(root);
    let with_cors = if state.config.server.cors_origins.is_empty() {
        root.boxed()
    } else {
        root.with(cors::ListedOrigins::new(&state.config.server.cors_origins))
            .boxed()
    };
    with_cors
        .with(observe::Observe::new(routes))
        .with(RequestLog)
        .into_endpoint()
}

/// A request whose body stopped arriving fails wherever it was being read (a JSON body, a form
/// field, an upload streamed to storage); whatever that failure was, the client is told 408.
async fn answer_expired_body<E: Endpoint>(
    next: E,
    req: poem::Request,
) -> poem::Result<poem::Response> {
    let expired = req.extensions().get::<listen::BodyExpired>().cloned();
    let answered = next.call(req).await.map(IntoResponse::into_response);
    let succeeded = matches!(&answered, Ok(response) if response.status().is_success());
    if !succeeded && expired.is_some_and(|e| e.is_set()) {
        // Not logged as the failure it caused (a storage write cut short is not a server fault).
        return Err(crate::error::Error::BodyTimeout.into());
    }
    answered
}

/// The routes of the API document under `prefix`, and those outside it, for metrics labels
/// and `Allow`.
fn route_table(prefix: &str, spec: &str) -> routes::RouteTable {
    let get: &[Method] = &[Method::GET];
    let (document, docs, plugins) = (
        format!("{prefix}/openapi.json"),
        format!("{prefix}/docs"),
        format!("{prefix}/plugins/{{*rest}}"),
    );
    let any: &[Method] = &[
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    routes::RouteTable::new(
        prefix,
        spec,
        &[
            ("/healthz", get),
            ("/readyz", get),
            ("/metrics", get),
            (&document, get),
            (&docs, get),
            (&plugins, any),
        ],
    )
}

/// A server started by [`start`]; dropping [`Running::stop`]'s sender is not needed, call it.
pub struct Running {
    pub addr: SocketAddr,
    /// A one-time admin token when this start created the first admin.
    pub bootstrap_token: Option<String>,
    /// The loaded plugins, e.g. to [`PluginHost::dispatch`] events to them.
    pub plugins: Arc<PluginHost>,
    /// The server's store, e.g. for a test to set [`Store::after_ticket_commit`].
    pub store: Store,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }

    /// Waits until the server ends (after a signal handled by [`serve`]).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        (&mut self.task).await??;
        Ok(())
    }
}

/// Connects and migrates the database, creates the first admin on an empty database, binds
/// and serves in the background until `shutdown` resolves or [`Running::stop`] is called.
/// Every rule reads the time from `clock` (`Clock::system()` but in tests).
pub async fn start(
    config: Config,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let rules = ticket_rules(&config)?;
    let store = Store::connect(&config.database).await?.timed_by(&clock);
    store.migrate().await?;
    let bootstrap_token = bootstrap::first_admin(&store).await?;
    let plugins = Arc::new(load_plugins(&config, &store, (&rules, &clock)).await?);
    let bind = config.server.bind;
    let events = EventBus::start(store.clone()).await?;
    plugins::events::follow(&events, store.clone(), plugins.clone());
    let blobs = crate::blobs::Blobs::open(&config.attachments)?;
    if config.tickets.search_index {
        let store = store.clone();
        tokio::spawn(async move {
            if let Err(err) = store.word_index().build(&store).await {
                tracing::error!(error = %err, "the search index was not built; searches read the database");
            }
        });
    }
    let running_store = store.clone();
    let state = AppState::new(
        config,
        (rules, clock),
        store,
        events,
        plugins.clone(),
        blobs,
    );
    script_files::start(&state.scripts, Path::new(&state.config.scripts.dir)).await;
    memory::spawn_release(Duration::from_secs(
        state.config.server.release_memory_seconds,
    ));
    jobs::spawn_scheduler(
        state.store.clone(),
        state.scripts.clone(),
        state.rules.clone(),
        state.clock.clone(),
        state.config.clone(),
    );
    state.events.forward_to_automations(
        state.store.clone(),
        state.scripts.clone(),
        (state.rules.clone(), state.clock.clone()),
    );
    webhooks::spawn(
        state.store.clone(),
        state.config.clone(),
        state.events.subscribe(),
    )?;
    email::spawn(
        state.store.clone(),
        state.config.clone(),
        state.events.subscribe(),
        state.clock.clone(),
    )?;
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (server.bind)"))?;
    let addr = listener.local_addr().unwrap_or(bind);
    tracing::info!(addr = %addr, "listening");
    let (stop, stopped) = oneshot::channel::<()>();
    let limits = listen::Limits::of(&state.config.server);
    let app = app(state);
    let task = tokio::spawn(async move {
        let signal = async move {
            tokio::select! {
                _ = shutdown => {},
                _ = stopped => {},
            }
        };
        listen::serve(listener, app, limits, signal).await
    });
    Ok(Running {
        addr,
        bootstrap_token,
        plugins,
        store: running_store,
        stop: Some(stop),
        task,
    })
}

/// Loads `plugins.dir`; under `plugins.strict` a library that does not load stops the start.
async fn load_plugins(
    config: &Config,
    store: &Store,
    (rules, clock): (&TicketRules, &Clock),
) -> anyhow::Result<PluginHost> {
    let settings = config.plugins.clone();
    let (store, rules, clock) = (store.clone(), rules.clone(), clock.clone());
    let runtime = tokio::runtime::Handle::current();
    // Off the runtime: loading runs plugin code, which may call back into the host.
    let (host, reports) = tokio::task::spawn_blocking(move || {
        PluginHost::load(
            &settings,
            &store,
            (&rules, &clock),
            ticket_resources::FOR_PLUGINS,
            runtime,
        )
    })
    .await?;
    if config.plugins.strict
        && let Some(refused) = reports.iter().find(|r| r.outcome.is_err())
    {
        anyhow::bail!(
            "a plugin in {} was refused and plugins.strict is on: {}",
            config.plugins.dir,
            refused.line()
        );
    }
    Ok(host)
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed by this call, not when the future is
/// first polled, so a signal that arrives right after the server announced itself still ends it
/// cleanly instead of killing the process. Call it inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        [
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        ]
    };
    async move {
        #[cfg(unix)]
        {
            let [interrupt, terminate] = signals.map(|signal| async move {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            });
            tokio::select! {
                _ = interrupt => {},
                _ = terminate => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}
