//! The middleware in front of every API endpoint. In the contract's order: authenticate the
//! bearer token, check the route's ability and the owner's role, count the request against its
//! bucket; only then does the endpoint run (and find 404s and validation errors). Every response
//! it lets through or makes carries the rate-limit headers of the bucket that was charged.

use std::net::{IpAddr, Ipv4Addr};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response,
    http::{HeaderValue, header},
};

use super::errors;
use crate::{
    app::AppState,
    auth::{
        Principal, access,
        cache::CachedToken,
        rate_limit::{BucketKey, Quota},
    },
    domain::{roles::Role, tokens},
    error::{Credentials, Error},
    metrics,
};

pub struct Guard {
    state: AppState,
}

impl Guard {
    pub fn new(state: AppState) -> Self {
        Guard { state }
    }
}

impl<E: Endpoint> Middleware<E> for Guard {
    type Output = GuardEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        GuardEndpoint {
            inner,
            state: self.state.clone(),
        }
    }
}

pub struct GuardEndpoint<E> {
    inner: E,
    state: AppState,
}

impl<E: Endpoint> Endpoint for GuardEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        if access::authenticates_itself(req.uri().path()) {
            return Ok(match self.inner.call(req).await {
                Ok(resp) => resp.into_response(),
                Err(err) => errors::envelope(err),
            });
        }
        let state = &self.state;
        let ip = client_ip(&req, state.config.server.trust_forwarded_for);
        let now = state.clock.now();
        let (quota, verdict) = match self.authenticate(&req, now).await {
            Err(err) => {
                // No valid token: the client's address pays, so guessing is throttled too.
                let quota = state.limiter.hit(
                    BucketKey::Ip(ip),
                    state.config.api.unauthenticated_rate_limit,
                );
                if !quota.allowed {
                    metrics::rate_limited(metrics::Bucket::Ip);
                }
                (
                    quota,
                    Err(if quota.allowed {
                        err
                    } else {
                        Error::TooManyRequests
                    }),
                )
            }
            Ok(entry) => {
                let token = &entry.token;
                let limit = token
                    .rate_limit
                    .map(|l| l.clamp(1, u32::MAX as i64) as u32)
                    .unwrap_or(state.config.api.rate_limit);
                let requirement = access::route_requirement(
                    |method, rest| state.plugins.declared_ability(method, rest),
                    req.method(),
                    req.uri().path(),
                );
                let authorized = authorize(&entry, requirement);
                // Refusals count too: a 403 is charged to the token's bucket.
                let quota = state.limiter.hit(BucketKey::Token(token.id), limit);
                let verdict = match authorized {
                    Err(err) => Err(err),
                    Ok(()) if !quota.allowed => {
                        metrics::rate_limited(metrics::Bucket::Token);
                        Err(Error::TooManyRequests)
                    }
                    Ok(()) => {
                        self.record_use(&entry, now, ip);
                        req.set_data(principal(&entry));
                        Ok(())
                    }
                };
                (quota, verdict)
            }
        };
        let mut response = match verdict {
            Err(err) => poem::error::ResponseError::as_response(&err),
            Ok(()) => match self.inner.call(req).await {
                Ok(resp) => resp.into_response(),
                Err(err) => errors::envelope(err),
            },
        };
        apply_rate_headers(&mut response, &quota);
        Ok(response)
    }
}

impl<E> GuardEndpoint<E> {
    async fn authenticate(
        &self,
        req: &Request,
        now: i64,
    ) -> Result<std::sync::Arc<CachedToken>, Error> {
        let plain = bearer(req).ok_or(Error::Unauthenticated(Credentials::Missing))?;
        if !plain.starts_with(tokens::TOKEN_PREFIX) {
            return Err(Error::Unauthenticated(Credentials::InvalidToken));
        }
        let entry = self
            .state
            .tokens
            .lookup(plain)
            .await?
            .ok_or(Error::Unauthenticated(Credentials::InvalidToken))?;
        if entry.token.is_expired(now) {
            return Err(Error::Unauthenticated(Credentials::Expired));
        }
        Ok(entry)
    }

    /// `last_used_at` / `last_used_ip`, written off the request path at most once a minute.
    fn record_use(&self, entry: &CachedToken, now: i64, ip: IpAddr) {
        if entry.should_record_use(now) {
            let store = self.state.store.clone();
            let id = entry.token.id;
            tokio::spawn(async move {
                if let Err(err) = tokens::record_use(&store, id, now, &ip.to_string()).await {
                    tracing::warn!(token_id = id, error = %err, "could not record token use");
                }
            });
        }
    }
}

fn authorize(entry: &CachedToken, requirement: access::Requirement) -> Result<(), Error> {
    let owner = &entry.token;
    if !owner.user_is_active || !owner.user_role.is_staff() {
        return Err(Error::Forbidden("User no longer has agent access."));
    }
    let ability_ok = requirement
        .ability
        .is_none_or(|ability| entry.abilities.allows(ability));
    let role_ok = requirement.role != Role::Admin || owner.user_role == Role::Admin;
    if ability_ok && role_ok {
        Ok(())
    } else {
        Err(Error::Forbidden("Insufficient permissions."))
    }
}

fn principal(entry: &CachedToken) -> Principal {
    let t = &entry.token;
    Principal {
        user_id: t.user_id,
        name: t.user_name.clone(),
        email: t.user_email.clone(),
        role: t.user_role,
        token_id: t.id,
        token_name: t.name.clone(),
        ability_names: t.abilities.clone(),
        abilities: entry.abilities,
        token_expires_at: t.expires_at,
        token_last_used_at: Some(
            entry
                .last_recorded
                .load(std::sync::atomic::Ordering::Relaxed),
        )
        .filter(|&at| at > 0),
    }
}

/// The token of `Authorization: Bearer <token>`; the scheme is matched case-insensitively.
fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The peer's address, or behind a trusted proxy the last `X-Forwarded-For` entry: the one the
/// proxy itself added. Earlier entries are whatever the client sent, so trusting the first would
/// let a client pick a fresh per-IP bucket for every request.
pub fn client_ip(req: &Request, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for
        && let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    req.remote_addr()
        .as_socket_addr()
        .map(|addr| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The legacy `X-RateLimit-*` headers and the IETF fields
/// (draft-ietf-httpapi-ratelimit-headers-10); `Retry-After` on a 429.
fn apply_rate_headers(response: &mut Response, quota: &Quota) {
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("x-ratelimit-limit", quota.limit.to_string());
    put("x-ratelimit-remaining", quota.remaining.to_string());
    put("x-ratelimit-reset", quota.reset_seconds.to_string());
    put(
        "ratelimit-policy",
        format!("\"default\";q={};w=60", quota.limit),
    );
    put(
        "ratelimit",
        format!(
            "\"default\";r={};t={}",
            quota.remaining, quota.reset_seconds
        ),
    );
    if !quota.allowed {
        put("retry-after", quota.reset_seconds.to_string());
    }
}
