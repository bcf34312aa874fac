//! `JsonBody<T>`: a request body parsed by serde into `T`, with the contract's errors.
//!
//! poem-openapi's own `Json<T>` answers every problem with a 400 of its own shape. Here a body
//! that is not JSON is 400 `Invalid JSON.`, and a missing or wrongly-typed field is 422 naming
//! the field. `T` derives `poem_openapi::Object` for the documented schema and
//! `serde::Deserialize` for parsing; the content type is not insisted on (curl's default form
//! type still parses as JSON).

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    payload::Payload,
    registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry},
    types::Type,
};
use serde::de::DeserializeOwned;

use crate::{
    app::AppState,
    domain::validate,
    error::{Error, FieldErrors},
};

pub struct JsonBody<T>(pub T);

/// A body for endpoints on an addressed resource (`/tickets/{reference}/status`): the contract
/// answers 404 for an unknown resource before it judges the body, so only the JSON syntax is
/// checked on arrival (400); the fields are parsed by [`DeferredJson::parse`] once the resource
/// is found.
pub struct DeferredJson<T>(Result<T, Error>);

impl<T> DeferredJson<T> {
    pub fn parse(self) -> Result<T, Error> {
        self.0
    }
}

/// Reads the body within `server.max_body_bytes`. The limit comes from the state rather than a
/// middleware so that bodies without a Content-Length (chunked) are bounded too.
async fn read_limited(request: &Request, body: &mut RequestBody) -> poem::Result<bytes::Bytes> {
    let limit = request
        .data::<AppState>()
        .map(|state| state.config.server.max_body_bytes)
        .unwrap_or(1024 * 1024);
    Ok(body.take()?.into_bytes_limit(limit).await?)
}

/// Both body types document the same request schema and differ only in when they judge fields.
macro_rules! json_extractor {
    ($ty:ident, |$bytes:ident| $parse:expr) => {
        impl<T: Type> Payload for $ty<T> {
            const CONTENT_TYPE: &'static str = "application/json";

            fn schema_ref() -> MetaSchemaRef {
                T::schema_ref()
            }

            fn register(registry: &mut Registry) {
                T::register(registry);
            }
        }

        impl<'a, T: Type + DeserializeOwned> ApiExtractor<'a> for $ty<T> {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
            type ParamType = ();
            type ParamRawType = ();

            fn register(registry: &mut Registry) {
                T::register(registry);
            }

            fn request_meta() -> Option<MetaRequest> {
                Some(MetaRequest {
                    description: None,
                    content: vec![MetaMediaType {
                        content_type: Self::CONTENT_TYPE,
                        schema: T::schema_ref(),
                    }],
                    required: true,
                })
            }

            async fn from_request(
                request: &'a Request,
                body: &mut RequestBody,
                _param_opts: ExtractParamOptions<Self::ParamType>,
            ) -> poem::Result<Self> {
                let $bytes = read_limited(request, body).await?;
                Ok($parse)
            }
        }
    };
}

json_extractor!(JsonBody, |bytes| JsonBody(parse(&bytes)?));
json_extractor!(DeferredJson, |bytes| DeferredJson(
    parse_value(&bytes).map(|value| value.and_then(fields))?
));

/// Parses a body: an empty body counts as `{}`, so required fields are reported as missing.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    parse_value(bytes)?.and_then(fields)
}

/// The JSON syntax check alone: `Err` is 400; `Ok(Err)` is a body that is JSON but not an object.
fn parse_value(bytes: &[u8]) -> Result<Result<serde_json::Value, Error>, Error> {
    let value: serde_json::Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(Default::default())
    } else {
        serde_json::from_slice(bytes).map_err(|_| Error::InvalidJson)?
    };
    if !value.is_object() {
        return Ok(Err(Error::field(
            "body",
            "The request body must be a JSON object.",
        )));
    }
    Ok(Ok(value))
}

/// The typed fields of an object body: 422 naming the first offending field.
fn fields<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = dotted(err.path());
        let inner = err.into_inner().to_string();
        let (field, message) = describe(&path, &inner);
        let mut errors = FieldErrors::new();
        errors.add(field.clone(), message);
        Error::Validation(errors)
    })
}

/// `actions.0.type` rather than serde's `actions[0].type`: one style for every field name
/// a 422 carries.
fn dotted(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let parts: Vec<String> = path
        .iter()
        .map(|segment| match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.clone(),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => "?".into(),
        })
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join(".")
    }
}

/// Turns serde's wording into the field and a message for people.
fn describe(path: &str, serde_message: &str) -> (String, String) {
    let nested = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = between_backticks(serde_message, "missing field `") {
        let field = nested(name);
        let message = validate::required(&field);
        return (field, message);
    }
    let field = if path == "." {
        "body".into()
    } else {
        path.to_string()
    };
    let message = if serde_message.starts_with("unknown variant") {
        validate::invalid(&field)
    } else if let Some(expected) = serde_message.split(", expected ").nth(1) {
        let kind = match expected {
            e if e.contains("string") => "a string",
            e if e.contains("bool") => "true or false",
            e if e.starts_with('i') || e.starts_with('u') || e.contains("integer") => "an integer",
            e if e.starts_with('f') || e.contains("number") => "a number",
            e if e.contains("sequence") => "a list",
            _ => "an object",
        };
        format!("The {} field must be {kind}.", field.replace('_', " "))
    } else {
        format!(
            "The {} field is invalid: {serde_message}",
            field.replace('_', " ")
        )
    };
    (field, message)
}

fn between_backticks<'m>(message: &'m str, lead: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(lead)?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        subject: String,
        count: Option<i64>,
        items: Option<Vec<Item>>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        kind: String,
    }

    fn field_error(bytes: &[u8]) -> (String, String) {
        match parse::<Sample>(bytes) {
            Err(Error::Validation(errors)) => {
                let (k, v) = errors.iter().next().unwrap();
                (k.clone(), v.clone())
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn not_json_is_invalid_json() {
        assert!(matches!(parse::<Sample>(b"{nope"), Err(Error::InvalidJson)));
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        assert_eq!(
            field_error(b"{}"),
            ("subject".into(), "The subject field is required.".into())
        );
        assert_eq!(
            field_error(br#"{"subject": "x", "count": "many"}"#),
            ("count".into(), "The count field must be an integer.".into())
        );
        assert_eq!(
            field_error(br#"{"subject": "x", "items": [{"kind": "a"}, {}]}"#),
            (
                "items.1.kind".into(),
                "The items.1.kind field is required.".into()
            )
        );
        assert_eq!(
            field_error(br#"{"subject": 5}"#),
            (
                "subject".into(),
                "The subject field must be a string.".into()
            )
        );
    }
}
