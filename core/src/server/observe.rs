//! Counts every answer for `/metrics`, by route template, method and status, with its latency;
//! and gives a 405 the `Allow` header of its route, which the router does not add.

use std::{sync::Arc, time::Instant};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response,
    http::{HeaderValue, StatusCode, header},
};

use super::routes::{RouteTable, method_label};
use crate::{api::errors, metrics};

pub struct Observe {
    routes: Arc<RouteTable>,
}

impl Observe {
    pub fn new(routes: Arc<RouteTable>) -> Observe {
        Observe { routes }
    }
}

impl<E: Endpoint> Middleware<E> for Observe {
    type Output = ObserveEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ObserveEndpoint {
            inner,
            routes: self.routes.clone(),
        }
    }
}

pub struct ObserveEndpoint<E> {
    inner: E,
    routes: Arc<RouteTable>,
}

impl<E: Endpoint> Endpoint for ObserveEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let route = self.routes.find(req.uri().path());
        let method = method_label(req.method());
        let mut response = match self.inner.call(req).await {
            Ok(response) => response.into_response(),
            Err(err) => errors::envelope(err),
        };
        if response.status() == StatusCode::METHOD_NOT_ALLOWED
            && !response.headers().contains_key(header::ALLOW)
            && let Some(route) = route
        {
            let allow = route
                .methods
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(value) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
        }
        let template = route.map_or(super::routes::UNMATCHED, |r| r.template.as_str());
        metrics::request(
            template,
            method,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
        Ok(response)
    }
}
