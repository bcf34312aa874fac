//! The endpoints that change one ticket (`/tickets/{reference}/...` with an `If-Match` header),
//! written once. [`ticket_writes!`] generates each one's `#[OpenApi]` method from one line (its
//! path, method, operation id, other path parameters, body and answer); the method hands a
//! [`Write`] (the ticket named and who asks) to a plain function that does the work. The
//! shapes that differ (an answer's message, a dry run, the ticket read back or not) stay in
//! those functions.

use poem::Request;

use super::{conditional, security::Caller};
use crate::{
    app::AppState,
    auth::Principal,
    domain::{
        Tx,
        tickets::{
            Actor,
            editing::Editing,
            operations::{self, Shown},
        },
    },
    error::Result,
};

/// One write to the ticket `reference`, as the endpoint received it.
pub struct Write<'a> {
    pub state: &'a AppState,
    pub caller: &'a Principal,
    pub req: &'a Request,
    pub reference: &'a str,
    /// The ticket versions `If-Match` names; `None` when it was not sent.
    pub expected: Option<Vec<i64>>,
}

impl<'a> Write<'a> {
    pub fn new(
        state: &'a AppState,
        caller: &'a Caller,
        req: &'a Request,
        reference: &'a str,
        if_match: Option<&str>,
    ) -> Self {
        Write {
            state,
            caller: &caller.0,
            req,
            reference,
            expected: conditional::versions(if_match),
        }
    }

    /// The ticket and the versions it must be at, as the domain's edits take them.
    pub fn target(&self) -> (&str, Option<&[i64]>) {
        (self.reference, self.expected.as_deref())
    }

    pub fn actor(&self) -> Actor {
        self.caller.actor()
    }

    /// Runs `change` on the ticket as the caller, under the `If-Match` check, and reads the
    /// ticket back as the caller sees it, in one transaction (`operations::edit_shown`).
    pub async fn edit_shown<T>(
        &self,
        change: impl AsyncFnOnce(&mut Editing, &mut Tx) -> Result<T>,
    ) -> Result<(T, Shown)> {
        let state = self.state;
        let (actor, target) = (self.actor(), self.target());
        let viewer = self.caller.user_id;
        operations::edit_shown(
            &state.store,
            state.rules_now(),
            &actor,
            target,
            viewer,
            change,
        )
        .await
    }
}

/// The `#[OpenApi]` impl `$api` with its own methods (in braces, written out) followed by the
/// ticket writes, one a line:
///
/// ```text
/// /// Change the status (its doc: the first line is the summary)
/// status: "patch" "/tickets/:reference/status" "tickets.status",
///     body DeferredJson<StatusRequest> => Changed<TicketResource> = status;
/// ```
///
/// `path key: String` before the body declares another path parameter (after `reference`),
/// passed to the function after the [`Write`], then the body. `if_match` gives the two doc
/// lines of the `If-Match` parameter.
macro_rules! ticket_writes {
    (
        $api:ident (tag = $tag:tt) { $($own:tt)* }
        if_match: [$if_match_1:tt $if_match_2:tt];
        $(
            $(#[doc = $doc:tt])*
            $name:ident: $method:tt $path:tt $id:tt
                $(, path $param:ident: $param_type:ty)*
                $(, body $body:ty)?
                => $answer:ty = $handler:path;
        )*
    ) => {
        #[poem_openapi::OpenApi(tag = $tag)]
        impl $api {
            $($own)*

            $(
                $(#[doc = $doc])*
                #[oai(path = $path, method = $method, operation_id = $id)]
                async fn $name(
                    &self,
                    caller: $crate::api::security::Caller,
                    state: poem::web::Data<&$crate::app::AppState>,
                    req: &poem::Request,
                    reference: poem_openapi::param::Path<String>,
                    $($param: poem_openapi::param::Path<$param_type>,)*
                    #[doc = $if_match_1]
                    #[doc = $if_match_2]
                    #[oai(name = "If-Match")]
                    if_match: poem_openapi::param::Header<Option<String>>,
                    $(body: $body,)?
                ) -> $crate::api::errors::ApiResult<$answer> {
                    let write = $crate::api::ticket_writes::Write::new(
                        &state,
                        &caller,
                        req,
                        &reference.0,
                        if_match.0.as_deref(),
                    );
                    $handler(write $(, $param.0)* $(, { let body: $body = body; body })?).await
                }
            )*
        }
    };
}
pub(crate) use ticket_writes;
