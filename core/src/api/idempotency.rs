//! The `Idempotency-Key` middleware (contract §9.3; the rules are in `domain::idempotency`).
//!
//! It runs behind the guard, so the caller is known and a replay is authenticated, authorised
//! and rate limited like any request. For a keyed POST, PATCH or DELETE it reads the body (to
//! recognise a retry by it), claims the key, runs the endpoint with the claim visible to its
//! write transactions, and keeps the answer; a retry gets that answer with
//! `Idempotent-Replayed: true`.

use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
};

use super::errors;
use crate::{
    app::AppState,
    auth::Principal,
    domain::idempotency::{self, Answer, Claim, KEPT_HEADERS, scope},
    time,
};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

pub struct Idempotency {
    state: AppState,
}

impl Idempotency {
    pub fn new(state: AppState) -> Self {
        Idempotency { state }
    }
}

impl<E: Endpoint> Middleware<E> for Idempotency {
    type Output = IdempotencyEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        IdempotencyEndpoint {
            inner,
            state: self.state.clone(),
        }
    }
}

pub struct IdempotencyEndpoint<E> {
    inner: E,
    state: AppState,
}

impl<E: Endpoint> Endpoint for IdempotencyEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let keyed = matches!(*req.method(), Method::POST | Method::PATCH | Method::DELETE)
            && req.headers().contains_key(HEADER);
        let caller = req.data::<Principal>().map(|p| p.user_id);
        let (true, Some(user_id)) = (keyed, caller) else {
            return Ok(run(&self.inner, req).await);
        };
        let key = match idempotency::parse_key(req.headers()[HEADER].as_bytes()) {
            Ok(key) => key.to_owned(),
            Err(err) => return Ok(poem::error::ResponseError::as_response(&err)),
        };
        let fingerprint = match self.fingerprint(&mut req).await {
            Ok(fingerprint) => fingerprint,
            Err(err) => return Ok(errors::envelope(err)),
        };
        let api = &self.state.config.api;
        let store = &self.state.store;
        let held = match idempotency::claim(
            store,
            user_id,
            &key,
            &fingerprint,
            time::now(),
            api.idempotency_hours,
        )
        .await
        {
            Ok(Claim::Run(held)) => held,
            Ok(Claim::Replay(answer)) => return Ok(replay(answer)),
            Err(err) => return Ok(poem::error::ResponseError::as_response(&err)),
        };
        let response = scope(held.marker.clone(), run(&self.inner, req)).await;
        if held.marker.lost() {
            // A concurrent duplicate committed first; this one's write was rolled back whole.
            return Ok(poem::error::ResponseError::as_response(
                &idempotency::in_progress(),
            ));
        }
        let (parts, body) = response.into_parts();
        let bytes = body.into_bytes().await.unwrap_or_default();
        let answer = String::from_utf8(bytes.to_vec()).ok().map(|body| Answer {
            status: parts.status.as_u16(),
            headers: KEPT_HEADERS
                .iter()
                .filter_map(|&name| {
                    let value = parts.headers.get(name)?.to_str().ok()?;
                    Some((name.to_owned(), value.to_owned()))
                })
                .collect(),
            body,
        });
        if let Err(err) = idempotency::finish(store, held, answer).await {
            // The answer still goes out; a retry finds the claim unfinished (409 until it is
            // abandoned, and never a second write once this one committed).
            tracing::warn!(error = %err, "could not keep the answer of an idempotent request");
        }
        Ok(Response::from_parts(parts, Body::from(bytes)))
    }
}

impl<E> IdempotencyEndpoint<E> {
    /// Reads the body within `server.max_body_bytes` to fingerprint the request, and puts it
    /// back for the endpoint. A body announced larger than that (an upload) is not held: it is
    /// recognised by its length and type instead.
    async fn fingerprint(&self, req: &mut Request) -> poem::Result<String> {
        let limit = self.state.config.server.max_body_bytes;
        let method = req.method().as_str().to_owned();
        // The whole path as the client sent it (routes nested under the prefix see less).
        let uri = req.original_uri();
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if announced.is_some_and(|length| length > limit) {
            let described = format!(
                "{}; length={}",
                req.content_type().unwrap_or_default(),
                announced.unwrap_or_default()
            );
            return Ok(idempotency::fingerprint(
                &method,
                &target,
                described.as_bytes(),
            ));
        }
        let body = req.take_body().into_bytes_limit(limit).await?;
        let fingerprint = idempotency::fingerprint(&method, &target, &body);
        req.set_body(body);
        Ok(fingerprint)
    }
}

async fn run<E: Endpoint>(inner: &E, req: Request) -> Response {
    match inner.call(req).await {
        Ok(response) => response.into_response(),
        Err(err) => errors::envelope(err),
    }
}

fn replay(answer: Answer) -> Response {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK))
        .header(REPLAYED, "true")
        .body(answer.body);
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
