//! RFC 9457 problem details, for clients that ask for them with
//! `Accept: application/problem+json` (contract §9.1).
//!
//! Errors are made in one shape everywhere (the envelope of [`super::errors`]: the guard, the
//! endpoints, the framework's own failures, the plugins); this outermost layer restates an error
//! answer as a problem when the request asked for one, so every source is covered by one rule.

use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, StatusCode, header},
};
use serde_json::{Map, Value, json};

pub const CONTENT_TYPE: &str = "application/problem+json";

/// Does the request's `Accept` name `application/problem+json` (with any parameters)?
fn wants_problem(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|range| {
            range
                .split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case(CONTENT_TYPE))
        })
}

/// The envelope `{"message", "code", "errors"?}` as a problem: `type` is `about:blank` (the
/// status says what kind of problem it is; `code` says it precisely), `title` the status's
/// reason phrase, `detail` the envelope's message.
fn restate(status: StatusCode, envelope: &Map<String, Value>) -> Value {
    let mut problem = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": envelope.get("message").cloned().unwrap_or(Value::Null),
        "code": envelope.get("code").cloned().unwrap_or(Value::Null),
    });
    if let Some(errors) = envelope.get("errors") {
        problem["errors"] = errors.clone();
    }
    problem
}

/// Middleware (an `around` function): restates error answers as problems when asked.
pub async fn negotiate<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let wants = wants_problem(&request);
    let response = next.call(request).await?.into_response();
    let status = response.status();
    if !wants || !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let (mut parts, body) = response.into_parts();
    // Error bodies are small envelopes made by this server, so reading one whole is cheap.
    let bytes = body.into_bytes().await.unwrap_or_default();
    let problem = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(envelope)) => restate(status, &envelope),
        _ => return Ok(Response::from_parts(parts, bytes.into())),
    };
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok(Response::from_parts(parts, problem.to_string().into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(accept: &str) -> Request {
        Request::builder().header(header::ACCEPT, accept).finish()
    }

    #[test]
    fn problem_json_is_recognised_among_other_media_ranges() {
        assert!(wants_problem(&request("application/problem+json")));
        assert!(wants_problem(&request(
            "application/json, application/problem+json;q=0.9"
        )));
        assert!(wants_problem(&request("Application/Problem+JSON")));
        assert!(!wants_problem(&request("application/json")));
        assert!(!wants_problem(&request("*/*")));
        assert!(!wants_problem(&Request::default()));
    }

    #[test]
    fn the_envelope_becomes_a_problem_with_every_field() {
        let envelope = json!({
            "message": "Validation failed.",
            "code": "validation_failed",
            "errors": {"subject": "The subject field is required."}
        });
        let problem = restate(
            StatusCode::UNPROCESSABLE_ENTITY,
            envelope.as_object().unwrap(),
        );
        assert_eq!(
            problem,
            json!({
                "type": "about:blank",
                "title": "Unprocessable Entity",
                "status": 422,
                "detail": "Validation failed.",
                "code": "validation_failed",
                "errors": {"subject": "The subject field is required."}
            })
        );
    }
}
