//! `escalated seed --demo`: agents, departments, tags, canned responses, macros and a few
//! hundred tickets with conversations, so a newcomer can try every endpoint at once. Everything
//! goes through the domain operations, so the data (activities, events, SLA times) is exactly
//! what real use would produce. The same seed gives the same data.
//!
//! The caller runs it inside one transaction ([`Store::in_one_transaction`]): all of it or
//! nothing. Run again on a seeded database it does nothing; names the demo shares with data
//! already there (a `vip` tag, a `Support` department, an agent's email) are reused, not
//! created twice.

use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};

use crate::{
    domain::{
        actions::RawAction,
        canned_responses::{self, CannedInput},
        departments::{self, DepartmentInput},
        macros::{self, MacroInput},
        roles::Role,
        scripts::Scripts,
        tags::{self, TagInput},
        tickets::{
            Actor, Priority, Status, TicketRules, TicketType,
            create::{self, NewTicketInput, RequesterInput},
            operations::edit,
        },
        users::{self, NewUser},
    },
    error::Error,
    store::Store,
    time::Clock,
};

/// How many tickets `escalated seed --demo` makes unless told.
pub const DEMO_TICKETS: usize = 300;

/// Marks a database that already has the demo data.
const FIRST_AGENT: &str = "ava.agent@demo.example.com";

const AGENTS: [&str; 6] = ["Ava", "Ben", "Chloe", "Dev", "Elif", "Femi"];
const CUSTOMERS: [&str; 12] = [
    "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Luca", "Mara", "Nils", "Omar", "Priya", "Quinn",
    "Rosa",
];
const TAGS: [(&str, &str); 8] = [
    ("bug", "#DC2626"),
    ("billing", "#2563EB"),
    ("vip", "#D97706"),
    ("refund", "#7C3AED"),
    ("feature-request", "#059669"),
    ("login", "#0891B2"),
    ("outage", "#B91C1C"),
    ("follow-up", "#6B7280"),
];
const SUBJECTS: [&str; 12] = [
    "Cannot log in after password reset",
    "Invoice shows the wrong VAT rate",
    "Export to CSV times out",
    "Please add dark mode",
    "Refund for a double charge",
    "Dashboard is blank in Safari",
    "API returns 500 on large uploads",
    "How do I invite my team?",
    "Two-factor codes never arrive",
    "Upgrade to the annual plan",
    "Search misses recent tickets",
    "Webhook deliveries are delayed",
];
const REPLIES: [&str; 6] = [
    "Thanks for reaching out, we're looking into it now.",
    "Could you send a screenshot of what you see?",
    "Here it is, attached. It happens every time.",
    "We found the cause and shipped a fix; can you try again?",
    "Works now, thank you!",
    "Still broken on my side, unfortunately.",
];

#[derive(Debug, Default)]
pub struct DemoReport {
    pub agents: usize,
    pub tickets: usize,
    pub replies: usize,
}

