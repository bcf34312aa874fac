//! Changing one ticket inside one transaction.
//!
//! [`Editing`] holds the locked row; each method applies one rule (and writes its activity),
//! and [`Editing::save`] writes the row back. The API endpoints, macros and scripts all change
//! tickets through these methods, so a change looks the same whoever makes it. Errors name the
//! field of the API request (`status`, `agent_id`, `tag_ids`); callers with other vocabularies
//! (macros) rename them.

use serde_json::json;

use super::{
    Actor, MAX_BODY, Priority, Status, TicketRules, TicketType, activity, activity::Kind, sla,
    ticket,
};
use crate::{
    domain::{attachments, events, roles::Role, validate},
    error::{Error, Result},
    store::{
        Tx,
        attachments::Target,
        replies,
        ticket_links::{self, TagRef},
        tickets::{self, TicketRow},
        users,
    },
    time::Timestamp,
};

pub struct Editing {
    /// The row as it will be saved; its status and priority are kept typed beside it.
    pub row: TicketRow,
    status: Status,
    priority: Priority,
    /// Who acts; `None` is the system (scheduled jobs).
    pub actor: Option<Actor>,
    /// What the change is judged by (the server's).
    pub rules: TicketRules,
    /// The moment of the change (from the server's clock).
    pub now: Timestamp,
    /// Joined to every event this edit emits as `origin` (e.g. the automations that caused it),
    /// so automations can tell their own changes apart.
    pub origin: Option<serde_json::Value>,
    changed: bool,
    /// What lists selected the ticket by as it was opened, to tell whether saving moves it.
    opened: tickets::ListedBy,
}

impl Editing {
    /// Locks the ticket named by `reference` for the rest of the transaction, for a change
    /// at `now` under `rules`; `actor` `None` is the system.
    pub async fn open(
        tx: &mut Tx,
        rules: &TicketRules,
        now: Timestamp,
        reference: &str,
        actor: Option<&Actor>,
    ) -> Result<Editing> {
        let row = tickets::lock_by_reference(tx, reference)
            .await?
            .ok_or_else(|| Error::not_found("Ticket"))?;
        // Whatever the change, the ticket's version and place in the change feed move on.
        tx.touch_ticket(row.id);
        Self::from_row(row, actor.cloned(), rules, now)
    }

    /// Locks the ticket `id` for a change made by the system at `now` under `rules`.
    pub async fn open_as_system(
        tx: &mut Tx,
        rules: &TicketRules,
        id: i64,
        now: Timestamp,
    ) -> Result<Editing> {
        tickets::lock(tx, id).await?;
        // Read under the lock, so no other writer changes it meanwhile.
        let row = tickets::find(tx, id)
            .await?
            .ok_or_else(|| Error::not_found("Ticket"))?;
        tx.touch_ticket(row.id);
        Self::from_row(row, None, rules, now)
    }

    /// An error for a row whose status or priority no version of the server writes.
    fn from_row(
        row: TicketRow,
        actor: Option<Actor>,
        rules: &TicketRules,
        now: Timestamp,
    ) -> Result<Editing> {
        let (status, priority) = ticket::typed_state(&row)?;
        Ok(Editing {
            opened: tickets::ListedBy::of(&row),
            row,
            status,
            priority,
            actor,
            rules: rules.clone(),
            now,
            origin: None,
            changed: false,
        })
    }

    /// `Precondition failed.` unless the ticket is at one of `versions` (a client's `If-Match`;
    /// `None` accepts any). Called right after [`Editing::open`], under the ticket's lock, so
    /// no other write can come between the check and this one.
    pub fn expect(&self, versions: Option<&[i64]>) -> Result<()> {
        match versions {
            Some(versions) if !versions.contains(&self.row.change_seq) => {
                Err(Error::PreconditionFailed)
            }
            _ => Ok(()),
        }
    }

    /// The acting person, for changes only a person can make (following).
    fn person(&self) -> Result<&Actor> {
        self.actor.as_ref().ok_or_else(|| {
            Error::field(
                "follow",
                "Only a person can follow a ticket, not the system.",
            )
        })
    }

