//! How errors reach clients: always `{"message": ..., "code": ..., "errors": {...}}` (contract
//! §3, §9.1), or the same as RFC 9457 problem details when asked for (see [`super::problem`]).
//!
//! Endpoints return [`ApiError`] (documented in OpenAPI); the framework's own failures (unknown
//! path, wrong method, a query parameter of the wrong type, a body too large) are reshaped by
//! [`envelope`] so no default error body of poem or poem-openapi ever leaks through.

use poem::{
    IntoResponse, Response,
    error::ResponseError,
    http::{StatusCode, header},
};
use poem_openapi::{
    ApiResponse,
    error::{ParseParamError, ParsePathError},
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ToJSON, Type},
};
use serde_json::json;

use crate::error::{Credentials, Error, FieldErrors};

/// What went wrong, for a program: stable across releases and languages, unlike `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum ErrorCode {
    Unauthenticated,
    InvalidToken,
    TokenExpired,
    Forbidden,
    NotFound,
    ValidationFailed,
    InvalidJson,
    RateLimited,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    ServiceUnavailable,
    ServerError,
}

impl ErrorCode {
    /// The code of an answer known only by its status: the framework's own failures, and
    /// errors a plugin answers.
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => ErrorCode::InvalidJson,
            401 => ErrorCode::Unauthenticated,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            409 => ErrorCode::Conflict,
            412 => ErrorCode::PreconditionFailed,
            // A head or URI too long is, like a body, more than the server takes.
            413 | 414 | 431 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::ServiceUnavailable,
            // Any other refusal (a plugin's 418, say) is the request's fault.
            402 | 406..=408 | 410 | 411 | 416..=428 | 430 | 432..=499 => {
                ErrorCode::ValidationFailed
            }
            _ => ErrorCode::ServerError,
        }
    }
}

/// The error body of every failed request.
#[derive(Debug, poem_openapi::Object)]
pub struct ErrorBody {
    /// What went wrong, for a person: `Validation failed.`, `Ticket not found.`
    pub message: String,
    /// What went wrong, for a program.
    pub code: ErrorCode,
    /// On 422 only: one message per offending field.
    pub errors: Option<std::collections::BTreeMap<String, String>>,
}

/// The same error as RFC 9457 problem details, answered to `Accept: application/problem+json`.
#[derive(Debug, poem_openapi::Object)]
pub struct Problem {
    /// Always `about:blank`: the status tells the kind of problem, `code` tells it precisely.
    #[oai(rename = "type")]
    pub kind: String,
    /// The status's reason phrase: `Unprocessable Entity`.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for a person (the envelope's `message`).
    pub detail: String,
    /// What went wrong, for a program.
    pub code: ErrorCode,
    /// On 422 only: one message per offending field.
    pub errors: Option<std::collections::BTreeMap<String, String>>,
}

impl Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::InvalidJson => StatusCode::BAD_REQUEST,
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::ReadOnly(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Validation(_) | Error::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Error::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Unauthenticated(Credentials::Missing) => ErrorCode::Unauthenticated,
            Error::Unauthenticated(Credentials::InvalidToken | Credentials::InvalidSecret) => {
                ErrorCode::InvalidToken
            }
            Error::Unauthenticated(Credentials::Expired) => ErrorCode::TokenExpired,
            Error::Validation(_) | Error::Rejected { .. } => ErrorCode::ValidationFailed,
            other => ErrorCode::for_status(other.status()),
        }
    }
}

pub(crate) fn body(
    status: StatusCode,
    code: ErrorCode,
    message: &str,
    errors: Option<&FieldErrors>,
) -> Response {
    let mut value = json!({ "message": message, "code": code.to_json() });
    if let Some(errors) = errors {
        value["errors"] = errors
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(value.to_string())
}

impl ResponseError for Error {
    fn status(&self) -> StatusCode {
        Error::status(self)
    }

    fn as_response(&self) -> Response {
        match self {
            Error::Internal(cause) => {
                // The cause chain goes to the log, never to the client. A conflict is expected
                // under contention: `api::conflicts` runs the request again, and logs when it
                // gives up or cannot.
                use crate::conflicts;
                if conflicts::in_attempt() && self.is_conflict() {
                    tracing::debug!(error = format!("{cause:#}"), "rolled back by a conflict");
                } else {
                    tracing::error!(error = format!("{cause:#}"), "request failed");
                }
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::ServerError,
                    "Server error.",
                    None,
                )
            }
            Error::Validation(errors) => body(
                self.status(),
                self.code(),
                "Validation failed.",
                Some(errors),
            ),
            Error::Rejected { message, errors } => {
                body(self.status(), self.code(), message, Some(errors))
            }
            Error::Unavailable => {
                let mut response = body(self.status(), self.code(), &self.to_string(), None);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER.into());
                response
            }
            Error::Conflict {
                message,
                retry_after,
            } => {
                let mut response = body(self.status(), self.code(), message, None);
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, (*seconds).into());
                }
                response
            }
            other => body(other.status(), other.code(), &other.to_string(), None),
        }
    }
}

