//! Settings, layered with figment: built-in defaults < `escalated.toml` (or `--config PATH`) <
//! `ESCALATED_*` environment variables, with `__` between a section and its key
//! (`ESCALATED_DATABASE__URL`). Every key is documented in the shipped `escalated.toml`.
//!
//! Unknown keys and wrongly-typed values fail at start, and the error names the key, so a typo in
//! production is a refusal to start rather than a silently ignored setting.

use std::{fmt, net::SocketAddr, path::Path};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

/// Where the settings file is looked for when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "escalated.toml";

/// Environment variables named `ESCALATED_<SECTION>__<KEY>` are settings.
pub const ENV_PREFIX: &str = "ESCALATED_";

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub api: ApiConfig,
    pub auth: AuthConfig,
    pub database: DatabaseConfig,
    pub tickets: TicketsConfig,
    pub sla: SlaConfig,
    pub jobs: JobsConfig,
    pub scripts: ScriptsConfig,
    pub plugins: PluginsConfig,
    pub webhooks: WebhooksConfig,
    pub attachments: AttachmentsConfig,
    pub email: EmailConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// The URL clients reach this server at, for absolute links (e.g. the live stream URL).
    /// Empty means `http://{bind}`.
    pub public_url: String,
    /// Take the client IP from the last `X-Forwarded-For` entry, the one the proxy adds (only
    /// behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Browser origins (`https://app.example.com`) allowed to call the API from another
    /// origin; they get CORS headers, and their preflight `OPTIONS` is answered without a
    /// token. Empty: no CORS headers at all.
    pub cors_origins: Vec<String>,
    /// How long a client has to send a request's head, and again its body (ms). Waiting for the
    /// next request's head on a kept-alive connection counts as sending a head.
    pub header_timeout_ms: u64,
    /// A connection on which nothing is sent or received for this long is closed.
    pub keep_alive_secs: u64,
    /// Most connections open at once; further ones wait to be accepted.
    pub max_connections: usize,
    /// How often freed memory is handed back to the system (seconds; 0: never). See
    /// `server::memory`.
    pub release_memory_seconds: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            trust_forwarded_for: false,
            max_body_bytes: 1024 * 1024,
            cors_origins: Vec::new(),
            header_timeout_ms: 10_000,
            keep_alive_secs: 60,
            max_connections: 512,
            release_memory_seconds: 1,
        }
    }
}

impl ServerConfig {
    /// The public base URL, without a trailing slash.
    pub fn base_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.bind)
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Path prefix of every endpoint.
    pub prefix: String,
    /// Requests per minute per token, unless the token has its own limit.
    pub rate_limit: u32,
    /// Requests per minute per client IP for requests without a valid token.
    pub unauthenticated_rate_limit: u32,
    /// How long the answer to a request with an `Idempotency-Key` is kept for its retries.
    pub idempotency_hours: u32,
    /// Most replies, notes and activities one page of the change feed carries, all its
    /// tickets together (a page ends early rather than pass it; see `domain::tickets::feed`).
    pub feed_page_entries: i64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            prefix: "/support/api/v1".into(),
            rate_limit: 60,
            unauthenticated_rate_limit: 60,
            idempotency_hours: 24,
            feed_page_entries: 5_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a token lookup is served from memory. Changes made through this server take
    /// effect at once; this bounds how long another node may serve a stale entry.
    pub token_cache_seconds: u64,
    /// Most token lookups kept in memory.
    pub token_cache_capacity: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_cache_seconds: 10,
            token_cache_capacity: 100_000,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (created when missing) or `mysql://USER:PASSWORD@HOST:PORT/DATABASE`.
    pub url: String,
    /// The most pooled connections; 0: by database (`store::pool_size`).
    pub max_connections: u32,
    /// A list total or search match set that took this long (ms) to compute is served after
    /// this server's own writes while one background recount runs (see `store::remembered`).
    pub slow_count_ms: u64,
    /// Longest wait for a pooled connection (ms); past it the request is 503, so an
    /// unreachable database fails requests quickly instead of letting them hang.
    pub acquire_timeout_ms: u64,
    /// MySQL only: how long a statement waits for another transaction's row lock, in seconds
    /// (`innodb_lock_wait_timeout` on each connection); past it the request is 503.
    pub lock_wait_seconds: u32,
    /// SQLite only: the memory SQLite itself may hold, all connections together (MiB; its
    /// soft heap limit). Past it each connection's page cache gives back its least recently
    /// used pages instead of growing; 0 lets every connection keep its own 2 MiB cache.
    pub sqlite_heap_mib: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://escalated.db".into(),
            max_connections: 0,
            slow_count_ms: 50,
            acquire_timeout_ms: 3000,
            // MariaDB's own default.
            lock_wait_seconds: 50,
            // Holds the server at about 100 MiB through the load harness at a million tickets,
            // 8 MiB below 24, which reads a little faster (docs/performance.md, "Server memory").
            sqlite_heap_mib: 16,
        }
    }
}

