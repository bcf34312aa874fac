//! Opening a ticket.

use serde_json::json;
use sqlx::AnyConnection;

use super::{
    Actor, MAX_BODY, MAX_SUBJECT, Priority, Status, TicketType, activity, activity::Kind,
    editing::existing_tags, operations, sla,
};
use crate::{
    domain::{attachments, events, roles::Role, validate},
    error::{Error, FieldErrors, Result},
    store::{
        Store, Tx,
        attachments::Target,
        ticket_links::{self, SlaPolicyRef},
        tickets::{self, NewTicket},
        users,
    },
    time::Timestamp,
};

/// Someone the ticket is raised for; found by email or created as a customer.
#[derive(Debug, Clone)]
pub struct RequesterInput {
    pub name: Option<String>,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct NewTicketInput {
    pub subject: String,
    pub description: String,
    pub priority: Option<Priority>,
    pub ticket_type: Option<TicketType>,
    pub department_id: Option<i64>,
    pub tag_ids: Vec<i64>,
    pub requester: Option<RequesterInput>,
    pub channel: &'static str,
    /// Uploads of the actor to attach (contract §9.5).
    pub attachment_ids: Vec<i64>,
}

/// Creates the ticket at `now` and returns its reference.
pub async fn create(
    store: &Store,
    now: Timestamp,
    actor: &Actor,
    input: NewTicketInput,
    reference_prefix: &str,
) -> Result<String> {
    Ok(insert(store, now, actor, input, reference_prefix, None)
        .await?
        .0)
}

/// [`create`] answering the new ticket as `actor` sees it, read inside the transaction that
/// creates it (see [`operations::shown`]).
pub async fn create_shown(
    store: &Store,
    now: Timestamp,
    actor: &Actor,
    input: NewTicketInput,
    reference_prefix: &str,
) -> Result<operations::Shown> {
    let (_, shown) = insert(
        store,
        now,
        actor,
        input,
        reference_prefix,
        Some(actor.user_id),
    )
    .await?;
    shown.ok_or_else(|| Error::not_found("Ticket"))
}

#[tracing::instrument(name = "create_ticket", skip_all)]
async fn insert(
    store: &Store,
    now: Timestamp,
    actor: &Actor,
    input: NewTicketInput,
    reference_prefix: &str,
    viewer: Option<i64>,
) -> Result<(String, Option<operations::Shown>)> {
    let mut errors = FieldErrors::new();
    let subject = errors.check(
        "subject",
        validate::line("subject", &input.subject, MAX_SUBJECT),
    );
    let description = errors.check(
        "description",
        validate::body("description", &input.description, MAX_BODY),
    );
    let requester = input.requester.as_ref().and_then(|r| {
        let email = errors.check(
            "requester.email",
            validate::email("requester.email", &r.email),
        );
        let name = errors.check(
            "requester.name",
            validate::optional("requester.name", r.name.as_deref(), validate::MAX_NAME),
        );
        Some((name?, email?))
    });
    errors.into_result()?;
    let (subject, description) = (subject.unwrap_or_default(), description.unwrap_or_default());
    let priority = input.priority.unwrap_or_default();

    // What the ticket refers to is read before the write lock is taken: on SQLite every
    // statement inside it is a round trip that holds up every other writer.
    let mut conn = store.conn().await?;
    let mut errors = FieldErrors::new();
    let department = match input.department_id {
        Some(id) => match ticket_links::department(&mut conn, id).await? {
            Some(d) if d.is_active != 0 => Some(d),
            _ => {
                errors.add("department_id", validate::invalid("department_id"));
                None
            }
        },
        None => None,
    };
    let tags = match existing_tags(&mut conn, "tags", &input.tag_ids).await {
        Ok(tags) => tags,
        Err(Error::Validation(e)) => {
            for (field, message) in e.iter() {
                errors.add(field.clone(), message.clone());
            }
            Vec::new()
        }
        Err(other) => return Err(other),
    };
    match attachments::check_claimable(&mut conn, &input.attachment_ids, actor.user_id, now).await {
        Ok(()) => {}
        Err(Error::Validation(e)) => {
            for (field, message) in e.iter() {
                errors.add(field.clone(), message.clone());
            }
        }
        Err(other) => return Err(other),
    }
    errors.into_result()?;
    let policy = policy_for(&mut conn, department.as_ref().and_then(|d| d.sla_policy_id)).await?;
    drop(conn);

    let mut tx = store.begin().await?;
    let requester_id = match requester {
        None => actor.user_id,
        Some((name, email)) => find_or_create_customer(&mut tx, name, &email, now).await?,
    };
    let targets = policy
        .as_ref()
        .map(|p| sla::targets(p, priority, now, 0))
        .unwrap_or_default();
    let ticket = NewTicket {
        subject: &subject,
        description: &description,
        status: Status::Open.as_str(),
        priority: priority.rank(),
        ticket_type: input.ticket_type.unwrap_or_default().as_str(),
        channel: input.channel,
        requester_id,
        department_id: department.as_ref().map(|d| d.id),
        sla_policy_id: policy.as_ref().map(|p| p.id),
        first_response_due_at: targets.first_response_due_at,
        resolution_due_at: targets.resolution_due_at,
    };
    let (id, reference) = tickets::insert(&mut tx, &ticket, reference_prefix, now).await?;
    for tag in &tags {
        tickets::add_tag(&mut tx, id, tag.id).await?;
    }
    let target = Target {
        ticket_id: id,
        reply_id: None,
        is_internal: false,
    };
    let files =
        attachments::attach(&mut tx, &input.attachment_ids, actor.user_id, target, now).await?;
    let extra = if files.is_empty() {
        json!({})
    } else {
        json!({ "attachments": files })
    };
    activity::record(&mut tx, id, Some(actor), Kind::Created, json!({}), now);
    // Everything the event says is at hand: no need to read the row back.
    let snapshot = events::TicketSnapshot {
        id,
        reference: &reference,
        subject: ticket.subject,
        status: ticket.status,
        priority: priority.as_str(),
        ticket_type: ticket.ticket_type,
        requester_id,
        assignee_id: None,
        department_id: ticket.department_id,
    };
    events::record(&mut tx, "ticket.created", snapshot, extra, now);
    let shown = match viewer {
        Some(viewer) => Some(operations::shown(&mut tx, &reference, viewer).await?),
        None => None,
    };
    tx.commit().await?;
    Ok((reference, shown))
}

/// The department's active policy, else the active default one, else none.
async fn policy_for(
    conn: &mut AnyConnection,
    department_policy: Option<i64>,
) -> Result<Option<SlaPolicyRef>> {
    if let Some(id) = department_policy
        && let Some(policy) = ticket_links::sla_policy(conn, id).await?
        && policy.is_active != 0
    {
        return Ok(Some(policy));
    }
    ticket_links::default_sla_policy(conn).await
}

async fn find_or_create_customer(
    tx: &mut Tx,
    name: Option<String>,
    email: &str,
    now: i64,
) -> Result<i64> {
    if let Some(user) = users::find_by_email(tx, email).await? {
        return Ok(user.id);
    }
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_string());
    users::insert(tx, &name, email, Role::Customer.as_str(), true, now).await
}
