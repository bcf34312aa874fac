//! CORS for the origins in `server.cors_origins` (contract §9.4), with poem's `Cors`.
//!
//! A request from a listed origin goes through `Cors`: it gets the CORS headers, and its
//! preflight `OPTIONS` is answered there, before the guard asks for a token (a browser never
//! sends credentials with a preflight). Any other request passes by untouched: without CORS
//! headers a browser on another origin cannot read the answer, while clients that are not
//! browsers, and the docs page on the server's own origin, are served as before. (poem's
//! `Cors` alone would refuse every unlisted `Origin` with 403.)

use std::{collections::HashSet, sync::Arc};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response,
    http::header,
    middleware::{Cors, CorsEndpoint},
};

/// Headers a browser script may read from an answer.
const EXPOSED: [&str; 10] = [
    "location",
    "etag",
    "retry-after",
    "x-request-id",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit",
    "ratelimit-policy",
    "content-disposition",
];

/// How long a browser may reuse a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: i32 = 600;

pub struct ListedOrigins {
    origins: Arc<HashSet<String>>,
}

impl ListedOrigins {
    pub fn new(origins: &[String]) -> ListedOrigins {
        ListedOrigins {
            origins: Arc::new(origins.iter().cloned().collect()),
        }
    }
}

impl<E: Endpoint> Middleware<Arc<E>> for ListedOrigins {
    type Output = ListedOriginsEndpoint<E>;

    fn transform(&self, inner: Arc<E>) -> Self::Output {
        let cors = Cors::new()
            .allow_origins(self.origins.iter().map(String::as_str))
            .expose_headers(EXPOSED)
            .max_age(PREFLIGHT_MAX_AGE);
        ListedOriginsEndpoint {
            cors: cors.transform(inner.clone()),
            inner,
            origins: self.origins.clone(),
        }
    }
}

pub struct ListedOriginsEndpoint<E> {
    inner: Arc<E>,
    cors: CorsEndpoint<Arc<E>>,
    origins: Arc<HashSet<String>>,
}

impl<E: Endpoint> Endpoint for ListedOriginsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let listed = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|origin| origin.to_str().ok())
            .is_some_and(|origin| self.origins.contains(origin));
        if listed {
            self.cors.call(req).await
        } else {
            self.inner.call(req).await.map(IntoResponse::into_response)
        }
    }
}
