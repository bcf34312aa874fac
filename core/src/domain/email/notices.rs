//! Which notifications an event causes (contract §9.7): a ticket created → its requester; a
//! public reply by staff → the requester and the followers; an assignment → the agent. Never
//! to the person who wrote the reply, nor to an inactive user.

use serde_json::Value;
use sqlx::AnyConnection;

use super::templates::{self, Template};
use crate::{
    domain::roles::Role,
    error::Result,
    store::{
        email::{self as db, Person},
        events::EventRow,
    },
};

/// One mail to queue.
#[derive(Debug, Clone)]
pub struct Notice {
    pub template: Template,
    pub ticket_id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub html: String,
}

/// The notifications `event` causes, rendered with the templates of `templates_dir`.
pub async fn for_event(
    conn: &mut AnyConnection,
    event: &EventRow,
    templates_dir: &str,
) -> Result<Vec<Notice>> {
    let template = match event.kind.as_str() {
        "ticket.created" => Template::TicketCreated,
        "reply.created" => Template::AgentReply,
        "ticket.assigned" => Template::Assigned,
        _ => return Ok(Vec::new()),
    };
    let data: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    let ticket = &data["ticket"];
    let (Some(ticket_id), Some(reference), Some(requester_id)) = (
        ticket["id"].as_i64(),
        ticket["reference"].as_str(),
        ticket["requester_id"].as_i64(),
    ) else {
        return Ok(Vec::new());
    };
    let Some(requester) = db::person(conn, requester_id).await? else {
        return Ok(Vec::new());
    };
    let mut author_name = String::new();
    let mut body = String::new();
    let recipients: Vec<Person> = match template {
        Template::TicketCreated => vec![requester.clone()],
        Template::AgentReply => {
            let Some(reply) = (match data["reply_id"].as_i64() {
                Some(id) => db::reply(conn, id).await?,
                None => None,
            }) else {
                return Ok(Vec::new());
            };
            let author = match reply.author_id {
                Some(id) => db::person(conn, id).await?,
                None => None,
            };
            // Only staff answers go out: a customer's own reply (often by email) is not
            // mailed back to them.
            let Some(author) = author.filter(|a| Role::parse(&a.role).is_some_and(Role::is_staff))
            else {
                return Ok(Vec::new());
            };
            if reply.is_internal_note != 0 {
                return Ok(Vec::new());
            }
            author_name = author.name.clone();
            body = reply.body;
            let mut people = vec![requester.clone()];
            people.extend(db::followers(conn, ticket_id).await?);
            people.retain(|p| p.id != author.id);
            people
        }
        Template::Assigned => match data["new"].as_i64() {
            Some(agent) => db::person(conn, agent).await?.into_iter().collect(),
            None => Vec::new(),
        },
    };
    let mut seen = Vec::new();
    let mut notices = Vec::new();
    for person in recipients {
        if person.is_active == 0 || seen.contains(&person.id) {
            continue;
        }
        seen.push(person.id);
        let rendered = templates::render(
            template,
            templates_dir,
            reference,
            &[
                ("reference", reference),
                ("subject", ticket["subject"].as_str().unwrap_or_default()),
                ("status", ticket["status"].as_str().unwrap_or_default()),
                ("priority", ticket["priority"].as_str().unwrap_or_default()),
                ("recipient_name", &person.name),
                ("requester_name", &requester.name),
                ("requester_email", &requester.email),
                ("author_name", &author_name),
                ("body", &body),
            ],
        );
        notices.push(Notice {
            template,
            ticket_id,
            recipient: person.email.clone(),
            subject: rendered.subject,
            body: rendered.body,
            html: rendered.html,
        });
    }
    Ok(notices)
}