/// The URL may carry a password: it never reaches a log through `Debug`.
impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("slow_count_ms", &self.slow_count_ms)
            .field("acquire_timeout_ms", &self.acquire_timeout_ms)
            .field("lock_wait_seconds", &self.lock_wait_seconds)
            .field("sqlite_heap_mib", &self.sqlite_heap_mib)
            .finish()
    }
}

/// `https://app.example.com` or `http://localhost:3000`: what a browser sends as `Origin`.
fn is_origin(origin: &str) -> bool {
    let Some((scheme, host)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// `mysql://user:secret@host/db` → `mysql://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TicketsConfig {
    /// References look like `{prefix}-00042`.
    pub reference_prefix: String,
    /// Resolved tickets close by themselves after this many days; 0 never.
    pub auto_close_resolved_after_days: u32,
    /// Activities older than this many days are deleted; 0 keeps them forever.
    pub purge_activities_after_days: u32,
    /// Replaces rows of the status state machine: status → statuses it may move to. Statuses
    /// not named keep the contract's transitions.
    pub transitions: std::collections::BTreeMap<String, Vec<String>>,
    /// Keeps the words of every ticket in memory (built when the server starts), so a search's
    /// exact total and page plan take no pass over its matches (`store::word_index`). It costs
    /// about 20 MiB a million tickets of the harness's text; off, the database's full-text
    /// index answers every search.
    pub search_index: bool,
}

impl Default for TicketsConfig {
    fn default() -> Self {
        Self {
            reference_prefix: "ESC".into(),
            auto_close_resolved_after_days: 7,
            purge_activities_after_days: 365,
            transitions: Default::default(),
            search_index: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// `sla.warning` is sent once this many minutes before a target is due.
    pub warning_minutes: u32,
    /// The SLA clock stops while a ticket is `waiting_on_customer`, and its due times move
    /// later by the pause when it leaves that status.
    pub pause_while_waiting_on_customer: bool,
}

impl Default for SlaConfig {
    fn default() -> Self {
        Self {
            warning_minutes: 30,
            pause_while_waiting_on_customer: true,
        }
    }
}

/// How often `serve` runs each scheduled job, in seconds; 0 turns a job off in `serve` (it can
/// still be run by hand with `escalated jobs NAME`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    pub check_sla_seconds: u64,
    pub close_resolved_seconds: u64,
    pub run_automations_seconds: u64,
    pub purge_activities_seconds: u64,
    pub purge_idempotency_keys_seconds: u64,
    pub purge_attachments_seconds: u64,
    pub roll_up_reports_seconds: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            check_sla_seconds: 60,
            close_resolved_seconds: 3600,
            run_automations_seconds: 300,
            purge_activities_seconds: 86_400,
            purge_idempotency_keys_seconds: 3600,
            purge_attachments_seconds: 3600,
            roll_up_reports_seconds: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScriptsConfig {
    /// Folder of script files (`macros/`, `actions/`, `automations/` inside, `*.rhai` each),
    /// loaded at start and on every change (`domain::script_files`).
    pub dir: String,
    /// Most operations one script run may take.
    pub max_operations: u64,
    /// Deepest nesting of function calls.
    pub max_call_levels: usize,
    /// Deepest nesting of expressions, checked when a script compiles.
    pub max_expr_depth: usize,
    /// Longest string a script may build, in bytes.
    pub max_string_size: usize,
    /// Most items in an array a script builds.
    pub max_array_size: usize,
    /// Most entries in an object map a script builds.
    pub max_map_size: usize,
    /// Longest wall-clock time one script run may take, in milliseconds.
    pub timeout_ms: u64,
    /// Most memory one run may hold at once, in bytes: strings, arrays and maps together.
    pub max_memory_bytes: u64,
    /// Most runs executing at once; others wait for a place. 0: twice the CPU cores.
    pub max_concurrent: usize,
    /// Compiled scripts kept in memory.
    pub cache_capacity: u64,
}

impl ScriptsConfig {
    /// How many runs may execute at once (`max_concurrent`, 0 read as twice the cores).
    pub fn concurrency(&self) -> usize {
        match self.max_concurrent {
            0 => 2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

impl Default for ScriptsConfig {
    fn default() -> Self {
        Self {
            dir: "scripts".into(),
            max_operations: 100_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_string_size: 100_000,
            max_array_size: 10_000,
            max_map_size: 10_000,
            timeout_ms: 1000,
            max_memory_bytes: 64 * 1024 * 1024,
            max_concurrent: 0,
            cache_capacity: 1000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Folder whose dynamic libraries are loaded as plugins at start.
    pub dir: String,
    /// Longest a plugin call may take before its request answers 500, in milliseconds.
    pub timeout_ms: u64,
    /// Refuse to start when a plugin in `dir` cannot be loaded (`serve --strict-plugins`).
    pub strict: bool,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            dir: "plugins/installed".into(),
            timeout_ms: 5000,
            strict: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Allow endpoints on loopback, private and link-local addresses (off: SSRF protection).
    pub allow_private: bool,
    /// Longest wait for an endpoint's answer, in seconds.
    pub timeout_seconds: u64,
    /// Attempts per delivery before it is marked failed.
    pub max_attempts: u32,
    /// Wait before the first retry, in milliseconds; it doubles with each further retry.
    pub retry_base_ms: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout_seconds: 10,
            max_attempts: 8,
            retry_base_ms: 2000,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttachmentsConfig {
    /// Where files are kept: `file://DIR` (a local directory, relative to the working directory
    /// unless absolute: `file:///var/lib/escalated`) or `s3://BUCKET/PREFIX` (any S3-compatible
    /// store; several nodes share it).
    pub store: String,
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// Types accepted, as sniffed from the content (`image/png`, `application/pdf`, ...).
    /// Executables are refused whatever this says.
    pub allowed_types: Vec<String>,
    /// S3: the endpoint URL of a store other than AWS (`http://127.0.0.1:9000`); empty for AWS.
    pub s3_endpoint: String,
    /// S3: the region.
    pub s3_region: String,
    /// S3: credentials; empty to take them from the environment (`AWS_ACCESS_KEY_ID`, ...).
    pub s3_access_key_id: String,
    pub s3_secret_access_key: String,
    /// S3: allow a plain-HTTP endpoint (a store on the local network or in tests).
    pub s3_allow_http: bool,
}

impl Default for AttachmentsConfig {
    fn default() -> Self {
        Self {
            store: "file://attachments".into(),
            max_bytes: 20 * 1024 * 1024,
            allowed_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "image/bmp",
                "image/tiff",
                "image/heif",
                "application/pdf",
                "text/plain",
                "application/zip",
                "application/gzip",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "application/vnd.oasis.opendocument.text",
                "application/vnd.oasis.opendocument.spreadsheet",
                "audio/mpeg",
                "video/mp4",
            ]
            .map(String::from)
            .to_vec(),
            s3_endpoint: String::new(),
            s3_region: "us-east-1".into(),
            s3_access_key_id: String::new(),
            s3_secret_access_key: String::new(),
            s3_allow_http: false,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// The shared secret of `POST {prefix}/inbound/email` (`Authorization: Bearer <secret>`);
    /// empty turns the route off (404). At least 16 characters.
    pub inbound_secret: String,
    /// Largest inbound message accepted, in bytes (413 beyond).
    pub max_message_bytes: usize,
    /// Messages one sender may have turned into tickets or replies per hour; later ones are
    /// recorded and ignored.
    pub per_sender_per_hour: u32,
    /// `smtp://host:port` (STARTTLS when offered), `smtps://host:port` (TLS) or
    /// `smtp://user:password@host:port?tls=required`; empty sends nothing.
    pub smtp_url: String,
    /// The sender of notifications, `Name <address>` or an address.
    pub from: String,
    /// Where answers go (`Reply-To`): the address whose mail reaches the inbound route. Empty:
    /// `from`.
    pub reply_to: String,
    /// Folder of template files overriding the built-in ones (`ticket_created.txt`,
    /// `agent_reply.txt`, `assigned.txt`, and the HTML parts `ticket_created.html`,
    /// `agent_reply.html`, `assigned.html`); empty or a missing file uses the built-in one.
    pub templates_dir: String,
    /// Attempts per notification before it is marked failed.
    pub max_attempts: u32,
    /// Wait before the first retry, in milliseconds; it doubles with each further retry.
    pub retry_base_ms: u64,
    /// Longest wait for the SMTP server, in seconds.
    pub timeout_seconds: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            inbound_secret: String::new(),
            max_message_bytes: 25 * 1024 * 1024,
            per_sender_per_hour: 30,
            smtp_url: String::new(),
            from: "Escalated <support@localhost>".into(),
            reply_to: String::new(),
            templates_dir: String::new(),
            max_attempts: 8,
            retry_base_ms: 2000,
            timeout_seconds: 30,
        }
    }
}

/// The secret key never reaches a log through `Debug`.
impl fmt::Debug for AttachmentsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentsConfig")
            .field("store", &self.store)
            .field("max_bytes", &self.max_bytes)
            .field("allowed_types", &self.allowed_types)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field("s3_secret_access_key", &"***")
            .field("s3_allow_http", &self.s3_allow_http)
            .finish()
    }
}

/// The secret and the SMTP password never reach a log through `Debug`.
impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailConfig")
            .field("inbound_secret", &"***")
            .field("smtp_url", &redact_url(&self.smtp_url))
            .field("from", &self.from)
            .field("reply_to", &self.reply_to)
            .field("templates_dir", &self.templates_dir)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `GET /metrics` to anyone, without a token (else a token with the `admin`
    /// ability is needed).
    pub public: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `escalated=debug,sqlx=warn`, ...
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("invalid configuration: {key}: {reason}")]
    Value { key: &'static str, reason: String },
}

impl Config {
    /// Reads the layers. `explicit_file` is `--config`; it must exist, whereas the default
    /// `escalated.toml` is optional.
    pub fn load(explicit_file: Option<&Path>) -> Result<Self, ConfigError> {
        let file = match explicit_file {
            Some(path) if !path.exists() => {
                return Err(ConfigError::MissingFile(path.display().to_string()));
            }
            Some(path) => path.to_path_buf(),
            None => Path::new(DEFAULT_CONFIG_FILE).to_path_buf(),
        };
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            // Only `SECTION__KEY` variables are settings; other ESCALATED_* names are left alone.
            .merge(
                Env::prefixed(ENV_PREFIX)
                    .filter(|key| key.as_str().contains("__"))
                    .split("__"),
            )
            .extract()
            .map_err(|err| ConfigError::Invalid(describe_figment_error(err)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot say. The settings another module parses (the transition
    /// table, the attachment store's location) are checked by that module's parser, in
    /// `app::load_config`, since this module sits below them all.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key, reason: &str| {
            Err(ConfigError::Value {
                key,
                reason: reason.to_string(),
            })
        };
        let prefix = &self.api.prefix;
        if !prefix.starts_with('/') || prefix.ends_with('/') && prefix.len() > 1 {
            return fail(
                "api.prefix",
                "must start with '/' and not end with '/' (e.g. /support/api/v1)",
            );
        }
        if self.api.rate_limit == 0 {
            return fail("api.rate_limit", "must be at least 1");
        }
        if self.api.unauthenticated_rate_limit == 0 {
            return fail("api.unauthenticated_rate_limit", "must be at least 1");
        }
        if !(1..=720).contains(&self.api.idempotency_hours) {
            return fail("api.idempotency_hours", "must be between 1 and 720");
        }
        if !(1..=1_000_000).contains(&self.api.feed_page_entries) {
            return fail("api.feed_page_entries", "must be between 1 and 1000000");
        }
        if !(self.database.url.starts_with("sqlite:") || self.database.url.starts_with("mysql:")) {
            return fail(
                "database.url",
                "must start with sqlite: or mysql: (e.g. sqlite://escalated.db)",
            );
        }
        if !(100..=600_000).contains(&self.database.acquire_timeout_ms) {
            return fail(
                "database.acquire_timeout_ms",
                "must be between 100 and 600000",
            );
        }
        if !(1..=3600).contains(&self.database.lock_wait_seconds) {
            return fail("database.lock_wait_seconds", "must be between 1 and 3600");
        }
        if !(self.database.sqlite_heap_mib == 0
            || (4..=65_536).contains(&self.database.sqlite_heap_mib))
        {
            return fail(
                "database.sqlite_heap_mib",
                "must be 0 (no limit) or between 4 and 65536",
            );
        }
        let reference = &self.tickets.reference_prefix;
        if reference.is_empty()
            || reference.len() > 10
            || !reference.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return fail(
                "tickets.reference_prefix",
                "must be 1 to 10 ASCII letters or digits",
            );
        }
        if self.server.max_body_bytes < 1024 {
            return fail("server.max_body_bytes", "must be at least 1024");
        }
        if !(100..=600_000).contains(&self.server.header_timeout_ms) {
            return fail("server.header_timeout_ms", "must be between 100 and 600000");
        }
        if !(1..=86_400).contains(&self.server.keep_alive_secs) {
            return fail("server.keep_alive_secs", "must be between 1 and 86400");
        }
        if self.server.max_connections == 0 {
            return fail("server.max_connections", "must be at least 1");
        }
        if let Some(origin) = self.server.cors_origins.iter().find(|o| !is_origin(o)) {
            return Err(ConfigError::Value {
                key: "server.cors_origins",
                reason: format!(
                    "{origin:?} is not an origin: scheme://host[:port], without a path (e.g. https://app.example.com)"
                ),
            });
        }
        if !(10..=600_000).contains(&self.plugins.timeout_ms) {
            return fail("plugins.timeout_ms", "must be between 10 and 600000");
        }
        if !(1..=300).contains(&self.webhooks.timeout_seconds) {
            return fail("webhooks.timeout_seconds", "must be between 1 and 300");
        }
        if !(1..=50).contains(&self.webhooks.max_attempts) {
            return fail("webhooks.max_attempts", "must be between 1 and 50");
        }
        if !(10..=3_600_000).contains(&self.webhooks.retry_base_ms) {
            return fail("webhooks.retry_base_ms", "must be between 10 and 3600000");
        }
        self.email
            .check()
            .map_err(|(key, reason)| ConfigError::Value {
                key,
                reason: reason.to_string(),
            })?;
        let scripts = &self.scripts;
        if scripts.max_operations == 0
            || scripts.max_call_levels == 0
            || scripts.max_expr_depth == 0
        {
            return fail(
                "scripts",
                "max_operations, max_call_levels and max_expr_depth must be at least 1",
            );
        }
        if !(1..=600_000).contains(&scripts.timeout_ms) {
            return fail("scripts.timeout_ms", "must be between 1 and 600000");
        }
        if !((1 << 20)..=(1 << 40)).contains(&scripts.max_memory_bytes) {
            return fail(
                "scripts.max_memory_bytes",
                "must be between 1048576 (1 MiB) and 1099511627776",
            );
        }
        if scripts.max_concurrent > 10_000 {
            return fail("scripts.max_concurrent", "must be at most 10000");
        }
        let attachments = &self.attachments;
        if !(1..=(1 << 40)).contains(&attachments.max_bytes) {
            return fail(
                "attachments.max_bytes",
                "must be between 1 and 1099511627776",
            );
        }
        if attachments.allowed_types.iter().any(|t| {
            t.split_once('/')
                .is_none_or(|(a, b)| a.is_empty() || b.is_empty() || t.len() > 255)
        }) {
            return fail(
                "attachments.allowed_types",
                "each entry must be a media type such as image/png",
            );
        }
        if let Err(err) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return fail("log.level", &err.to_string());
        }
        Ok(())
    }
}

impl EmailConfig {
    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if !self.inbound_secret.is_empty() && self.inbound_secret.chars().count() < 16 {
            return Err((
                "email.inbound_secret",
                "must be empty (off) or at least 16 characters",
            ));
        }
        if !(1024..=100 * 1024 * 1024).contains(&self.max_message_bytes) {
            return Err((
                "email.max_message_bytes",
                "must be between 1024 and 104857600",
            ));
        }
        if self.per_sender_per_hour == 0 {
            return Err(("email.per_sender_per_hour", "must be at least 1"));
        }
        if !(self.smtp_url.is_empty()
            || self.smtp_url.starts_with("smtp://")
            || self.smtp_url.starts_with("smtps://"))
        {
            return Err((
                "email.smtp_url",
                "must be empty or start with smtp:// or smtps://",
            ));
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(("email.from", "must be an address or `Name <address>`"));
        }
        if !self.reply_to.is_empty() && self.reply_to.parse::<lettre::message::Mailbox>().is_err() {
            return Err((
                "email.reply_to",
                "must be empty or an address or `Name <address>`",
            ));
        }
        if !(1..=50).contains(&self.max_attempts) {
            return Err(("email.max_attempts", "must be between 1 and 50"));
        }
        if !(10..=3_600_000).contains(&self.retry_base_ms) {
            return Err(("email.retry_base_ms", "must be between 10 and 3600000"));
        }
        if !(1..=300).contains(&self.timeout_seconds) {
            return Err(("email.timeout_seconds", "must be between 1 and 300"));
        }
        Ok(())
    }
}

/// Figment's message names the key path and the source (file or variable); keep all of it, one
/// line per error.
fn describe_figment_error(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let mut line = if key.is_empty() {
                e.kind.to_string()
            } else {
                format!("{key}: {}", e.kind)
            };
            if let Some(source) = e.metadata.as_ref().and_then(|m| m.source.as_ref()) {
                line.push_str(&format!(" (from {source})"));
            } else if let Some(meta) = &e.metadata {
                // Figment says only "environment variable(s)"; name the one to fix.
                if meta.name.contains("environment variable") && !e.path.is_empty() {
                    let var = format!("{ENV_PREFIX}{}", e.path.join("__")).to_ascii_uppercase();
                    line.push_str(&format!(" (from the environment variable {var})"));
                } else {
                    line.push_str(&format!(" (from {})", meta.name));
                }
            }
            line
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password_in_database_url() {
        assert_eq!(
            redact_url("mysql://root:hunter2@db:3306/x"),
            "mysql://root:***@db:3306/x"
        );
        assert_eq!(redact_url("sqlite://a.db"), "sqlite://a.db");
    }
}
