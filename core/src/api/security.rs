//! `Caller`: the endpoint parameter that documents bearer auth in OpenAPI and hands the endpoint
//! the [`Principal`] the guard already established.

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaSecurityScheme, Registry},
};

use crate::{
    auth::Principal,
    error::{Credentials, Error},
};

pub const SCHEME: &str = "bearerAuth";

pub struct Caller(pub Principal);

impl<'a> ApiExtractor<'a> for Caller {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            SCHEME,
            MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "An API token: `Authorization: Bearer esc_...`. Create one with \
                     `escalated token create` or `POST /admin/api-tokens/create`.",
                ),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: Some("esc_<43 url-safe base64 characters>"),
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
        // The guard runs first on every API route; reaching here without a principal would be
        // a wiring mistake, answered as unauthenticated rather than trusted.
        req.data::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| Error::Unauthenticated(Credentials::Missing).into())
    }
}
