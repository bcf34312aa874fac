//! `/attachments`: upload a file (streamed to storage), download one (streamed, with `Range`).

use poem::{
    Body, IntoResponse, Response,
    http::{HeaderMap, StatusCode, header},
    web::Data as State,
};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::Path,
    payload::Json,
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, Registry},
    types::Type,
};

use super::{
    ApiTags,
    envelope::{Written, written},
    errors::ApiResult,
    multipart::{Form, UploadForm, form_error},
    security::Caller,
};
use crate::{
    app::AppState,
    domain::attachments::{self, AttachmentRow},
    error::Error,
};

pub struct AttachmentsApi;

/// A stored file, as uploads answer it and replies list it.
#[derive(Debug, Clone, Object)]
pub struct Attachment {
    pub id: i64,
    /// The name the client gave, without any path, at most 255 characters.
    pub filename: String,
    /// Sniffed from the content, not taken from the client.
    pub mime_type: String,
    /// In bytes.
    pub size: i64,
    /// Hex SHA-256 of the content; also the download's `ETag`.
    pub sha256: String,
    /// Where to download it (`GET /attachments/{id}`).
    pub url: String,
}

impl Attachment {
    pub fn from_row(state: &AppState, row: &AttachmentRow) -> Attachment {
        Attachment {
            id: row.id,
            filename: row.filename.clone(),
            mime_type: row.mime_type.clone(),
            size: row.size,
            sha256: row.sha256.clone(),
            url: url(state, row.id),
        }
    }
}

fn url(state: &AppState, id: i64) -> String {
    format!(
        "{}{}/attachments/{id}",
        state.config.server.base_url(),
        state.config.api.prefix
    )
}

#[derive(ApiResponse)]
pub enum Uploaded {
    /// Stored; `Location` is the download URL.
    #[oai(status = 201)]
    Created(
        Json<Written<Attachment>>,
        #[oai(header = "Location")] String,
    ),
}

#[OpenApi(tag = "ApiTags::Attachments")]
impl AttachmentsApi {
    /// Upload a file
    ///
    /// Requires `tickets:write`. `multipart/form-data` with one part named `file`. The type is
    /// sniffed from the content; executables and types outside `attachments.allowed_types` are
    /// 422 on `file`, a file over `attachments.max_bytes` is 413. The upload is the caller's
    /// until it is attached (`attachment_ids` on ticket create or reply) within 24 hours;
    /// uploads never attached are deleted after that.
    #[oai(
        path = "/attachments",
        method = "post",
        operation_id = "attachments.upload"
    )]
    async fn upload(
        &self,
        caller: Caller,
        state: State<&AppState>,
        form: UploadForm,
    ) -> ApiResult<Uploaded> {
        let mut form: Form = form.0;
        let mut stored = None;
        while let Some(field) = form.next_field().await.map_err(form_error)? {
            match field.name() {
                Some("file") if stored.is_none() => {
                    let filename = field.file_name().map(str::to_string);
                    let row = attachments::upload(
                        state.files(),
                        caller.0.user_id,
                        filename.as_deref(),
                        Box::pin(field.into_async_read()),
                        "file",
                        state.clock.now(),
                    )
                    .await?;
                    stored = Some(row);
                }
                Some("file") => {
                    return Err(Error::field("file", "Send one file per upload.").into());
                }
                other => {
                    let name = other.unwrap_or("body").to_string();
                    return Err(Error::field(
                        name.clone(),
                        format!("The {name} field is not allowed."),
                    )
                    .into());
                }
            }
        }
        let row = stored
            .ok_or_else(|| Error::field("file", crate::domain::validate::required("file")))?;
        let attachment = Attachment::from_row(&state, &row);
        let location = attachment.url.clone();
        Ok(Uploaded::Created(
            written(attachment, "File uploaded."),
            location,
        ))
    }

    /// Download a file
    ///
    /// Requires `tickets:read`. Before it is attached only the uploader may read a file; then
    /// whoever may read its ticket (an internal note's files: agents only). Answers with
    /// `Content-Disposition: attachment`, `X-Content-Type-Options: nosniff` and an `ETag`
    /// (`If-None-Match` gives 304); one `Range` of bytes gives 206, an unsatisfiable one 416.
    #[oai(
        path = "/attachments/:id",
        method = "get",
        operation_id = "attachments.download"
    )]
    async fn download(
        &self,
        caller: Caller,
        state: State<&AppState>,
        id: Path<i64>,
        headers: &HeaderMap,
    ) -> ApiResult<FileResponse> {
        let row = {
            let mut conn = state.store.conn().await?;
            attachments::readable(&mut conn, id.0, &caller.0.actor()).await?
        };
        Ok(FileResponse(serve(&state, &row, headers).await?))
    }
}

