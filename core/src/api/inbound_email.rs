//! `POST /inbound/email`: one raw RFC 5322 message from a mail provider's inbound webhook or
//! a local MTA. Authenticated by `email.inbound_secret` rather than an API token (the guard
//! lets this one path through); off (404) while no secret is set.

use poem::{Request, RequestBody, http::header, web::Data as State};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, Enum, ExtractParamOptions, Object, OpenApi,
    payload::{Json, Payload},
    registry::{
        MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, MetaSecurityScheme, Registry,
    },
};
use subtle::ConstantTimeEq;

use super::{
    ApiTags,
    envelope::{Written, written},
    errors::ApiResult,
    guard::client_ip,
};
use crate::{
    app::AppState,
    auth::rate_limit::BucketKey,
    domain::email::inbound::{self, Outcome, Received},
    error::{Credentials, Error},
};

const SCHEME: &str = "inboundSecret";

pub struct InboundEmailApi;

/// The shared secret of the inbound route, checked in constant time. A wrong one is charged
/// to the client address's bucket, so guessing is throttled like token guessing.
pub struct InboundSecret;

impl<'a> ApiExtractor<'a> for InboundSecret {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            SCHEME,
            MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "The inbound email secret (`email.inbound_secret`): \
                     `Authorization: Bearer <secret>`. Not an API token.",
                ),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let state = req
            .data::<AppState>()
            .ok_or(Error::Unauthenticated(Credentials::Missing))?;
        let secret = state.config.email.inbound_secret.as_bytes();
        if secret.is_empty() {
            return Err(Error::not_found("Route").into());
        }
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty());
        let refused = match given {
            None => Error::Unauthenticated(Credentials::Missing),
            Some(token) if bool::from(token.as_bytes().ct_eq(secret)) => return Ok(InboundSecret),
            Some(_) => Error::Unauthenticated(Credentials::InvalidSecret),
        };
        let ip = client_ip(req, state.config.server.trust_forwarded_for);
        let quota = state.limiter.hit(
            BucketKey::Ip(ip),
            state.config.api.unauthenticated_rate_limit,
        );
        Err(if quota.allowed {
            refused
        } else {
            Error::TooManyRequests
        }
        .into())
    }
}

/// The raw message, read within `email.max_message_bytes` (413 beyond).
pub struct RawMessage(pub bytes::Bytes);

impl Payload for RawMessage {
    const CONTENT_TYPE: &'static str = "message/rfc822";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some("The message exactly as received (RFC 5322), headers and body."),
            format: Some("binary"),
            example: Some(serde_json::Value::String(
                "From: Ann <ann@example.com>\r\nTo: help@example.com\r\n\
                 Subject: Re: Printer jammed [ESC-00042]\r\nMessage-ID: <a1@example.com>\r\n\
                 In-Reply-To: <5f0c@example.com>\r\n\r\nIt works again, thanks!\r\n"
                    .into(),
            )),
            ..MetaSchema::new("string")
        }))
    }
}

