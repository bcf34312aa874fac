//! `/tickets`: the list, creation, one ticket, and the changes made to it.

use poem::{Request, http::Uri, web::Data as State};
use poem_openapi::{
    Enum, Object, OpenApi, Union,
    param::{Header, Path, Query},
    payload::Json,
    types::{MaybeUndefined, ToJSON},
};
use serde::Deserialize;

use super::{
    ApiTags,
    attachments::Attachment,
    body::DeferredJson,
    conditional,
    envelope::{Changed, Created, Done, Tagged, changed, created, done, location},
    errors::ApiResult,
    multipart::{DeferredJsonOrForm, JsonOrForm},
    params::{Flag, Listed, PageRequest},
    security::Caller,
    ticket_resources::{TicketResource, TicketSummary},
    ticket_writes::{Write, ticket_writes},
};
use crate::{
    api::date_time::DateTime,
    app::AppState,
    auth::Principal,
    domain::{
        Tx,
        attachments::{self, AttachmentRow},
        paging::{KeyKind, Position},
        tickets::{
            Priority, Status, TicketType,
            create::{self, NewTicketInput, RequesterInput},
            editing::Editing,
            feed,
            list::{self, ListQuery, SortColumn},
            operations::{self, Shown, edit_versioned},
            view,
        },
        validate,
    },
    error::Error,
};

