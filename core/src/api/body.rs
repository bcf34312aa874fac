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
use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, RwLock},
};

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
pub(crate) async fn read_limited(
    request: &Request,
    body: &mut RequestBody,
) -> poem::Result<bytes::Bytes> {
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

json_extractor!(JsonBody, |bytes| JsonBody(parse_documented(&bytes)?));
json_extractor!(DeferredJson, |bytes| DeferredJson(parse_deferred(&bytes)?));

/// A body of the documented type `T`, its fields judged now.
pub(crate) fn parse_documented<T: Type + DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    parse_value(bytes)?.and_then(fields_of)
}

/// The JSON syntax is judged now (`Err`: 400), the fields later (the inner result).
pub(crate) fn parse_deferred<T: Type + DeserializeOwned>(
    bytes: &[u8],
) -> Result<Result<T, Error>, Error> {
    parse_value(bytes).map(|value| value.and_then(fields_of))
}

/// The typed fields of a JSON object, judged against what `T` documents (also for a form read
/// into JSON, so a form field the endpoint does not document is refused as in JSON).
pub(crate) fn fields_of<T: Type + DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    fields(value, &Documented::of::<T>())
}

/// Parses a body of a type without a documented schema: an empty body counts as `{}`, so
/// required fields are reported as missing.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    parse_value(bytes)?.and_then(|value| fields(value, &Documented::default()))
}

/// The top-level fields a body type documents in the OpenAPI document: the one source for
/// which fields a body may have and which it must.
#[derive(Debug, Default)]
struct Documented {
    /// `None` when the schema names no properties (a free-form object): anything goes.
    names: Option<Vec<String>>,
    required: Vec<String>,
    /// A value of the right JSON type for each required field, to stand in for one that does
    /// not parse while the others are checked.
    stand_ins: HashMap<String, serde_json::Value>,
}

impl Documented {
    /// `T`'s fields, read from its schema once per type.
    fn of<T: Type>() -> Arc<Documented> {
        static KNOWN: LazyLock<RwLock<HashMap<String, Arc<Documented>>>> =
            LazyLock::new(Default::default);
        let name = T::name().into_owned();
        if let Some(known) = KNOWN.read().ok().and_then(|k| k.get(&name).cloned()) {
            return known;
        }
        let mut registry = Registry::new();
        T::register(&mut registry);
        let mut documented = Documented::default();
        documented.collect(&registry, &T::schema_ref());
        let documented = Arc::new(documented);
        if let Ok(mut known) = KNOWN.write() {
            known.insert(name, documented.clone());
        }
        documented
    }

    fn collect(&mut self, registry: &Registry, schema: &MetaSchemaRef) {
        let schema = match schema {
            MetaSchemaRef::Inline(schema) => schema.as_ref(),
            MetaSchemaRef::Reference(name) => match registry.schemas.get(name) {
                Some(schema) => schema,
                None => return,
            },
        };
        if !schema.properties.is_empty() {
            let names = self.names.get_or_insert_with(Vec::new);
            names.extend(schema.properties.iter().map(|(name, _)| name.to_string()));
        }
        self.required
            .extend(schema.required.iter().map(|name| name.to_string()));
        for (name, property) in &schema.properties {
            let ty = match property {
                MetaSchemaRef::Inline(schema) => Some(schema.ty),
                MetaSchemaRef::Reference(name) => registry.schemas.get(name).map(|s| s.ty),
            };
            let stand_in = match ty {
                Some("string") => serde_json::json!(""),
                Some("integer" | "number") => serde_json::json!(0),
                Some("boolean") => serde_json::json!(false),
                Some("array") => serde_json::json!([]),
                Some("object") => serde_json::json!({}),
                _ => continue,
            };
            self.stand_ins.insert(name.to_string(), stand_in);
        }
        for part in &schema.all_of {
            self.collect(registry, part);
        }
    }
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

/// The typed fields of an object body, or a 422 naming every offending field at once: fields
/// the type does not document, required ones missing, and each that does not parse.
fn fields<T: DeserializeOwned>(
    value: serde_json::Value,
    documented: &Documented,
) -> Result<T, Error> {
    let serde_json::Value::Object(mut object) = value else {
        return Err(Error::field(
            "body",
            "The request body must be a JSON object.",
        ));
    };
    let mut errors = FieldErrors::new();
    if let Some(names) = &documented.names {
        object.retain(|key, _| {
            let known = names.iter().any(|name| name == key);
            if !known {
                errors.add(key.clone(), format!("The {key} field is not allowed."));
            }
            known
        });
    }
    for name in &documented.required {
        if !object.contains_key(name) {
            errors.add(name.clone(), validate::required(name));
        }
    }
    // serde stops at the first field that does not parse: set that field aside (a required
    // one replaced by a stand-in of its type) and go on, so that one answer names them all.
    // Each field is set aside once at most, so this ends.
    let mut set_aside = Vec::new();
    loop {
        match serde_path_to_error::deserialize(serde_json::Value::Object(object.clone())) {
            Ok(parsed) if errors.is_empty() => return Ok(parsed),
            Ok(_) => break,
            Err(err) => {
                let path = dotted(err.path());
                let (field, message) = describe(&path, &err.into_inner().to_string());
                let top = field.split('.').next().unwrap_or_default().to_string();
                errors.add(field, message);
                if set_aside.contains(&top) || !object.contains_key(&top) {
                    break;
                }
                match documented.stand_ins.get(&top) {
                    Some(stand_in) if documented.required.contains(&top) => {
                        object.insert(top.clone(), stand_in.clone());
                    }
                    _ => {
                        object.remove(&top);
                    }
                }
                set_aside.push(top);
            }
        }
    }
    Err(Error::Validation(errors))
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
    // Inside a list item that takes only its documented fields (`deny_unknown_fields`); the
    // path already ends at the unknown key.
    if let Some(name) = between_backticks(serde_message, "unknown field `") {
        let field = if path.ends_with(name) {
            path.to_string()
        } else {
            nested(name)
        };
        return (field, format!("The {name} field is not allowed."));
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

    #[derive(Debug, serde::Deserialize, poem_openapi::Object)]
    #[allow(dead_code)]
    struct Documented {
        subject: String,
        description: String,
        count: Option<i64>,
        urgent: Option<bool>,
    }

    fn all_errors(bytes: &[u8]) -> Vec<(String, String)> {
        let parsed = parse_value(bytes)
            .unwrap()
            .and_then(|value| fields::<Documented>(value, &super::Documented::of::<Documented>()));
        match parsed {
            Err(Error::Validation(errors)) => {
                errors.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn every_failing_field_is_named_at_once() {
        let names = |errors: Vec<(String, String)>| -> Vec<String> {
            errors.into_iter().map(|(k, _)| k).collect()
        };
        assert_eq!(names(all_errors(b"{}")), ["description", "subject"]);
        assert_eq!(
            names(all_errors(
                br#"{"subject": 5, "description": [], "count": "many", "urgent": "yes"}"#
            )),
            ["count", "description", "subject", "urgent"]
        );
    }

    #[test]
    fn a_field_the_type_does_not_document_is_not_allowed() {
        assert_eq!(
            all_errors(br#"{"subject": "s", "description": "d", "prioritee": "urgent"}"#),
            [(
                "prioritee".to_string(),
                "The prioritee field is not allowed.".to_string()
            )]
        );
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
