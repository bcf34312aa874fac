//! `POST /tickets/bulk`: up to 100 ticket changes in one request, each answered on its own
//! (contract §9.3; see docs/bulk.md).

use std::collections::BTreeMap;

use poem::web::Data as State;
use poem_openapi::{Object, OpenApi, payload::Json, types::MaybeUndefined};
use serde::Deserialize;

use super::{
    ApiTags,
    body::JsonBody,
    envelope::{Data, data},
    errors::{self, ApiResult, ErrorCode},
    security::Caller,
    ticket_resources::TicketResource,
    ticket_scripts::script_user,
    tickets::resource,
};
use crate::{
    app::AppState,
    domain::{
        bulk::{self, Change, MAX_OPERATIONS},
        tickets::{Priority, Status},
    },
    error::Error,
};

pub struct TicketBulkApi;

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct BulkRequest {
    /// 1 to 100 operations, applied in order.
    pub operations: Vec<BulkOperation>,
}

/// One ticket's change: any of the fields besides `reference`.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkOperation {
    /// The ticket: `ESC-00042`.
    pub reference: String,
    /// As `PATCH /tickets/{reference}/status`.
    #[oai(skip_serializing_if_is_none)]
    pub status: Option<Status>,
    /// As `PATCH /tickets/{reference}/priority`.
    #[oai(skip_serializing_if_is_none)]
    pub priority: Option<Priority>,
    /// As `POST /tickets/{reference}/assign`: an active agent or admin; `null` unassigns.
    #[serde(default)]
    pub agent_id: MaybeUndefined<i64>,
    /// An active department; `null` takes the ticket out of its department.
    #[serde(default)]
    pub department_id: MaybeUndefined<i64>,
    /// Tag ids to add (existing tags).
    #[oai(skip_serializing_if_is_none)]
    pub add_tags: Option<Vec<i64>>,
    /// Tag ids to remove (existing tags).
    #[oai(skip_serializing_if_is_none)]
    pub remove_tags: Option<Vec<i64>>,
    /// A macro the caller may use, as `POST /tickets/{reference}/macro`; applied before the
    /// other fields.
    #[oai(skip_serializing_if_is_none)]
    pub macro_id: Option<i64>,
}

/// What one operation did.
#[derive(Debug, Object)]
pub struct BulkResult {
    pub reference: String,
    /// The HTTP status the single endpoint would have answered: 200, or its error's.
    pub status: u16,
    /// On success: the ticket as it now is.
    #[oai(skip_serializing_if_is_none)]
    pub data: Option<TicketResource>,
    /// On failure: what went wrong, for a person.
    #[oai(skip_serializing_if_is_none)]
    pub message: Option<String>,
    /// On failure: what went wrong, for a program.
    #[oai(skip_serializing_if_is_none)]
    pub code: Option<ErrorCode>,
    /// On a 422: one message per failing field.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<BTreeMap<String, String>>,
}

impl BulkOperation {
    fn into_change(self) -> (String, Change) {
        let maybe = |value: MaybeUndefined<i64>| match value {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => Some(Some(id)),
        };
        let change = Change {
            status: self.status,
            priority: self.priority,
            agent_id: maybe(self.agent_id),
            department_id: maybe(self.department_id),
            add_tags: self.add_tags.unwrap_or_default(),
            remove_tags: self.remove_tags.unwrap_or_default(),
            macro_id: self.macro_id,
        };
        (self.reference, change)
    }
}

#[OpenApi(tag = "ApiTags::Tickets")]
impl TicketBulkApi {
    /// Change many tickets
    ///
    /// Requires `tickets:write`. Up to 100 operations, each on one ticket with any of
    /// `status`, `priority`, `agent_id`, `department_id`, `add_tags`, `remove_tags` and
    /// `macro_id`. Each is applied in its own transaction, in order, by the same rules as the
    /// single endpoints; one that fails changes nothing of its ticket and the others go on.
    /// The answer is 200 with one result per operation, in order: `status` is what the
    /// single endpoint would have answered, with the ticket (`data`) or the error (`message`,
    /// `code`, `errors`). A body that does not fit (an unknown field, more than 100
    /// operations) is 422 and nothing is applied. Counted once against the rate limit; an
    /// `Idempotency-Key` covers the whole request. See docs/bulk.md.
    #[oai(path = "/tickets/bulk", method = "post", operation_id = "tickets.bulk")]
    async fn bulk(
        &self,
        caller: Caller,
        state: State<&AppState>,
        body: JsonBody<BulkRequest>,
    ) -> ApiResult<Json<Data<Vec<BulkResult>>>> {
        let operations = body.0.operations;
        if operations.len() > MAX_OPERATIONS {
            return Err(Error::field(
                "operations",
                format!("The operations may not have more than {MAX_OPERATIONS} items."),
            )
            .into());
        }
        if operations.is_empty() {
            return Err(
                Error::field("operations", "The operations must have at least 1 item.").into(),
            );
        }
        let actor = caller.0.actor();
        let mut results = Vec::with_capacity(operations.len());
        for operation in operations {
            let (reference, change) = operation.into_change();
            let outcome = bulk::apply(
                &state.store,
                &state.scripts,
                state.rules_now(),
                (&actor, script_user(&caller.0)),
                &reference,
                change,
            )
            .await;
            results.push(match outcome {
                Ok(shown) => BulkResult {
                    reference,
                    status: 200,
                    data: Some(resource(&state, shown.view, &shown.files)),
                    message: None,
                    code: None,
                    errors: None,
                },
                Err(err) => {
                    let (status, code, message, errors) = errors::outcome(&err);
                    BulkResult {
                        reference,
                        status,
                        data: None,
                        message: Some(message),
                        code: Some(code),
                        errors,
                    }
                }
            });
        }
        Ok(data(results))
    }
}