pub struct TicketsApi;

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SortBy {
    CreatedAt,
    UpdatedAt,
    /// By severity (low < ... < critical), not alphabetically.
    Priority,
    Status,
    Subject,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum SortDir {
    Asc,
    Desc,
}

#[derive(Debug, Object, Deserialize)]
pub struct RequesterRequest {
    /// Used when a new customer is created for this email.
    pub name: Option<String>,
    pub email: String,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct CreateTicketRequest {
    /// Not blank.
    pub subject: String,
    /// Not blank.
    pub description: String,
    pub priority: Option<Priority>,
    pub ticket_type: Option<TicketType>,
    /// An active department.
    pub department_id: Option<i64>,
    /// Tag ids (existing tags).
    pub tags: Option<Vec<i64>>,
    /// Who the ticket is for: a customer found or created by email. Default: the caller.
    pub requester: Option<RequesterRequest>,
    /// Uploads of the caller (`POST /attachments`) to attach: not yet attached, at most 24
    /// hours old.
    #[oai(skip_serializing_if_is_none)]
    pub attachment_ids: Option<Vec<i64>>,
}

/// Whether a reply whose body leaves `is_internal_note` out is an internal note.
pub const INTERNAL_BY_DEFAULT: bool = false;

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct ReplyRequest {
    /// Not blank; stored verbatim.
    pub body: String,
    /// An internal note is visible to agents only.
    #[serde(default)]
    pub is_internal_note: Option<bool>,
    /// Uploads of the caller (`POST /attachments`) to attach: not yet attached, at most 24
    /// hours old. An internal note's files are visible to agents only.
    #[oai(skip_serializing_if_is_none)]
    pub attachment_ids: Option<Vec<i64>>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct StatusRequest {
    pub status: Status,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct PriorityRequest {
    pub priority: Priority,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct AssignRequest {
    /// An active agent or admin; `null` unassigns. The key is required.
    #[serde(default)]
    pub agent_id: MaybeUndefined<i64>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct TagsRequest {
    /// The complete set of tag ids the ticket should have (existing tags; `[]` clears).
    pub tag_ids: Vec<i64>,
}

/// A deleted ticket in the change feed.
#[derive(Debug, Object)]
pub struct DeletedTicket {
    pub reference: String,
    /// Always true.
    pub deleted: bool,
}

/// A ticket in the change feed: as `GET /tickets/{reference}` shows it, or deleted.
#[derive(Debug, Union)]
#[oai(one_of)]
// Built and serialised once per item; a box would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum TicketChange {
    Ticket(TicketResource),
    Deleted(DeletedTicket),
}

#[derive(Debug, Object)]
pub struct ChangesMeta {
    pub per_page: i64,
    /// Where to resume: pass it as `cursor` for the changes after this page. Never null; after
    /// the last change (an empty `data`) it is the point to poll again from.
    pub next_cursor: String,
}

#[derive(Debug, Object)]
pub struct ChangePage {
    pub data: Vec<TicketChange>,
    pub meta: ChangesMeta,
}

/// A [`ChangePage`] answered one change at a time: the same schema and the same bytes as
/// `Json<ChangePage>`, but each change is turned into JSON and dropped in turn, so a page of a
/// thousand tickets with their conversations is never also held whole as one JSON tree.
pub struct ChangePageBody(ChangePage);

impl poem::IntoResponse for ChangePageBody {
    fn into_response(self) -> poem::Response {
        let ChangePage { data, meta } = self.0;
        let write = || -> serde_json::Result<Vec<u8>> {
            let mut body = b"{\"data\":[".to_vec();
            for (i, change) in data.into_iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                serde_json::to_writer(&mut body, &change.to_json())?;
            }
            body.extend_from_slice(b"],\"meta\":");
            serde_json::to_writer(&mut body, &meta.to_json())?;
            body.push(b'}');
            Ok(body)
        };
        match write() {
            Ok(body) => poem::Response::builder()
                .content_type("application/json; charset=utf-8")
                .body(body),
            Err(err) => {
                poem::error::ResponseError::as_response(&crate::error::Error::Internal(err.into()))
            }
        }
    }
}

impl poem_openapi::ApiResponse for ChangePageBody {
    fn meta() -> poem_openapi::registry::MetaResponses {
        Json::<ChangePage>::meta()
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        Json::<ChangePage>::register(registry);
    }
}

#[derive(Debug, Object)]
pub struct FollowState {
    pub following: bool,
    pub followers_count: i64,
}

#[derive(Debug, Object)]
pub struct ReplyCreated {
    pub id: i64,
    pub body: String,
    pub is_internal_note: bool,
    pub author: super::ticket_resources::NamedRef,
    pub created_at: DateTime,
    pub attachments: Vec<Attachment>,
}

/// The full ticket as `GET /tickets/{reference}` shows it, and its version.
async fn show(
    state: &AppState,
    reference: &str,
    viewer: &Principal,
) -> Result<(TicketResource, i64), Error> {
    let mut conn = state.store.conn().await?;
    let view = view::load(&mut conn, reference, viewer.user_id).await?;
    let files = attachments::of_ticket(&mut conn, view.ticket.id).await?;
    let version = view.ticket.change_seq;
    Ok((resource(state, view, &files), version))
}

/// A ticket with its attachment rows as the answer shows it.
pub(crate) fn resource(
    state: &AppState,
    view: view::TicketView,
    files: &[AttachmentRow],
) -> TicketResource {
    let files = files
        .iter()
        .map(|row| (row.reply_id, Attachment::from_row(state, row)))
        .collect();
    TicketResource::new(view, &state.rules).with_files(files)
}

/// A write's ticket as it answers it, and its ETag.
fn shown(state: &AppState, shown: Shown) -> (TicketResource, String) {
    (
        resource(state, shown.view, &shown.files),
        conditional::ticket(shown.version),
    )
}

/// Runs `change` on the ticket of `write` in one transaction if the ticket is still at a
/// version `If-Match` names (when sent), and answers with the ticket as it now is (read in that
/// transaction), its ETag and `message`.
async fn edit_and_show<T>(
    write: Write<'_>,
    message: &str,
    change: impl AsyncFnOnce(&mut Editing, &mut Tx) -> Result<T, Error>,
) -> ApiResult<Changed<TicketResource>> {
    let (_, ticket) = write.edit_shown(change).await?;
    let (ticket, etag) = shown(write.state, ticket);
    Ok(changed(ticket, message, etag))
}

async fn create_ticket(
    state: &AppState,
    caller: Principal,
    uri: &Uri,
    body: CreateTicketRequest,
) -> ApiResult<Created<TicketResource>> {
    let made = create::create_shown(
        &state.store,
        state.clock.now(),
        &caller.actor(),
        NewTicketInput {
            subject: body.subject,
            description: body.description,
            priority: body.priority,
            ticket_type: body.ticket_type,
            department_id: body.department_id,
            tag_ids: body.tags.unwrap_or_default(),
            requester: body.requester.map(|r| RequesterInput {
                name: r.name,
                email: r.email,
            }),
            channel: "api",
            attachment_ids: body.attachment_ids.unwrap_or_default(),
        },
        &state.config.tickets.reference_prefix,
    )
    .await?;
    let (ticket, etag) = shown(state, made);
    let location = location(uri, Some(&ticket.summary.reference));
    Ok(created(ticket, "Ticket created.", location).tagged(etag))
}

#[OpenApi(tag = "ApiTags::Tickets")]
impl TicketsApi {
    /// List tickets
    ///
    /// Requires `tickets:read`. Filters combine with AND; booleans accept `1/0/true/false`
    /// (`0`/`false` leaves a filter off). Default order: newest first, ties by id.
    #[oai(path = "/tickets", method = "get", operation_id = "tickets.list")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        caller: Caller,
        state: State<&AppState>,
        status: Query<Option<Status>>,
        priority: Query<Option<Priority>>,
        department_id: Query<Option<i64>>,
        assigned_to: Query<Option<i64>>,
        unassigned: Query<Option<Flag>>,
        ticket_type: Query<Option<TicketType>>,
        /// Full-text search. Every word (a run of letters, digits and `_`, lower-cased) must
        /// begin a word of the subject or the description, ignoring case and accents: `print`
        /// finds "printer". Words under 3 characters and common stopwords (`the`, `on`, ...)
        /// are ignored beside other words; when only such words are given, each must occur in
        /// the subject. Text shaped like a ticket reference (`ESC-00042`, any case) also finds
        /// that ticket. Quotes and operators (`"`, `*`, `-`, `+`, `(`, `:`, `NEAR`, `AND`...)
        /// are plain text.
        search: Query<Option<String>>,
        sla_breached: Query<Option<Flag>>,
        /// Only tickets the caller follows.
        following: Query<Option<Flag>>,
        sort_by: Query<Option<SortBy>>,
        sort_dir: Query<Option<SortDir>>,
        /// Rows per page.
        per_page: Query<Option<i64>>,
        /// From 1; past the last page the list is empty. Not with `cursor`.
        page: Query<Option<i64>>,
        /// Continues the list after the page that gave it (`meta.next_cursor`, or the `Link`
        /// header): keyset pagination, as fast deep in the list as at its start, and a walk
        /// never shows a ticket twice or skips one that existed when it began. A cursor
        /// belongs to its `sort_by` and `sort_dir` (else 422).
        cursor: Query<Option<String>>,
        req: &Request,
    ) -> ApiResult<Listed<TicketSummary>> {
        let on = |flag: Option<Flag>| flag.is_some_and(|f| f.0);
        let mut query = ListQuery {
            status: status.0,
            priority: priority.0,
            department_id: department_id.0,
            assigned_to: assigned_to.0,
            unassigned: on(unassigned.0),
            ticket_type: ticket_type.0,
            search: search.0,
            sla_breached: on(sla_breached.0),
            following: on(following.0),
            sort: sort_by.0.map(|s| match s {
                SortBy::CreatedAt => SortColumn::CreatedAt,
                SortBy::UpdatedAt => SortColumn::UpdatedAt,
                SortBy::Priority => SortColumn::Priority,
                SortBy::Status => SortColumn::Status,
                SortBy::Subject => SortColumn::Subject,
            }),
            descending: sort_dir.0.map(|d| matches!(d, SortDir::Desc)),
            ..ListQuery::default()
        };
        let (sort, descending) = query.order();
        let order = format!(
            "tickets:{}:{}",
            sort.name(),
            if descending { "desc" } else { "asc" }
        );
        let kind = if sort.is_text() {
            KeyKind::Text
        } else {
            KeyKind::Int
        };
        let pages = PageRequest::parse(page.0, per_page.0, cursor.0, order, kind)?;
        query.window = pages.window.clone();
        let tickets = list::list(&state.store, caller.0.user_id, &query).await?;
        Ok(pages.listed(
            req.original_uri(),
            tickets,
            |t| t.ticket.position(sort),
            |t| TicketSummary::new(&t, &state.rules),
        ))
    }

    /// Create a ticket
    ///
    /// Requires `tickets:write`. `POST /tickets` is an alias.
    #[oai(
        path = "/tickets/create",
        method = "post",
        operation_id = "tickets.create"
    )]
    async fn create(
        &self,
        caller: Caller,
        state: State<&AppState>,
        req: &Request,
        body: JsonOrForm<CreateTicketRequest>,
    ) -> ApiResult<Created<TicketResource>> {
        create_ticket(&state, caller.0, req.original_uri(), body.0).await
    }

    /// Create a ticket (alias of `POST /tickets/create`)
    ///
    /// Requires `tickets:write`.
    #[oai(path = "/tickets", method = "post", operation_id = "tickets.store")]
    async fn store(
        &self,
        caller: Caller,
        state: State<&AppState>,
        req: &Request,
        body: JsonOrForm<CreateTicketRequest>,
    ) -> ApiResult<Created<TicketResource>> {
        create_ticket(&state, caller.0, req.original_uri(), body.0).await
    }

    /// Changes since a point (the incremental export)
    ///
    /// Requires `tickets:read`. Every ticket changed after `cursor`, in change order, each in
    /// its current state as `GET /tickets/{reference}` shows it; a deleted one as
    /// `{"reference", "deleted": true}`. A ticket changed again shows again later, at its new
    /// place. Without `cursor` the feed starts at the beginning; `meta.next_cursor` is never
    /// null. A client that follows it until `data` is empty holds the latest state of every
    /// ticket. A page may hold fewer than `per_page` tickets when their conversations are long
    /// (`api.feed_page_entries`); that is not the end. See docs/sync.md.
    #[oai(
        path = "/tickets/changes",
        method = "get",
        operation_id = "tickets.changes"
    )]
    async fn changes(
        &self,
        caller: Caller,
        state: State<&AppState>,
        /// `meta.next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Most changes per page.
        per_page: Query<Option<i64>>,
    ) -> ApiResult<ChangePageBody> {
        let request = PageRequest::parse_up_to(
            None,
            per_page.0,
            cursor.0,
            "tickets:changes",
            KeyKind::IdOnly,
            feed::MAX_PER_PAGE,
        )?;
        let after = request.window.after().map_or(0, |p| p.id);
        let page = (request.per_page, state.config.api.feed_page_entries);
        let (changes, next) = feed::after(&state.store, after, page, caller.0.user_id).await?;
        let data = changes
            .into_iter()
            .map(|(_, change)| match change {
                feed::Change::Ticket(view, files) => {
                    TicketChange::Ticket(resource(&state, *view, &files))
                }
                feed::Change::Deleted { reference } => TicketChange::Deleted(DeletedTicket {
                    reference,
                    deleted: true,
                }),
            })
            .collect();
        Ok(ChangePageBody(ChangePage {
            data,
            meta: ChangesMeta {
                per_page: request.per_page,
                next_cursor: request.cursor(&Position::id(next)),
            },
        }))
    }
}