/// Builds the download answer: 304, 416, 206 or 200.
async fn serve(
    state: &AppState,
    row: &AttachmentRow,
    headers: &HeaderMap,
) -> Result<Response, Error> {
    let etag = format!("\"{}\"", row.sha256);
    let size = row.size as u64;
    let matches_etag = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches_etag {
        return Ok(Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(header::ETAG, etag)
            .finish());
    }
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(value) => match parse_range(value, size) {
            RangeRequest::Ignored => None,
            RangeRequest::Bytes(start, end) => Some((start, end)),
            RangeRequest::Unsatisfiable => {
                return Ok(Response::builder()
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                    .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
                    .body(serde_json::json!({ "message": "Range not satisfiable." }).to_string()));
            }
        },
    };
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, row.mime_type.as_str())
        .header(
            header::CONTENT_DISPOSITION,
            content_disposition(&row.filename),
        )
        .header("X-Content-Type-Options", "nosniff")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        )
        .header(header::CACHE_CONTROL, "private, no-cache")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, etag);
    if size == 0 {
        return Ok(builder
            .header(header::CONTENT_LENGTH, 0)
            .body(Body::empty()));
    }
    Ok(match range {
        Some((start, end)) => {
            let stream = state.blobs.get(&row.sha256, Some(start..end + 1)).await?;
            builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"))
                .header(header::CONTENT_LENGTH, end + 1 - start)
                .body(Body::from_bytes_stream(stream))
        }
        None => {
            let stream = state.blobs.get(&row.sha256, None).await?;
            builder
                .header(header::CONTENT_LENGTH, size)
                .body(Body::from_bytes_stream(stream))
        }
    })
}

/// `attachment; filename*=UTF-8''...` (RFC 6266 / 8187): the name percent-encoded, so no
/// character of it can break out of the header.
pub fn content_disposition(filename: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    // RFC 8187's attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~".
    const ATTR: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    format!(
        "attachment; filename*=UTF-8''{}",
        utf8_percent_encode(filename, ATTR)
    )
}

#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// Not a single byte range we serve (several ranges, another unit, bad syntax): the whole
    /// file, as RFC 9110 allows.
    Ignored,
    /// First and last byte, inclusive.
    Bytes(u64, u64),
    Unsatisfiable,
}

fn parse_range(value: &str, size: u64) -> RangeRequest {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Ignored;
    };
    if spec.contains(',') {
        return RangeRequest::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Ignored;
    };
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(n) if size > 0 => RangeRequest::Bytes(size.saturating_sub(n), size - 1),
            Some(_) => RangeRequest::Unsatisfiable,
            None => RangeRequest::Ignored,
        },
        (start, end) => {
            let Some(start) = number(start) else {
                return RangeRequest::Ignored;
            };
            let end = if end.is_empty() {
                size.saturating_sub(1)
            } else {
                match number(end) {
                    Some(e) if e >= start => e.min(size.saturating_sub(1)),
                    Some(_) => return RangeRequest::Ignored,
                    None => return RangeRequest::Ignored,
                }
            };
            if start >= size {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Bytes(start, end)
            }
        }
    }
}

/// The download: its statuses and headers are documented by hand, since the content type is
/// the file's own.
pub struct FileResponse(Response);

impl IntoResponse for FileResponse {
    fn into_response(self) -> Response {
        self.0
    }
}

impl ApiResponse for FileResponse {
    fn meta() -> MetaResponses {
        let header = |name: &str, description: &str| MetaHeader {
            name: name.into(),
            description: Some(description.into()),
            required: true,
            deprecated: false,
            schema: String::schema_ref(),
        };
        let binary = || {
            vec![MetaMediaType {
                content_type: "application/octet-stream",
                schema: poem_openapi::registry::MetaSchemaRef::Inline(Box::new(
                    MetaSchema::new_with_format("string", "binary"),
                )),
            }]
        };
        let common = || {
            vec![
                header(
                    "Content-Disposition",
                    "`attachment; filename*=UTF-8''<name>`",
                ),
                header("X-Content-Type-Options", "`nosniff`"),
                header("ETag", "The quoted SHA-256 of the content."),
                header("Accept-Ranges", "`bytes`"),
            ]
        };
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "The whole file, with its sniffed type as `Content-Type`.",
                    status: Some(200),
                    status_range: None,
                    content: binary(),
                    headers: common(),
                },
                MetaResponse {
                    description: "The requested byte range.",
                    status: Some(206),
                    status_range: None,
                    content: binary(),
                    headers: {
                        let mut h = common();
                        h.push(header("Content-Range", "`bytes FIRST-LAST/SIZE`"));
                        h
                    },
                },
                MetaResponse {
                    description: "`If-None-Match` matched the `ETag`.",
                    status: Some(304),
                    status_range: None,
                    content: vec![],
                    headers: vec![header("ETag", "The quoted SHA-256 of the content.")],
                },
                MetaResponse {
                    description: "The `Range` starts past the end of the file.",
                    status: Some(416),
                    status_range: None,
                    content: vec![],
                    headers: vec![header("Content-Range", "`bytes */SIZE`")],
                },
            ],
        }
    }

    fn register(_registry: &mut Registry) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Bytes(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), Bytes(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), Bytes(90, 99));
        assert_eq!(parse_range("bytes=-500", 100), Bytes(0, 99));
        assert_eq!(parse_range("bytes=50-500", 100), Bytes(50, 99));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ignored);
        assert_eq!(parse_range("items=0-1", 100), Ignored);
        assert_eq!(parse_range("bytes=9-1", 100), Ignored);
        assert_eq!(parse_range("bytes=x-1", 100), Ignored);
    }

    #[test]
    fn disposition_encodes_the_name() {
        assert_eq!(
            content_disposition("a b\"\r\n;é.png"),
            "attachment; filename*=UTF-8''a%20b%22%0D%0A%3B%C3%A9.png"
        );
    }
}
