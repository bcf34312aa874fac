//! The one error design of the server.
//!
//! Every operation returns [`Error`]. Its variants are the outcomes a client can act on, each
//! with a message written for that client; anything else is [`Error::Internal`], whose cause is
//! logged and never shown (the client sees `Server error.`). `api::errors` is the only place that
//! turns these into HTTP responses.

use std::collections::BTreeMap;

/// Per-field messages of a failed validation, in a stable (sorted) order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a message for `field`; the first message for a field wins.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    /// `Ok(())` when nothing was recorded, else the validation error.
    pub fn into_result(self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self))
        }
    }

    /// Runs a parse step, recording its failure under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }
}

/// What is wrong with the credentials of a request that has no usable ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// No `Authorization: Bearer ...` at all.
    Missing,
    /// A token that is not known (or revoked).
    InvalidToken,
    /// A known token past its `expires_at`.
    Expired,
    /// The inbound email secret does not match.
    InvalidSecret,
}

impl Credentials {
    pub fn message(self) -> &'static str {
        match self {
            Credentials::Missing => "Unauthenticated.",
            Credentials::InvalidToken => "Invalid token.",
            Credentials::Expired => "Token has expired.",
            Credentials::InvalidSecret => "Invalid secret.",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request body is not JSON.
    #[error("Invalid JSON.")]
    InvalidJson,
    /// No usable credentials; which case is told to the client (`Unauthenticated.`,
    /// `Invalid token.`, `Token has expired.`).
    #[error("{}", .0.message())]
    Unauthenticated(Credentials),
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Allowed, but the thing cannot be changed this way (403): a script loaded from a file.
    /// The message says where to change it.
    #[error("{0}")]
    ReadOnly(String),
    /// The thing addressed does not exist (or is not visible): `Ticket not found.`
    #[error("{0}")]
    NotFound(String),
    #[error("Validation failed.")]
    Validation(FieldErrors),
    /// Validation-shaped failure with its own headline (e.g. `Macro failed.`).
    #[error("{message}")]
    Rejected {
        message: String,
        errors: FieldErrors,
    },
    /// Larger than a limit allows (413): an upload over `attachments.max_bytes`.
    #[error("{0}")]
    TooLarge(String),
    /// The body's media type is not one the endpoint reads (415): a JSON body sent to an upload.
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("Too many requests.")]
    TooManyRequests,
    /// The request collides with another one (409): an idempotency key still in use.
    /// `retry_after` is when trying again makes sense, in seconds.
    #[error("{message}")]
    Conflict {
        message: String,
        retry_after: Option<u64>,
    },
    /// An `If-Match` precondition does not hold (412): the resource changed since it was read.
    #[error("Precondition failed.")]
    PreconditionFailed,
    /// The request body stopped arriving: not all of it came within `server.header_timeout_ms`
    /// of the head (408).
    #[error("Request timeout: the body did not arrive in time.")]
    BodyTimeout,
    /// The database cannot be reached now, or a statement waited too long for a lock (503,
    /// with `Retry-After`); the cause is logged.
    #[error("Service unavailable.")]
    Unavailable,
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// A validation error on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.add(field, message);
        Error::Validation(errors)
    }

    pub fn not_found(what: &str) -> Self {
        Error::NotFound(format!("{what} not found."))
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match err {
            // No connection to be had, or the one in use went away: the database is down or
            // unreachable, which a client should retry later, not a fault of the request.
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => {
                tracing::warn!(error = %err, "database unavailable");
                Error::Unavailable
            }
            // Waited past `database.lock_wait_seconds` for another transaction's row lock, or
            // a Galera node could not catch up in time: busy now, worth retrying later.
            err if is_lock_wait_timeout(&err) => {
                tracing::warn!(error = %err, "database busy");
                Error::Unavailable
            }
            err => {
                if crate::conflicts::is_conflict(&err) {
                    // Rolled back whole; the request may be run again (`api::conflicts`).
                    crate::conflicts::note_conflict();
                }
                Error::Internal(anyhow::Error::new(err).context("database"))
            }
        }
    }
}

/// MySQL's error 1205, "Lock wait timeout exceeded"; the statement was rolled back.
fn is_lock_wait_timeout(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
        .is_some_and(|e| e.number() == 1205)
}

impl Error {
    /// Whether this is a serialization conflict (a deadlock, or a Galera certification
    /// failure): the transaction was rolled back whole (see `crate::conflicts`).
    pub fn is_conflict(&self) -> bool {
        match self {
            Error::Internal(cause) => {
                cause
                    .downcast_ref::<sqlx::Error>()
                    .is_some_and(crate::conflicts::is_conflict)
                    || cause
                        .downcast_ref::<crate::conflicts::LostTransaction>()
                        .is_some()
            }
            _ => false,
        }
    }
}

/// A conversion that cannot fail (a row read into its domain value), where one that can is
/// expected.
impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Internal(anyhow::Error::new(err).context("json"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
