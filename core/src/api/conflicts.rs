//! Runs a write request again when the database rolled its transaction back to resolve a
//! conflict (a deadlock on MariaDB, a lost certification on Galera: error 1213, see
//! `crate::conflicts`), as long as none of its transactions had committed, so a second run
//! cannot write twice. After [`ATTEMPTS`] runs the answer is 503 with `Retry-After`.
//!
//! It sits inside the idempotency layer (a keyed request's claim stays while it runs again)
//! and holds the body, so it only takes bodies within `server.max_body_bytes` whose length is
//! announced (or none); a larger upload runs once, as before.

use std::time::Duration;

use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, RequestParts, Response,
    http::{Method, StatusCode, header},
    web::{LocalAddr, RemoteAddr},
};

use super::errors;
use crate::{app::AppState, conflicts, error::Error};

/// Runs of one request at most. Every ticket change writes the same two rows (the change
/// sequence and the outbox), so on Galera concurrent changes through different nodes conflict
/// often: tests/cluster/run.sh measured 12% of writes still conflicting after 5 runs with three
/// nodes under load, none after 10.
pub const ATTEMPTS: u32 = 10;

pub struct RetryConflicts {
    max_body: usize,
    enabled: bool,
}

impl RetryConflicts {
    pub fn new(state: &AppState) -> Self {
        RetryConflicts {
            max_body: state.config.server.max_body_bytes,
            // SQLite has one writer at a time and never answers with a conflict.
            enabled: state.store.may_conflict(),
        }
    }
}

impl<E: Endpoint> Middleware<E> for RetryConflicts {
    type Output = RetryConflictsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RetryConflictsEndpoint {
            inner,
            max_body: self.max_body,
            enabled: self.enabled,
        }
    }
}

pub struct RetryConflictsEndpoint<E> {
    inner: E,
    max_body: usize,
    enabled: bool,
}

impl<E: Endpoint> Endpoint for RetryConflictsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let writes = matches!(
            *req.method(),
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        );
        if !(self.enabled && writes && self.body_fits(&req)) {
            return Ok(run(&self.inner, req).await);
        }
        let head = Head::of(&req);
        let (parts, body) = req.into_parts();
        let body = match body.into_bytes_limit(self.max_body).await {
            Ok(body) => body,
            Err(err) => return Ok(errors::envelope(err.into())),
        };
        let mut attempt = 1;
        loop {
            let req = head.rebuild(&parts, Body::from(body.clone()));
            let (response, seen) = conflicts::attempt(run(&self.inner, req)).await;
            let again = response.status() == StatusCode::INTERNAL_SERVER_ERROR
                && seen.conflicted()
                && !seen.committed();
            if !again {
                if response.status() == StatusCode::INTERNAL_SERVER_ERROR && seen.conflicted() {
                    tracing::warn!("a write conflicted after an earlier commit; not run again");
                }
                return Ok(response);
            }
            if attempt == ATTEMPTS {
                crate::metrics::conflict_retry(true);
                tracing::warn!(
                    attempts = ATTEMPTS,
                    "a write kept conflicting; answered 503"
                );
                return Ok(poem::error::ResponseError::as_response(&Error::Unavailable));
            }
            crate::metrics::conflict_retry(false);
            // Spread the contenders apart: 5, 10, 20, 40, then 80 ms, each plus up to as much
            // again (at most about a second in all).
            let base = 5u64 << (attempt - 1).min(4);
            let wait = base + rand::random_range(0..=base);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            attempt += 1;
        }
    }
}

impl<E> RetryConflictsEndpoint<E> {
    /// A body this layer may hold: announced within the limit, or none at all.
    fn body_fits(&self, req: &Request) -> bool {
        let headers = req.headers();
        match headers.get(header::CONTENT_LENGTH) {
            Some(length) => length
                .to_str()
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .is_some_and(|length| length <= self.max_body),
            None => !headers.contains_key(header::TRANSFER_ENCODING),
        }
    }
}

/// What a request carries besides its head's fields, to build it again for another run.
struct Head {
    original_uri: poem::http::Uri,
    local: LocalAddr,
    remote: RemoteAddr,
    scheme: poem::http::uri::Scheme,
}

impl Head {
    fn of(req: &Request) -> Head {
        Head {
            original_uri: req.original_uri().clone(),
            local: req.local_addr().clone(),
            remote: req.remote_addr().clone(),
            scheme: req.scheme().clone(),
        }
    }

    /// The request as it reached this layer: its (nested) path, the client's whole URI (for
    /// `Location` and page links), its addresses and the data earlier layers attached.
    fn rebuild(&self, parts: &RequestParts, body: Body) -> Request {
        let mut head = poem::http::Request::new(());
        *head.method_mut() = parts.method.clone();
        *head.uri_mut() = self.original_uri.clone();
        *head.version_mut() = parts.version;
        *head.headers_mut() = parts.headers.clone();
        *head.extensions_mut() = parts.extensions.clone();
        let (head, ()) = head.into_parts();
        let mut rebuilt = RequestParts::from((
            head,
            self.local.clone(),
            self.remote.clone(),
            self.scheme.clone(),
        ));
        rebuilt.uri = parts.uri.clone();
        Request::from_parts(rebuilt, body)
    }
}

async fn run<E: Endpoint>(inner: &E, req: Request) -> Response {
    match inner.call(req).await {
        Ok(response) => response.into_response(),
        Err(err) => errors::envelope(err),
    }
}
