//! `multipart/form-data` bodies, read part by part as they arrive (a file part is streamed to
//! storage, never held whole): the upload form of `POST /attachments`, and the form variant of
//! ticket create and reply (JSON fields as form fields, files as `attachments[]`).

use poem::{FromRequest, Request, RequestBody, http::header};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry},
    types::Type,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::io::AsyncReadExt;

use super::body;
use crate::{
    app::AppState,
    auth::Principal,
    domain::attachments,
    error::{Credentials, Error},
};

pub type Form = poem::web::Multipart;

/// Room allowed beside the file itself for the part headers and boundaries of a form.
const FORM_OVERHEAD: u64 = 64 * 1024;

/// Longest text field of a form, in bytes (a description or reply body is at most 65535
/// characters, so at most four times that in bytes).
const MAX_TEXT_FIELD: u64 = 4 * 65_535 + 1024;

/// Most text fields in one form.
const MAX_TEXT_FIELDS: usize = 64;

/// A form that cannot be read (bad boundary, cut off, ...): 422 on `body`.
pub fn form_error(err: impl std::fmt::Display) -> Error {
    Error::field("body", format!("The form cannot be read: {err}"))
}

fn binary() -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "binary")))
}

/// 413 before a byte is read when the declared length cannot fit `files` files.
fn check_declared_length(request: &Request, files: u64) -> Result<(), Error> {
    let Some(state) = request.data::<AppState>() else {
        return Ok(());
    };
    let max = state.config.attachments.max_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > max.saturating_mul(files).saturating_add(FORM_OVERHEAD) => Err(
            Error::TooLarge(format!("The file is larger than the limit of {max} bytes.")),
        ),
        _ => Ok(()),
    }
}

const UPLOAD_SCHEMA: &str = "AttachmentUpload";

/// The body of `POST /attachments`: a form with one part named `file`.
pub struct UploadForm(pub Form);

impl<'a> ApiExtractor<'a> for UploadForm {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        let mut schema = MetaSchema::new("object");
        schema.required = vec!["file"];
        schema.properties = vec![("file", binary())];
        schema.example = Some(serde_json::json!({ "file": "(the file's bytes)" }));
        registry.schemas.insert(UPLOAD_SCHEMA.to_string(), schema);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: Some("One part named `file`: the file, with its name."),
            content: vec![MetaMediaType {
                content_type: "multipart/form-data",
                schema: MetaSchemaRef::Reference(UPLOAD_SCHEMA.to_string()),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        check_declared_length(request, 1)?;
        if !is_multipart(request) {
            return Err(Error::UnsupportedMediaType(
                "Send the file as multipart/form-data, in a part named `file`.".into(),
            )
            .into());
        }
        Ok(UploadForm(
            <Form as FromRequest>::from_request(request, body).await?,
        ))
    }
}

fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// Reads a form into the JSON object the endpoint's JSON body would have been: each text field
/// becomes a property (typed by the schema of `T`: a string property keeps the text, any other
/// is read as JSON, `name[]` repeated makes a list), and each file part `attachments[]` is
/// uploaded as by `POST /attachments`, its id appended to `attachment_ids`.
async fn form_to_json<T: Type>(request: &Request, body: &mut RequestBody) -> Result<Value, Error> {
    check_declared_length(request, attachments::MAX_PER_MESSAGE as u64)?;
    let state = request
        .data::<AppState>()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("no application state")))?;
    let caller = request
        .data::<Principal>()
        .ok_or(Error::Unauthenticated(Credentials::Missing))?;
    let string_fields = string_properties::<T>();
    let mut form = <Form as FromRequest>::from_request(request, body)
        .await
        .map_err(form_error)?;
    let mut object = Map::new();
    let mut uploaded: Vec<Value> = Vec::new();
    let mut texts = 0;
    while let Some(field) = form.next_field().await.map_err(form_error)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "attachments[]" || name == "attachments" {
            if uploaded.len() >= attachments::MAX_PER_MESSAGE {
                return Err(Error::field(
                    "attachments",
                    format!(
                        "At most {} files may be attached.",
                        attachments::MAX_PER_MESSAGE
                    ),
                ));
            }
            let filename = field.file_name().map(str::to_string);
            let row = upload(state, caller, filename, field).await?;
            uploaded.push(Value::from(row));
            continue;
        }
        texts += 1;
        if texts > MAX_TEXT_FIELDS {
            return Err(Error::field("body", "The form has too many fields."));
        }
        let mut text = Vec::new();
        Box::pin(field.into_async_read())
            .take(MAX_TEXT_FIELD + 1)
            .read_to_end(&mut text)
            .await
            .map_err(|err| Error::field("body", format!("The form cannot be read: {err}")))?;
        if text.len() as u64 > MAX_TEXT_FIELD {
            return Err(Error::field(name, "The field is too long."));
        }
        let text = String::from_utf8(text)
            .map_err(|_| Error::field(name.clone(), "The field must be UTF-8 text."))?;
        let (key, listed) = match name.strip_suffix("[]") {
            Some(key) => (key.to_string(), true),
            None => (name, false),
        };
        let value = if string_fields.contains(&key.as_str()) {
            Value::String(text)
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if listed {
            match object
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(items) => items.push(value),
                other => *other = Value::Array(vec![other.take(), value]),
            }
        } else {
            object.insert(key, value);
        }
    }
    if !uploaded.is_empty() {
        // A mistyped `attachment_ids` is left as it is, for the JSON parse to report.
        if let Value::Array(ids) = object
            .entry("attachment_ids")
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            ids.extend(uploaded);
        }
    }
    Ok(Value::Object(object))
}