impl<'a> ApiExtractor<'a> for RawMessage {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: Some("One raw RFC 5322 message (`curl --data-binary @message.eml`)."),
            content: vec![MetaMediaType {
                content_type: Self::CONTENT_TYPE,
                schema: Self::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let limit = req
            .data::<AppState>()
            .map(|state| state.config.email.max_message_bytes)
            .unwrap_or(1024 * 1024);
        Ok(RawMessage(body.take()?.into_bytes_limit(limit).await?))
    }
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum InboundOutcome {
    /// A new ticket whose requester is the sender.
    Created,
    /// A public reply by the sender on the ticket the message answers.
    Replied,
    /// Nothing was created; `reason` says why.
    Ignored,
    /// This Message-ID was received before; nothing changed.
    Duplicate,
}

/// A file of the message. A created ticket or reply stores it as an attachment (`id`,
/// `sha256`; downloadable at `GET /attachments/{id}`) under the same rules as an upload, or
/// lists it as `refused` with the reason; an ignored message stores nothing.
#[derive(Debug, Object)]
pub struct InboundAttachment {
    pub filename: String,
    /// The type sniffed from the content once stored; before, the one the message declares.
    pub mime_type: String,
    /// Decoded size in bytes.
    pub size: i64,
    /// The attachment, when stored.
    pub id: Option<i64>,
    pub sha256: Option<String>,
    /// Why it was not stored (type, size, or more files than one message may attach).
    pub refused: Option<String>,
}

/// What was done with an inbound message.
#[derive(Debug, Object)]
#[oai(example)]
pub struct InboundResult {
    pub outcome: InboundOutcome,
    /// Why it was ignored: `auto_submitted` (`Auto-Submitted` other than `no`, auto-reply
    /// headers), `bulk` (`Precedence: bulk|list|junk`), `bounce` (a delivery report, or from
    /// mailer-daemon/postmaster), `loop` (from this server's own address), `rate_limited`
    /// (`email.per_sender_per_hour`); for a duplicate, what the first delivery did.
    pub reason: Option<String>,
    /// The message's Message-ID, without angle brackets.
    pub message_id: String,
    /// The ticket created or answered.
    pub reference: Option<String>,
    /// The reply added.
    pub reply_id: Option<i64>,
    pub attachments: Vec<InboundAttachment>,
}

impl poem_openapi::types::Example for InboundResult {
    fn example() -> Self {
        InboundResult {
            outcome: InboundOutcome::Replied,
            reason: None,
            message_id: "CAF=abc123@mail.example.com".into(),
            reference: Some("ESC-00042".into()),
            reply_id: Some(7),
            attachments: vec![InboundAttachment {
                filename: "screenshot.png".into(),
                mime_type: "image/png".into(),
                size: 48213,
                id: Some(31),
                sha256: Some(
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                ),
                refused: None,
            }],
        }
    }
}

impl From<Received> for InboundResult {
    fn from(r: Received) -> Self {
        InboundResult {
            outcome: match r.outcome {
                Outcome::Created => InboundOutcome::Created,
                Outcome::Replied => InboundOutcome::Replied,
                Outcome::Ignored => InboundOutcome::Ignored,
                Outcome::Duplicate => InboundOutcome::Duplicate,
            },
            reason: r.reason,
            message_id: r.message_id,
            reference: r.reference,
            reply_id: r.reply_id,
            attachments: r
                .attachments
                .into_iter()
                .map(|a| InboundAttachment {
                    filename: a.filename,
                    mime_type: a.mime_type,
                    size: a.size,
                    id: a.id,
                    sha256: a.sha256,
                    refused: a.refused,
                })
                .collect(),
        }
    }
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// The message was taken; `data.outcome` says what it did.
    #[oai(status = 202)]
    Accepted(Json<Written<InboundResult>>),
}

#[OpenApi(tag = "ApiTags::Email")]
impl InboundEmailApi {
    /// Receive an email
    ///
    /// Authenticated by `email.inbound_secret` (`Authorization: Bearer <secret>`), not an API
    /// token; 404 while no secret is set. A message that answers one of our notifications
    /// (`In-Reply-To`/`References`) or names a ticket (`[ESC-00042]` in the subject) becomes a
    /// public reply by its sender, when the sender is the requester, a follower or staff (a
    /// ticket waiting on the customer goes back to open); any other message becomes a new
    /// ticket whose requester is the sender (a customer is created when unknown). Quoted
    /// history and signatures are trimmed from replies. Its files are stored as attachments of
    /// the ticket or reply under the same limits as uploads (a refused file is listed with
    /// `refused`, the message is still taken). Automatic mail, bounces and repeats create
    /// nothing. 413 beyond `email.max_message_bytes`; 422 on `message` when the body
    /// is not a message with a From address.
    #[oai(
        path = "/inbound/email",
        method = "post",
        operation_id = "email.inbound"
    )]
    async fn inbound(
        &self,
        _secret: InboundSecret,
        state: State<&AppState>,
        message: RawMessage,
    ) -> ApiResult<Accepted> {
        let received = inbound::receive(
            state.files(),
            state.rules_now(),
            &state.config.email,
            &state.config.tickets.reference_prefix,
            &message.0,
        )
        .await?;
        let text = match received.outcome {
            Outcome::Created => "Ticket created.",
            Outcome::Replied => "Reply added.",
            Outcome::Ignored => "Message ignored.",
            Outcome::Duplicate => "Message already received.",
        };
        Ok(Accepted::Accepted(written(received.into(), text)))
    }
}