/// One ticket: `GET /tickets/{reference}` and the writes to it.
pub struct TicketApi;

ticket_writes! {
    TicketApi (tag = "ApiTags::Tickets") {
        /// Show a ticket
        ///
        /// Requires `tickets:read`. With its replies (internal notes included, marked) and activities.
        #[oai(
            path = "/tickets/:reference",
            method = "get",
            operation_id = "tickets.show"
        )]
        async fn get(
            &self,
            caller: Caller,
            state: State<&AppState>,
            reference: Path<String>,
            /// An `ETag` of this ticket: 304 (no body) while it is current.
            #[oai(name = "If-None-Match")]
            if_none_match: Header<Option<String>>,
        ) -> ApiResult<Tagged<TicketResource>> {
            let (ticket, version) = show(&state, &reference.0, &caller.0).await?;
            let etag = conditional::ticket(version);
            Ok(Tagged::new(ticket, etag, if_none_match.0.as_deref()))
        }
    }
    if_match: [
        " An `ETag` of this ticket: write only if it is still at that version; else 412"
        " `Precondition failed.` and nothing changes."
    ];

    /// Reply, or add an internal note
    ///
    /// Requires `tickets:write`. The first public reply by an agent records the SLA first response.
    reply: "post" "/tickets/:reference/reply" "tickets.reply",
        body DeferredJsonOrForm<ReplyRequest> => Created<ReplyCreated> = reply;

    /// Change the status
    ///
    /// Requires `tickets:write`. A transition the state machine forbids is 422 on `status`;
    /// the current status again changes nothing.
    status: "patch" "/tickets/:reference/status" "tickets.status",
        body DeferredJson<StatusRequest> => Changed<TicketResource> = status;

    /// Change the priority
    ///
    /// Requires `tickets:write`. SLA due times follow the new priority.
    priority: "patch" "/tickets/:reference/priority" "tickets.priority",
        body DeferredJson<PriorityRequest> => Changed<TicketResource> = priority;

    /// Assign or unassign
    ///
    /// Requires `tickets:write`. `agent_id` must be an active agent or admin; `null` unassigns.
    /// The status is not changed.
    assign: "post" "/tickets/:reference/assign" "tickets.assign",
        body DeferredJson<AssignRequest> => Changed<TicketResource> = assign;

    /// Follow or unfollow
    ///
    /// Requires `tickets:write`. Toggles whether the caller follows the ticket.
    follow: "post" "/tickets/:reference/follow" "tickets.follow"
        => Changed<FollowState> = follow;

    /// Set the tags
    ///
    /// Requires `tickets:write`. `tag_ids` is the complete set; each addition and removal is logged.
    tags: "post" "/tickets/:reference/tags" "tickets.tags",
        body DeferredJson<TagsRequest> => Changed<TicketResource> = tags;

    /// Delete a ticket
    ///
    /// Requires `tickets:delete` and an admin owner. A soft delete: afterwards the ticket is 404.
    delete: "delete" "/tickets/:reference" "tickets.delete" => Json<Done> = delete;
}