/// What `err` answers, as parts: `(status, code, message, errors)`, for an answer that holds
/// several outcomes (a bulk request's). A server error's cause goes to the log only.
pub fn outcome(
    err: &Error,
) -> (
    u16,
    ErrorCode,
    String,
    Option<std::collections::BTreeMap<String, String>>,
) {
    let message = match err {
        Error::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "operation failed");
            "Server error.".to_string()
        }
        Error::Validation(_) => "Validation failed.".to_string(),
        Error::Rejected { message, .. } | Error::Conflict { message, .. } => message.clone(),
        other => other.to_string(),
    };
    let errors = match err {
        Error::Validation(errors) | Error::Rejected { errors, .. } => {
            Some(errors.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        _ => None,
    };
    (err.status().as_u16(), err.code(), message, errors)
}

/// Any error, as the contract's envelope.
pub fn envelope(err: poem::Error) -> Response {
    if let Some(own) = err.downcast_ref::<Error>() {
        return own.as_response();
    }
    if let Some(param) = err.downcast_ref::<ParseParamError>() {
        return body(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
            "Validation failed.",
            Some(&param_error(param.name)),
        );
    }
    if err.is::<ParsePathError>() {
        return body(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "Not found.",
            None,
        );
    }
    let status = err.status();
    let message = match status {
        StatusCode::NOT_FOUND => "Not found.",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed.",
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large.",
        StatusCode::BAD_REQUEST => "Bad request.",
        s if s.is_server_error() => {
            tracing::error!(error = %err, "request failed");
            "Server error."
        }
        s => s.canonical_reason().unwrap_or("Error."),
    };
    body(status, ErrorCode::for_status(status), message, None)
}

fn param_error(name: &str) -> FieldErrors {
    let mut errors = FieldErrors::new();
    errors.add(name, crate::domain::validate::invalid(name));
    errors
}

/// Seconds a client is asked to wait before retrying when the database is unreachable.
const UNAVAILABLE_RETRY_AFTER: u32 = 2;

/// The error statuses any endpoint may answer, with their documentation; each body also carries
/// its `code` (see [`ErrorCode`]).
pub const ERROR_STATUSES: [(u16, &str); 12] = [
    (400, "The body is not valid JSON (`Invalid JSON.`)."),
    (
        401,
        "No token, an unknown token, or an expired one (`Unauthenticated.`, `Invalid token.`, `Token has expired.`).",
    ),
    (
        403,
        "The token lacks the ability, or its owner's role does not allow this (`Insufficient permissions.`, `User no longer has agent access.`); or the resource is read-only (a script loaded from a file: the message names the file).",
    ),
    (404, "The addressed resource does not exist."),
    (
        408,
        "The request body did not arrive within `server.header_timeout_ms` of its head (`Request timeout: the body did not arrive in time.`); the connection is closed.",
    ),
    (
        409,
        "A request with the same `Idempotency-Key` is still running (`code: conflict`); see `Retry-After`.",
    ),
    (
        413,
        "The body is larger than the server takes (`server.max_body_bytes`; an upload over `attachments.max_bytes`).",
    ),
    (
        415,
        "The body's media type is not one this operation reads (an upload that is not `multipart/form-data`).",
    ),
    (
        422,
        "Validation failed; `errors` names each field with its message.",
    ),
    (
        429,
        "Rate limit exceeded (`Too many requests.`); see `Retry-After`.",
    ),
    (500, "Server error; details are in the server log only."),
    (
        503,
        "The database cannot be reached, or is busy: a write waited too long for another one (`Service unavailable.`); retry after `Retry-After` seconds.",
    ),
];

/// The error type of every endpoint: a domain [`Error`], documented in OpenAPI with the
/// statuses any endpoint may answer.
#[derive(Debug)]
pub struct ApiError(pub Error);

pub type ApiResult<T> = Result<T, ApiError>;

impl<E: Into<Error>> From<E> for ApiError {
    fn from(err: E) -> Self {
        ApiError(err.into())
    }
}

impl From<ApiError> for poem::Error {
    fn from(err: ApiError) -> Self {
        poem::Error::from(err.0)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.as_response()
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: ERROR_STATUSES
                .iter()
                .map(|&(status, description)| MetaResponse {
                    description,
                    status: Some(status),
                    status_range: None,
                    content: vec![
                        MetaMediaType {
                            content_type: "application/json; charset=utf-8",
                            schema: ErrorBody::schema_ref(),
                        },
                        MetaMediaType {
                            content_type: super::problem::CONTENT_TYPE,
                            schema: Problem::schema_ref(),
                        },
                    ],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
        Problem::register(registry);
    }
}
