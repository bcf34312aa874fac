//! Bulk seeding: realistic tickets, conversations, tags, followers and activities written with
//! multi-row INSERTs in large transactions, so a million tickets take minutes, not hours. Rows
//! are written straight to the tables (the domain would be ~100x slower); the shapes match what
//! the domain writes.

use std::time::Instant;

use escalated::store::Store;
use rand::{
    Rng, SeedableRng,
    distr::{Distribution, weighted::WeightedIndex},
    rngs::StdRng,
    seq::IndexedRandom,
};
use sqlx::{Any, QueryBuilder};

/// Rows per INSERT statement.
const BATCH: usize = 500;

pub use crate::words::DETAILS;

/// Topics: each ticket is about one, named in its subject and description, so a topic word is
/// in about 1 ticket in 24 (as a product word is in a real helpdesk, where search is selective).
pub const TOPICS: [&str; 24] = [
    "printer",
    "invoice",
    "login",
    "password",
    "export",
    "refund",
    "dashboard",
    "upload",
    "email",
    "billing",
    "search",
    "webhook",
    "mobile",
    "sync",
    "timeout",
    "crash",
    "report",
    "account",
    "upgrade",
    "invite",
    "calendar",
    "api",
    "slow",
    "error",
];
const STATUSES: [&str; 6] = [
    "open",
    "open",
    "in_progress",
    "waiting_on_customer",
    "resolved",
    "closed",
];
const TYPES: [&str; 4] = ["question", "problem", "incident", "task"];

/// One ticket row to seed.
struct SeedTicket {
    id: i64,
    subject: String,
    description: String,
    status: &'static str,
    priority: i64,
    kind: &'static str,
    requester: i64,
    assignee: Option<i64>,
    department: Option<i64>,
    created: i64,
}

pub struct Seeded {
    pub tickets: i64,
    pub agents: Vec<i64>,
    pub seconds: f64,
}

/// The everyday words around the topic: each is in most tickets, as in real ones.
pub const FILLER: [&str; 40] = [
    "please", "help", "since", "today", "cannot", "working", "again", "issue", "problem", "thanks",
    "customer", "team", "after", "before", "still", "every", "morning", "getting", "need",
    "office", "page", "screen", "users", "shows", "would", "could", "there", "because", "while",
    "other", "first", "last", "week", "broken", "wrong", "missing", "new", "old", "our", "my",
];