async fn reply(
    write: Write<'_>,
    body: DeferredJsonOrForm<ReplyRequest>,
) -> ApiResult<Created<ReplyCreated>> {
    let (state, caller) = (write.state, write.caller);
    let (rules, now) = state.rules_now();
    let ((id, body, internal, files), version) = edit_versioned(
        &state.store,
        (rules, now),
        &write.actor(),
        write.target(),
        async |t, tx| {
            let body = body.parse()?;
            let internal = body.is_internal_note.unwrap_or(INTERNAL_BY_DEFAULT);
            let ids = body.attachment_ids.unwrap_or_default();
            // A reply moves its ticket into or out of no list, so totals stay remembered.
            tx.keeps_list_members();
            let id = t.reply_with(tx, &body.body, internal, &ids).await?;
            // Read before the commit, like every write's answer.
            let files = if ids.is_empty() {
                Vec::new()
            } else {
                attachments::by_ids(tx, &ids).await?
            };
            Ok((id, body.body, internal, files))
        },
    )
    .await?;
    let reply = ReplyCreated {
        id,
        body,
        is_internal_note: internal,
        author: super::ticket_resources::NamedRef {
            id: caller.user_id,
            name: caller.name.clone(),
        },
        created_at: DateTime(now),
        attachments: files
            .iter()
            .map(|row| Attachment::from_row(state, row))
            .collect(),
    };
    let message = if internal {
        "Note added."
    } else {
        "Reply sent."
    };
    Ok(
        created(reply, message, location(write.req.original_uri(), None))
            .tagged(conditional::ticket(version)),
    )
}