async fn upload(
    state: &AppState,
    caller: &Principal,
    filename: Option<String>,
    field: poem::web::Field,
) -> Result<i64, Error> {
    let row = attachments::upload(
        state.files(),
        caller.user_id,
        filename.as_deref(),
        Box::pin(field.into_async_read()),
        "attachments",
        state.clock.now(),
    )
    .await?;
    Ok(row.id)
}

/// The names of `T`'s properties that are strings (or string enums), from its OpenAPI schema.
fn string_properties<T: Type>() -> Vec<&'static str> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let MetaSchemaRef::Reference(name) = T::schema_ref() else {
        return Vec::new();
    };
    let Some(schema) = registry.schemas.get(name.as_str()) else {
        return Vec::new();
    };
    let is_string = |schema: &MetaSchemaRef| match schema {
        MetaSchemaRef::Inline(s) => s.ty == "string",
        MetaSchemaRef::Reference(name) => registry
            .schemas
            .get(name.as_str())
            .is_some_and(|s| s.ty == "string"),
    };
    schema
        .properties
        .iter()
        .filter(|(_, s)| is_string(s))
        .map(|(name, _)| *name)
        .collect()
}

/// The name of the multipart variant of `T`'s schema (`CreateTicketRequestForm`).
fn form_schema_name<T: Type>() -> String {
    match T::schema_ref() {
        MetaSchemaRef::Reference(name) => format!("{name}Form"),
        MetaSchemaRef::Inline(_) => "Form".to_string(),
    }
}

/// Registers the multipart variant of `T`'s schema: `T`'s fields plus `attachments[]` files,
/// with `T`'s example plus a file.
fn register_form_schema<T: Type>(registry: &mut Registry) {
    T::register(registry);
    let mut files = MetaSchema::new("array");
    files.items = Some(Box::new(binary()));
    files.max_items = Some(attachments::MAX_PER_MESSAGE);
    files.description = Some("Files to attach (each as by `POST /attachments`).");
    let mut extra = MetaSchema::new("object");
    extra.properties = vec![("attachments[]", MetaSchemaRef::Inline(Box::new(files)))];
    let mut schema = MetaSchema::new("object");
    schema.all_of = vec![T::schema_ref(), MetaSchemaRef::Inline(Box::new(extra))];
    let base_example = match T::schema_ref() {
        MetaSchemaRef::Reference(name) => registry
            .schemas
            .get(name.as_str())
            .and_then(|s| s.example.clone()),
        MetaSchemaRef::Inline(s) => s.example.clone(),
    };
    let mut example = base_example.unwrap_or_else(|| Value::Object(Map::new()));
    if let Value::Object(fields) = &mut example {
        fields.insert(
            "attachments[]".into(),
            serde_json::json!(["(the file's bytes)"]),
        );
    }
    schema.example = Some(example);
    registry.schemas.insert(form_schema_name::<T>(), schema);
}

fn dual_meta<T: Type>() -> Option<MetaRequest> {
    Some(MetaRequest {
        description: Some(
            "JSON, or `multipart/form-data` with the same fields as form fields (lists as \
             repeated `name[]` fields or one JSON value) and files as `attachments[]`.",
        ),
        content: vec![
            MetaMediaType {
                content_type: "application/json",
                schema: T::schema_ref(),
            },
            MetaMediaType {
                content_type: "multipart/form-data",
                schema: MetaSchemaRef::Reference(form_schema_name::<T>()),
            },
        ],
        required: true,
    })
}

/// A JSON or form body judged at once (as `JsonBody`): ticket create.
pub struct JsonOrForm<T>(pub T);

/// A JSON or form body judged once the addressed ticket is found (as `DeferredJson`): reply.
pub struct DeferredJsonOrForm<T>(Result<T, Error>);

impl<T> DeferredJsonOrForm<T> {
    pub fn parse(self) -> Result<T, Error> {
        self.0
    }
}

impl<'a, T: Type + DeserializeOwned> ApiExtractor<'a> for JsonOrForm<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_form_schema::<T>(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        dual_meta::<T>()
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        if is_multipart(request) {
            let value = form_to_json::<T>(request, body).await?;
            return Ok(JsonOrForm(body::fields_of(value)?));
        }
        let bytes = body::read_limited(request, body).await?;
        Ok(JsonOrForm(body::parse_documented(&bytes)?))
    }
}

impl<'a, T: Type + DeserializeOwned> ApiExtractor<'a> for DeferredJsonOrForm<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_form_schema::<T>(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        dual_meta::<T>()
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        if is_multipart(request) {
            return Ok(DeferredJsonOrForm(
                form_to_json::<T>(request, body)
                    .await
                    .and_then(body::fields_of),
            ));
        }
        let bytes = body::read_limited(request, body).await?;
        Ok(DeferredJsonOrForm(body::parse_deferred(&bytes)?))
    }
}