    pub fn id(&self) -> i64 {
        self.row.id
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// Records a change: its activity entry, and its event (same properties) in the outbox.
    pub async fn log(
        &mut self,
        tx: &mut Tx,
        kind: Kind,
        properties: serde_json::Value,
    ) -> Result<()> {
        self.changed = true;
        if let Some(event) = kind.event() {
            self.emit(tx, event, properties.clone());
        }
        activity::record(
            tx,
            self.row.id,
            self.actor.as_ref(),
            kind,
            properties,
            self.now,
        );
        Ok(())
    }

    /// Queues an event about this ticket (as it is now) for the outbox.
    pub fn emit(&self, tx: &mut Tx, name: &'static str, mut extra: serde_json::Value) {
        if let (Some(origin), Some(fields)) = (&self.origin, extra.as_object_mut()) {
            fields.insert("origin".into(), origin.clone());
        }
        events::record(tx, name, &self.row, extra, self.now);
    }

    /// Moves along the state machine; the same status is no change.
    pub async fn set_status(&mut self, tx: &mut Tx, next: Status) -> Result<bool> {
        let current = self.status();
        if current == next {
            return Ok(false);
        }
        if !self.rules.allows(current, next) {
            let allowed: Vec<_> = self
                .rules
                .transitions(current)
                .iter()
                .map(|s| s.as_str())
                .collect();
            return Err(Error::field(
                "status",
                format!(
                    "Cannot change status from {current} to {next}. Allowed: {}.",
                    allowed.join(", ")
                ),
            ));
        }
        // The clock first, so a target met by this change is judged with its pause counted.
        self.follow_sla_clock(tx, next).await?;
        match next {
            Status::Resolved => self.row.resolved_at = Some(self.now),
            Status::Closed => self.row.closed_at = Some(self.now),
            Status::Reopened => {
                self.row.resolved_at = None;
                self.row.closed_at = None;
            }
            _ => {}
        }
        self.status = next;
        self.row.status = next.as_str().to_string();
        self.log(
            tx,
            Kind::StatusChanged,
            activity::change(current.as_str(), next.as_str()),
        )
        .await?;
        Ok(true)
    }

    /// The SLA clock stops while the ticket waits on the customer (when so configured) and
    /// resumes, moving its due times later, when the ticket leaves that status.
    async fn follow_sla_clock(&mut self, tx: &mut Tx, next: Status) -> Result<()> {
        if next == Status::WaitingOnCustomer {
            if self.rules.pause_sla_while_waiting {
                sla::pause(&mut self.row, self.now);
            }
        } else if self.row.sla_paused_at.is_some() {
            let clock = self.sla_clock(tx).await?;
            sla::resume(&mut self.row, &clock, self.now);
        }
        Ok(())
    }

    /// How the ticket's policy counts time (calendar time for a policy since removed).
    async fn sla_clock(&self, tx: &mut Tx) -> Result<sla::Clock> {
        Ok(match self.row.sla_policy_id {
            Some(id) => ticket_links::sla_policy(tx, id)
                .await?
                .map_or(sla::Clock::Calendar, |p| sla::Clock::of(&p)),
            None => sla::Clock::Calendar,
        })
    }

    /// Changes the priority; SLA due times follow it.
    pub async fn set_priority(&mut self, tx: &mut Tx, next: Priority) -> Result<bool> {
        let current = self.priority();
        if current == next {
            return Ok(false);
        }
        self.priority = next;
        self.row.priority = next.rank();
        if let Some(policy_id) = self.row.sla_policy_id
            && let Some(policy) = ticket_links::sla_policy(tx, policy_id).await?
        {
            let targets = sla::targets(
                &policy,
                next,
                self.row.created_at,
                self.row.sla_paused_seconds,
            );
            self.row.first_response_due_at = targets.first_response_due_at;
            self.row.resolution_due_at = targets.resolution_due_at;
        }
        self.log(
            tx,
            Kind::PriorityChanged,
            activity::change(current.as_str(), next.as_str()),
        )
        .await?;
        Ok(true)
    }

    pub async fn set_type(&mut self, tx: &mut Tx, next: TicketType) -> Result<bool> {
        let current = self.row.ticket_type.clone();
        if current == next.as_str() {
            return Ok(false);
        }
        self.row.ticket_type = next.as_str().to_string();
        self.log(
            tx,
            Kind::TypeChanged,
            activity::change(current, next.as_str()),
        )
        .await?;
        Ok(true)
    }

    /// Assigns to an active agent or admin; `None` unassigns. Status is left alone.
    pub async fn assign(&mut self, tx: &mut Tx, agent_id: Option<i64>) -> Result<bool> {
        let current = self.row.assignee_id;
        if current == agent_id {
            return Ok(false);
        }
        match agent_id {
            Some(id) => {
                let agent = users::find(tx, id).await?.filter(|u| {
                    u.is_active != 0 && Role::parse(&u.role).is_some_and(Role::is_staff)
                });
                let Some(agent) = agent else {
                    return Err(Error::field(
                        "agent_id",
                        "The agent id must be an active agent or admin.",
                    ));
                };
                self.row.assignee_id = Some(agent.id);
                self.row.assignee_name = Some(agent.name);
                self.row.assignee_email = Some(agent.email);
                self.log(tx, Kind::Assigned, activity::change(current, agent.id))
                    .await?;
            }
            None => {
                self.row.assignee_id = None;
                self.row.assignee_name = None;
                self.row.assignee_email = None;
                self.log(
                    tx,
                    Kind::Unassigned,
                    activity::change(current, serde_json::Value::Null),
                )
                .await?;
            }
        }
        Ok(true)
    }

    /// Moves the ticket to an active department; `None` removes it from any.
    pub async fn set_department(
        &mut self,
        tx: &mut Tx,
        department_id: Option<i64>,
    ) -> Result<bool> {
        let current = self.row.department_id;
        if current == department_id {
            return Ok(false);
        }
        let name = match department_id {
            Some(id) => match ticket_links::department(tx, id).await? {
                Some(d) if d.is_active != 0 => Some(d.name),
                _ => {
                    return Err(Error::field(
                        "department_id",
                        validate::invalid("department_id"),
                    ));
                }
            },
            None => None,
        };
        self.row.department_id = department_id;
        self.row.department_name = name;
        self.log(
            tx,
            Kind::DepartmentChanged,
            activity::change(current, department_id),
        )
        .await?;
        Ok(true)
    }

    /// Adds tags the ticket does not have yet, each logged.
    pub async fn add_tags(&mut self, tx: &mut Tx, tags: &[TagRef]) -> Result<()> {
        let have = self.tag_ids(tx).await?;
        for tag in tags.iter().filter(|t| !have.contains(&t.id)) {
            tickets::add_tag(tx, self.row.id, tag.id).await?;
            self.log(
                tx,
                Kind::TagAdded,
                json!({ "tag": { "id": tag.id, "name": tag.name } }),
            )
            .await?;
        }
        Ok(())
    }

    /// Removes tags the ticket has, each logged.
    pub async fn remove_tags(&mut self, tx: &mut Tx, tags: &[TagRef]) -> Result<()> {
        let have = self.tag_ids(tx).await?;
        for tag in tags.iter().filter(|t| have.contains(&t.id)) {
            tickets::remove_tag(tx, self.row.id, tag.id).await?;
            self.log(
                tx,
                Kind::TagRemoved,
                json!({ "tag": { "id": tag.id, "name": tag.name } }),
            )
            .await?;
        }
        Ok(())
    }

    /// Makes the ticket's tags exactly `wanted` (ids that must exist; `[]` clears).
    pub async fn sync_tags(&mut self, tx: &mut Tx, wanted: &[i64]) -> Result<()> {
        let wanted = existing_tags(tx, "tag_ids", wanted).await?;
        let current = tickets::tags_of(tx, &[self.row.id]).await?;
        let removed: Vec<TagRef> = current
            .into_iter()
            .filter(|c| !wanted.iter().any(|w| w.id == c.id))
            .map(|c| TagRef {
                id: c.id,
                name: c.name,
                color: c.color,
            })
            .collect();
        self.remove_tags(tx, &removed).await?;
        self.add_tags(tx, &wanted).await
    }

    async fn tag_ids(&self, tx: &mut Tx) -> Result<Vec<i64>> {
        Ok(tickets::tags_of(tx, &[self.row.id])
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect())
    }

    /// Adds a public reply or an internal note by the actor (by no one for the system, e.g. an
    /// automation). The first public reply by staff records the first response.
    pub async fn reply(&mut self, tx: &mut Tx, body: &str, internal: bool) -> Result<i64> {
        self.reply_with(tx, body, internal, &[]).await
    }

    /// [`Editing::reply`] carrying the actor's uploads `attachment_ids` (contract §9.5); the
    /// activity and the event list their metadata.
    pub async fn reply_with(
        &mut self,
        tx: &mut Tx,
        body: &str,
        internal: bool,
        attachment_ids: &[i64],
    ) -> Result<i64> {
        let body = validate::body("body", body, MAX_BODY).map_err(|m| Error::field("body", m))?;
        let author = self.actor.clone();
        let id = replies::insert(
            tx,
            self.row.id,
            author.as_ref().map(|a| a.user_id),
            &body,
            internal,
            self.now,
        )
        .await?;
        if !internal {
            self.row.last_reply_at = Some(self.now);
            if self.row.first_response_at.is_none()
                && author
                    .as_ref()
                    .is_some_and(|a| a.role.is_staff() && a.user_id != self.row.requester_id)
            {
                self.row.first_response_at = Some(self.now);
            }
        }
        let kind = if internal {
            Kind::NoteAdded
        } else {
            Kind::Replied
        };
        let mut properties = json!({ "reply_id": id });
        if !attachment_ids.is_empty() {
            let uploader =
                self.actor.as_ref().map(|a| a.user_id).ok_or_else(|| {
                    Error::field("attachment_ids", "Only a person can attach files.")
                })?;
            let target = Target {
                ticket_id: self.row.id,
                reply_id: Some(id),
                is_internal: internal,
            };
            let files = attachments::attach(tx, attachment_ids, uploader, target, self.now).await?;
            properties["attachments"] = json!(files);
        }
        self.log(tx, kind, properties).await?;
        Ok(id)
    }

    /// Follows or unfollows for the actor; returns whether the actor now follows.
    pub async fn toggle_follow(&mut self, tx: &mut Tx) -> Result<bool> {
        let (ticket, user) = (self.row.id, self.person()?.user_id);
        tx.changes_list_members();
        if tickets::is_follower(tx, ticket, user).await? {
            tickets::unfollow(tx, ticket, user).await?;
            Ok(false)
        } else {
            tickets::follow(tx, ticket, user, self.now).await?;
            Ok(true)
        }
    }

    /// Follows for the actor (no toggle), for macros.
    pub async fn follow(&mut self, tx: &mut Tx) -> Result<()> {
        let user = self.person()?.user_id;
        tx.changes_list_members();
        tickets::follow(tx, self.row.id, user, self.now).await
    }

    /// Writes the row back when anything changed, with a `ticket.updated` event.
    pub async fn save(mut self, tx: &mut Tx) -> Result<TicketRow> {
        if self.changed {
            self.row.updated_at = self.now;
            if tickets::ListedBy::of(&self.row) != self.opened {
                tx.changes_list_members();
            }
            tickets::update(tx, &self.row).await?;
            self.emit(tx, "ticket.updated", json!({}));
        }
        Ok(self.row)
    }
}

/// The tags `ids` names, all of which must exist (422 on `field` naming the unknown ones).
pub async fn existing_tags(
    conn: &mut sqlx::AnyConnection,
    field: &str,
    ids: &[i64],
) -> Result<Vec<TagRef>> {
    if ids.len() > super::MAX_TAGS {
        return Err(Error::field(
            field,
            format!(
                "The {} may not have more than {} items.",
                field.replace('_', " "),
                super::MAX_TAGS
            ),
        ));
    }
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let found = ticket_links::tags_by_ids(conn, &unique).await?;
    let missing: Vec<String> = unique
        .iter()
        .filter(|id| !found.iter().any(|t| t.id == **id))
        .map(|id| id.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::field(
            field,
            format!("Unknown tag ids: {}.", missing.join(", ")),
        ));
    }
    Ok(found)
}