/// The writes whose body is one change to the ticket, answered with the ticket as it now is:
/// `name(Body) "message" |t, tx, body| change`, where `body` is the parsed body (parsed only
/// once the ticket is found and its `If-Match` holds) and `change` a call on the `Editing`.
macro_rules! one_change {
    ($($name:ident($body:ty) $message:literal |$t:ident, $tx:ident, $parsed:ident| $change:expr;)*) => {$(
        async fn $name(
            write: Write<'_>,
            body: DeferredJson<$body>,
        ) -> ApiResult<Changed<TicketResource>> {
            edit_and_show(write, $message, async |$t, $tx| {
                let $parsed = body.parse()?;
                $change.await
            })
            .await
        }
    )*};
}

one_change! {
    status(StatusRequest) "Status updated." |t, tx, body| t.set_status(tx, body.status);
    priority(PriorityRequest) "Priority updated." |t, tx, body| t.set_priority(tx, body.priority);
    tags(TagsRequest) "Tags updated." |t, tx, body| t.sync_tags(tx, &body.tag_ids);
}

async fn assign(
    write: Write<'_>,
    body: DeferredJson<AssignRequest>,
) -> ApiResult<Changed<TicketResource>> {
    let (agent, ticket) = write
        .edit_shown(async |t, tx| {
            let agent = match body.parse()?.agent_id {
                MaybeUndefined::Undefined => {
                    return Err(Error::field("agent_id", validate::required("agent_id")));
                }
                MaybeUndefined::Null => None,
                MaybeUndefined::Value(id) => Some(id),
            };
            t.assign(tx, agent).await?;
            Ok(agent)
        })
        .await?;
    let message = if agent.is_some() {
        "Ticket assigned."
    } else {
        "Ticket unassigned."
    };
    let (ticket, etag) = shown(write.state, ticket);
    Ok(changed(ticket, message, etag))
}

