//! The ticket callbacks of the host table: plugins read and change tickets through the same
//! domain operations as the API, so rules, activities and events are the same. A call acts as
//! the user named by `user_id` (an active agent or admin) or, without one, as the system.

use serde_json::{Value, json};

use crate::{
    domain::{
        tags,
        tickets::{
            Actor, Priority, Status, TicketRules, TicketType,
            list::{self, ListQuery},
            operations::edit_as,
            view::{self, TicketView},
        },
        users, validate,
    },
    error::{Error, Result},
    store::{Store, keyset::Window},
    time::Clock,
};

/// What a ticket call works with: the store, the server's rules and clock, and how a ticket
/// is shown.
pub struct Host<'a> {
    pub store: &'a Store,
    pub rules: &'a TicketRules,
    pub clock: &'a Clock,
    pub json: TicketJson,
}

/// A ticket as the API shows it (`api::ticket_resources`), whole and as a list summary. The
/// server hands these in, so the plugin host shows what the API shows without depending on
/// the HTTP layer above it.
#[derive(Clone, Copy)]
pub struct TicketJson {
    pub full: fn(TicketView, &TicketRules) -> Value,
    pub summary: fn(&TicketView, &TicketRules) -> Value,
}

/// Most tickets one `ticket_list` call returns.
const MAX_LIST: i64 = 100;

/// [`edit_as`] with the host's rules, at the moment its clock says.
async fn edit<T>(
    host: &Host<'_>,
    actor: Option<&Actor>,
    reference: &str,
    change: impl AsyncFnOnce(
        &mut crate::domain::tickets::editing::Editing,
        &mut crate::store::Tx,
    ) -> Result<T>,
) -> Result<T> {
    let at = (host.rules, host.clock.now());
    edit_as(host.store, at, actor, reference, change).await
}

fn reference(input: &Value) -> Result<&str> {
    input["reference"]
        .as_str()
        .ok_or_else(|| Error::field("reference", validate::required("reference")))
}

/// The acting user: `user_id` when given (an active agent or admin), else the system.
async fn actor(store: &Store, input: &Value) -> Result<Option<Actor>> {
    let Some(id) = input["user_id"].as_i64() else {
        return Ok(None);
    };
    match users::find(store, id).await? {
        Some(u) if u.is_active && u.role.is_staff() => Ok(Some(Actor {
            user_id: u.id,
            role: u.role,
        })),
        _ => Err(Error::field(
            "user_id",
            "The user id must be an active agent or admin.",
        )),
    }
}

/// The ticket as `GET /tickets/{reference}` shows it.
pub async fn get(host: &Host<'_>, input: Value) -> Result<Value> {
    let viewer = input["user_id"].as_i64().unwrap_or(0);
    let ticket = view::load(&mut *host.store.conn().await?, reference(&input)?, viewer).await?;
    Ok((host.json.full)(ticket, host.rules))
}

fn parsed<T>(input: &Value, field: &str, parse: fn(&str) -> Option<T>) -> Result<Option<T>> {
    match input[field].as_str() {
        None => Ok(None),
        Some(text) => parse(text)
            .map(Some)
            .ok_or_else(|| Error::field(field, validate::invalid(field))),
    }
}

/// A page of summaries for filters named as the query of `GET /tickets`.
pub async fn list(host: &Host<'_>, input: Value) -> Result<Value> {
    let per_page = input["per_page"].as_i64().unwrap_or(25).clamp(1, MAX_LIST);
    let page = input["page"].as_i64().unwrap_or(1).max(1);
    let query = ListQuery {
        status: parsed(&input, "status", Status::parse)?,
        priority: parsed(&input, "priority", Priority::parse)?,
        ticket_type: parsed(&input, "ticket_type", TicketType::parse)?,
        department_id: input["department_id"].as_i64(),
        assigned_to: input["assigned_to"].as_i64(),
        unassigned: input["unassigned"].as_bool().unwrap_or(false),
        search: input["search"].as_str().map(str::to_string),
        sla_breached: input["sla_breached"].as_bool().unwrap_or(false),
        window: Window::Offset {
            limit: per_page,
            offset: (page - 1) * per_page,
        },
        ..ListQuery::default()
    };
    let page = list::list(host.store, input["user_id"].as_i64().unwrap_or(0), &query).await?;
    let total = page.total;
    let data: Vec<Value> = page
        .items
        .iter()
        .map(|t| (host.json.summary)(t, host.rules))
        .collect();
    Ok(json!({ "data": data, "total": total }))
}

/// Adds a public reply (`internal` false) or an internal note.
pub async fn add_reply(host: &Host<'_>, input: Value, internal: bool) -> Result<Value> {
    let actor = actor(host.store, &input).await?;
    let body = input["body"].as_str().unwrap_or_default().to_string();
    let id = edit(host, actor.as_ref(), reference(&input)?, async |t, tx| {
        t.reply(tx, &body, internal).await
    })
    .await?;
    Ok(json!({ "id": id }))
}

pub async fn set_status(host: &Host<'_>, input: Value) -> Result<Value> {
    let actor = actor(host.store, &input).await?;
    let status = parsed(&input, "status", Status::parse)?
        .ok_or_else(|| Error::field("status", validate::required("status")))?;
    let changed = edit(host, actor.as_ref(), reference(&input)?, async |t, tx| {
        t.set_status(tx, status).await
    })
    .await?;
    Ok(json!({ "changed": changed }))
}

pub async fn set_priority(host: &Host<'_>, input: Value) -> Result<Value> {
    let actor = actor(host.store, &input).await?;
    let priority = parsed(&input, "priority", Priority::parse)?
        .ok_or_else(|| Error::field("priority", validate::required("priority")))?;
    let changed = edit(host, actor.as_ref(), reference(&input)?, async |t, tx| {
        t.set_priority(tx, priority).await
    })
    .await?;
    Ok(json!({ "changed": changed }))
}

fn names(input: &Value, field: &str) -> Vec<String> {
    input[field]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Adds and removes tags by name; every name must be an existing tag.
pub async fn set_tags(host: &Host<'_>, input: Value) -> Result<Value> {
    let actor = actor(host.store, &input).await?;
    let (add, remove) = (names(&input, "add"), names(&input, "remove"));
    edit(host, actor.as_ref(), reference(&input)?, async |t, tx| {
        let adding = tags::named(tx, &add).await?;
        let removing = tags::named(tx, &remove).await?;
        if adding.len() < add.len() {
            return Err(Error::field("add", "Every tag to add must exist."));
        }
        t.remove_tags(tx, &removing).await?;
        t.add_tags(tx, &adding).await
    })
    .await?;
    Ok(json!({}))
}