/// Seeds the demo data, its tickets changed under `rules` at the moment `clock` says; `None`
/// when it is already there.
pub async fn demo(
    store: &Store,
    scripts: &Scripts,
    (rules, clock): (&TicketRules, &Clock),
    tickets: usize,
    reference_prefix: &str,
) -> anyhow::Result<Option<DemoReport>> {
    if users::find_by_email(store, FIRST_AGENT).await?.is_some() {
        return Ok(None);
    }
    let mut rng = StdRng::seed_from_u64(42);
    let mut report = DemoReport::default();

    let mut agents = Vec::new();
    for name in AGENTS {
        let email = format!("{}.agent@demo.example.com", name.to_lowercase());
        let user = match users::find_by_email(store, &email).await? {
            Some(user) if user.is_active && user.role != Role::Customer => user,
            Some(_) => anyhow::bail!("{email} exists but is not an active agent"),
            None => {
                users::create(
                    store,
                    NewUser {
                        name: format!("{name} Agent"),
                        email,
                        role: "agent".into(),
                        is_active: Some(true),
                    },
                )
                .await?
            }
        };
        agents.push(Actor {
            user_id: user.id,
            role: user.role,
        });
    }
    report.agents = agents.len();
    let agent_ids: Vec<i64> = agents.iter().map(|a| a.user_id).collect();

    let mut department_ids = Vec::new();
    for (i, name) in ["Support", "Billing", "Engineering"]
        .into_iter()
        .enumerate()
    {
        if let Some(existing) =
            crate::store::departments::find_by_name(&mut *store.conn().await?, name).await?
        {
            department_ids.push(existing.id);
            continue;
        }
        let department = departments::create(
            store,
            DepartmentInput {
                name: Some(name.into()),
                description: Some(Some(format!("The {name} team."))),
                is_active: Some(true),
                agent_ids: Some(agent_ids[i * 2..i * 2 + 2].to_vec()),
                sla_policy_id: None,
            },
        )
        .await?;
        department_ids.push(department.id);
    }

    let mut tag_ids = Vec::new();
    for (name, color) in TAGS {
        if let Some(existing) =
            crate::store::tags::find_by_name(&mut *store.conn().await?, name).await?
        {
            tag_ids.push(existing.id);
            continue;
        }
        let tag = tags::create(
            store,
            TagInput {
                name: Some(name.into()),
                color: Some(color.into()),
            },
        )
        .await?;
        tag_ids.push(tag.id);
    }

    let lead = agents[0].user_id;
    for (title, body) in [
        (
            "Greeting",
            "Hi {{requester.name}}, thanks for contacting us about {{reference}}.",
        ),
        (
            "Need more details",
            "Could you tell us the steps that lead to the problem?",
        ),
        (
            "Fixed",
            "We have shipped a fix. Please let us know if it still happens.",
        ),
        (
            "Refund issued",
            "Your refund is on its way; it takes 3 to 5 business days.",
        ),
        (
            "Closing",
            "We're closing this ticket; reply any time to reopen it.",
        ),
    ] {
        canned_responses::create(
            store,
            lead,
            CannedInput {
                title: Some(title.into()),
                body: Some(body.into()),
                category: Some(Some("General".into())),
                is_shared: Some(true),
            },
        )
        .await?;
    }
    let action = |kind: &str, value: serde_json::Value| RawAction {
        kind: kind.into(),
        value,
    };
    for (name, actions) in [
        (
            "Resolve with thanks",
            vec![
                action("add_reply", "Glad we could help!".into()),
                action("set_status", "resolved".into()),
            ],
        ),
        (
            "Escalate to engineering",
            vec![
                action("set_priority", "high".into()),
                action("set_department", department_ids[2].into()),
                action("add_tag", "bug".into()),
            ],
        ),
        (
            "Ask for details",
            vec![
                action("add_reply", "Could you send more details?".into()),
                action("set_status", "waiting_on_customer".into()),
            ],
        ),
    ] {
        macros::create(
            store,
            scripts,
            lead,
            MacroInput {
                name: Some(name.into()),
                description: None,
                is_shared: Some(true),
                order: None,
                actions: Some(actions),
                script: None,
            },
        )
        .await?;
    }

    let priorities = [
        Priority::Low,
        Priority::Medium,
        Priority::Medium,
        Priority::High,
        Priority::Urgent,
        Priority::Critical,
    ];
    for n in 0..tickets {
        let agent = agents
            .choose(&mut rng)
            .cloned()
            .unwrap_or_else(|| agents[0].clone());
        let customer = CUSTOMERS[n % CUSTOMERS.len()];
        let subject = SUBJECTS[n % SUBJECTS.len()];
        let how_many = rng.random_range(0..3);
        let tags: Vec<i64> = tag_ids
            .choose_multiple(&mut rng, how_many)
            .copied()
            .collect();
        let reference = create::create(
            store,
            clock.now(),
            &agent,
            NewTicketInput {
                subject: subject.into(),
                description: format!(
                    "{subject}. Reported by {customer}; details follow in the conversation."
                ),
                priority: priorities.choose(&mut rng).copied(),
                ticket_type: TicketType::ALL.choose(&mut rng).copied(),
                department_id: department_ids.choose(&mut rng).copied(),
                tag_ids: tags,
                requester: Some(RequesterInput {
                    name: Some(customer.into()),
                    email: format!("{}@customer.example.com", customer.to_lowercase()),
                }),
                channel: "api",
                attachment_ids: Vec::new(),
            },
            reference_prefix,
        )
        .await?;
        let replies = rng.random_range(0..4);
        let path: &[Status] = match rng.random_range(0..5) {
            0 => &[],
            1 => &[Status::InProgress],
            2 => &[Status::InProgress, Status::WaitingOnCustomer],
            3 => &[Status::InProgress, Status::Resolved],
            _ => &[Status::Resolved, Status::Closed],
        };
        let assignee = rng.random_bool(0.7).then_some(agent.user_id);
        let picks: Vec<(&str, bool)> = (0..replies)
            .map(|i| (*REPLIES.choose(&mut rng).unwrap_or(&REPLIES[0]), i % 3 == 2))
            .collect();
        edit(
            store,
            (rules, clock.now()),
            &agent,
            &reference,
            async |t, tx| {
                t.assign(tx, assignee).await?;
                for (body, internal) in &picks {
                    t.reply(tx, body, *internal).await?;
                }
                for status in path {
                    t.set_status(tx, *status).await?;
                }
                Ok::<_, Error>(())
            },
        )
        .await?;
        report.tickets += 1;
        report.replies += replies;
        if (n + 1) % 50 == 0 {
            tracing::info!(tickets = n + 1, of = tickets, "seeding demo tickets");
        }
    }
    Ok(Some(report))
}

/// Adds the demo's attachment: a log file on a reply of the oldest ticket, by the first agent
/// (contract §9.5: `seed --demo` includes an attachment).
pub async fn demo_attachment(
    store: &Store,
    blobs: &crate::blobs::Blobs,
    config: &crate::config::AttachmentsConfig,
    (rules, clock): (&TicketRules, &Clock),
) -> anyhow::Result<()> {
    let Some(agent) = users::find_by_email(store, FIRST_AGENT).await? else {
        return Ok(());
    };
    let Some(reference) = crate::store::reports::oldest_ticket(&mut *store.conn().await?).await?
    else {
        return Ok(());
    };
    let actor = Actor {
        user_id: agent.id,
        role: Role::Agent,
    };
    let log = b"2026-11-28T10:15:00Z printer-3 ERROR paper jam in tray 2\n\
                2026-11-28T10:15:02Z printer-3 ERROR fuser temperature 240C\n";
    let files = crate::domain::attachments::Files {
        store,
        blobs,
        config,
    };
    let file = crate::domain::attachments::upload(
        files,
        actor.user_id,
        Some("printer-error.log"),
        log.as_slice(),
        "file",
        clock.now(),
    )
    .await?;
    edit(
        store,
        (rules, clock.now()),
        &actor,
        &reference,
        async |t, tx| {
            t.reply_with(tx, "The printer's error log, attached.", false, &[file.id])
                .await
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_texts_fit_the_limits() {
        assert!(
            super::SUBJECTS
                .iter()
                .all(|s| s.len() <= crate::domain::tickets::MAX_SUBJECT)
        );
    }
}