async fn follow(write: Write<'_>) -> ApiResult<Changed<FollowState>> {
    let state = write.state;
    let (following, followers_count, version) = operations::toggle_follow(
        &state.store,
        state.rules_now(),
        &write.actor(),
        write.target(),
    )
    .await?;
    let message = if following {
        "Following ticket."
    } else {
        "Unfollowed ticket."
    };
    Ok(changed(
        FollowState {
            following,
            followers_count,
        },
        message,
        conditional::ticket(version),
    ))
}

async fn delete(write: Write<'_>) -> ApiResult<Json<Done>> {
    let state = write.state;
    operations::delete(
        &state.store,
        state.rules_now(),
        &write.actor(),
        write.target(),
    )
    .await?;
    Ok(done("Ticket deleted."))
}

#[cfg(test)]
mod tests {
    use poem::IntoResponse;

    use super::*;

    fn page(references: &[&str]) -> ChangePage {
        ChangePage {
            data: references
                .iter()
                .map(|r| {
                    TicketChange::Deleted(DeletedTicket {
                        reference: (*r).into(),
                        deleted: true,
                    })
                })
                .collect(),
            meta: ChangesMeta {
                per_page: 2,
                next_cursor: "next".into(),
            },
        }
    }

    #[tokio::test]
    async fn a_change_page_goes_out_as_the_bytes_json_would_send() {
        for references in [&[][..], &["ESC-00001"], &["ESC-00001", "ESC-00002"]] {
            let whole = Json(page(references)).into_response();
            let streamed = ChangePageBody(page(references)).into_response();
            assert_eq!(
                streamed.headers().get("content-type"),
                whole.headers().get("content-type")
            );
            let whole = whole.into_body().into_bytes().await.unwrap();
            let streamed = streamed.into_body().into_bytes().await.unwrap();
            assert_eq!(streamed, whole, "{}", String::from_utf8_lossy(&whole));
        }
    }
}