/// `words` words about `topic`: the topic once, somewhere, among filler words.
fn sentence(rng: &mut StdRng, topic: &str, words: usize) -> String {
    let at = rng.random_range(0..words);
    (0..words)
        .map(|i| {
            if i == at {
                topic
            } else {
                FILLER.choose(rng).unwrap()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Two [`DETAILS`] words drawn by rank (the word of rank `r` weighs `1 / r`), appended to a
/// description.
fn with_details(rng: &mut StdRng, ranks: &WeightedIndex<f64>, description: String) -> String {
    let (a, b) = (ranks.sample(rng), ranks.sample(rng));
    format!("{description} {} {}", DETAILS[a], DETAILS[b])
}

/// Runs `rows` through `push` in INSERTs of [`BATCH`] rows, committing every 20 batches.
async fn insert_rows<T>(
    store: &Store,
    head: &'static str,
    rows: impl Iterator<Item = T>,
    mut push: impl FnMut(sqlx::query_builder::Separated<'_, Any, &'static str>, T),
) -> anyhow::Result<()> {
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let mut tx = store.begin().await?;
        for _ in 0..20 {
            let chunk: Vec<T> = rows.by_ref().take(BATCH).collect();
            if chunk.is_empty() {
                break;
            }
            let mut q = QueryBuilder::<Any>::new(head);
            q.push_values(chunk, &mut push);
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Seeds `n` tickets (with about 2 replies, 2 activities and 1 tag each) into a migrated,
/// empty database. Ticket ids are 1..=n, so references are `ESC-{id:05}`.
pub async fn seed(store: &Store, n: i64) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(7);
    let now = escalated::time::now();
    let customers = (n / 5).clamp(50, 20_000);
    // Users: id 1 is the bootstrap admin when it exists; agents and customers follow.
    let first_user: i64 = sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM users")
        .fetch_one(store.pool())
        .await?
        .unwrap_or(0)
        + 1;
    let agents: Vec<i64> = (first_user..first_user + 20).collect();
    insert_rows(
        store,
        "INSERT INTO users (id, name, email, role, is_active, created_at, updated_at) ",
        (0..20 + customers).map(|i| i + first_user),
        |mut b, id| {
            let agent = id < first_user + 20;
            b.push_bind(id)
                .push_bind(format!("{} {id}", if agent { "Agent" } else { "Customer" }))
                .push_bind(format!("user{id}@bench.example.com"))
                .push_bind(if agent { "agent" } else { "customer" })
                .push_bind(1i64)
                .push_bind(now)
                .push_bind(now);
        },
    )
    .await?;
    insert_rows(
        store,
        "INSERT INTO departments (id, name, is_active, created_at, updated_at) ",
        1..=5i64,
        |mut b, id| {
            b.push_bind(id)
                .push_bind(format!("Department {id}"))
                .push_bind(1i64)
                .push_bind(now)
                .push_bind(now);
        },
    )
    .await?;
    insert_rows(
        store,
        "INSERT INTO tags (id, name, color, created_at, updated_at) ",
        1..=20i64,
        |mut b, id| {
            b.push_bind(id)
                .push_bind(format!("tag-{id}"))
                .push_bind("#6B7280")
                .push_bind(now)
                .push_bind(now);
        },
    )
    .await?;

    // Tickets spread over the last year, oldest first.
    let span = 365 * 86_400;
    let ranks = WeightedIndex::new((1..=DETAILS.len()).map(|r| 1.0 / r as f64))?;
    let tickets: Vec<SeedTicket> = (1..=n)
        .map(|id| {
            let topic = TOPICS.choose(&mut rng).unwrap();
            let subject = sentence(&mut rng, topic, 5);
            let description = sentence(&mut rng, topic, 30);
            SeedTicket {
                id,
                subject,
                description: with_details(&mut rng, &ranks, description),
                status: STATUSES.choose(&mut rng).unwrap(),
                priority: rng.random_range(1..=5),
                kind: TYPES.choose(&mut rng).unwrap(),
                requester: first_user + 20 + rng.random_range(0..customers),
                assignee: rng
                    .random_bool(0.7)
                    .then(|| *agents.choose(&mut rng).unwrap()),
                department: rng.random_bool(0.8).then(|| rng.random_range(1..=5)),
                created: now - span + span * id / n.max(1),
            }
        })
        .collect();
    insert_rows(
        store,
        "INSERT INTO tickets (id, reference, subject, description, status, priority, ticket_type, \
         channel, requester_id, assignee_id, department_id, sla_policy_id, first_response_due_at, \
         resolution_due_at, sla_breached, resolved_at, created_at, updated_at, change_seq) ",
        tickets.iter(),
        |mut b, t| {
            let resolved = matches!(t.status, "resolved" | "closed").then_some(t.created + 3600);
            b.push_bind(t.id)
                .push_bind(format!("ESC-{:05}", t.id))
                .push_bind(t.subject.clone())
                .push_bind(t.description.clone())
                .push_bind(t.status)
                .push_bind(t.priority)
                .push_bind(t.kind)
                .push_bind("api")
                .push_bind(t.requester)
                .push_bind(t.assignee)
                .push_bind(t.department)
                .push_bind(1i64)
                .push_bind(t.created + 8 * 3600)
                .push_bind(t.created + 48 * 3600)
                .push_bind((t.id % 17 == 0) as i64)
                .push_bind(resolved)
                .push_bind(t.created)
                .push_bind(t.created + 600)
                // The change feed's order: as the migration numbers tickets that exist.
                .push_bind(t.id);
        },
    )
    .await?;
    insert_rows(
        store,
        "INSERT INTO replies (ticket_id, author_id, body, is_internal_note, created_at) ",
        tickets.iter().flat_map(|t| {
            [
                (t.id, t.requester, t.created + 60, 0i64),
                (
                    t.id,
                    t.assignee.unwrap_or(agents[0]),
                    t.created + 120,
                    (t.id % 5 == 0) as i64,
                ),
            ]
        }),
        |mut b, (ticket, author, at, note)| {
            b.push_bind(ticket)
                .push_bind(author)
                .push_bind("Thanks, looking into it now.")
                .push_bind(note)
                .push_bind(at);
        },
    )
    .await?;
    insert_rows(
        store,
        "INSERT INTO activities (ticket_id, causer_id, type, properties, created_at) ",
        tickets.iter().flat_map(|t| {
            [
                (t.id, t.requester, "created", "{}", t.created),
                (
                    t.id,
                    agents[0],
                    "replied",
                    "{\"reply_id\":0}",
                    t.created + 120,
                ),
            ]
        }),
        |mut b, (ticket, causer, kind, props, at)| {
            b.push_bind(ticket)
                .push_bind(causer)
                .push_bind(kind)
                .push_bind(props)
                .push_bind(at);
        },
    )
    .await?;
    insert_rows(
        store,
        "INSERT INTO ticket_tags (ticket_id, tag_id) ",
        tickets
            .iter()
            .filter(|t| t.id % 3 != 0)
            .map(|t| (t.id, 1 + t.id % 20)),
        |mut b, (ticket, tag)| {
            b.push_bind(ticket).push_bind(tag);
        },
    )
    .await?;
    insert_rows(
        store,
        "INSERT INTO ticket_followers (ticket_id, user_id, created_at) ",
        tickets
            .iter()
            .filter(|t| t.id % 4 == 0)
            .map(|t| (t.id, agents[(t.id % 20) as usize], t.created)),
        |mut b, (ticket, user, at)| {
            b.push_bind(ticket).push_bind(user).push_bind(at);
        },
    )
    .await?;
    // The next change is numbered after every seeded ticket, as the migration leaves it.
    sqlx::query("UPDATE change_sequence SET seq = ? WHERE id = 1 AND seq < ?")
        .bind(n)
        .bind(n)
        .execute(store.pool())
        .await?;
    Ok(Seeded {
        tickets: n,
        agents,
        seconds: started.elapsed().as_secs_f64(),
    })
}
