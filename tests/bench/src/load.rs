//! The load generator: `concurrency` tasks send one operation back to back for a fixed time over
//! keep-alive connections; every latency is kept, so percentiles are exact.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    List,
    FilteredList,
    Show,
    /// The first page of the list by priority (`sort_by=priority`).
    ListByPriority,
    /// A cursor page deep in the list (newest first), from cursors the server gave.
    DeepPage,
    /// A cursor page deep in the list by priority.
    DeepPageByPriority,
    Create,
    /// `create` with a fresh `Idempotency-Key` on every request: the key's cost.
    CreateWithKey,
    Reply,
    StatusChange,
    /// Half the connections reply while the other half read the list and the filtered list in
    /// turn; only the reads are timed. Lists must not wait for a recount after every write.
    ListDuringReplies,
    /// A search for each word of the seed's vocabulary ([`search_words`]) once, each with one
    /// of the seed's filters and sorts in turn ([`SEARCH_SHAPES`]): the first request for the
    /// word, which no remembered total or match set holds yet.
    SearchCold,
    /// [`Op::SearchCold`]'s requests, each sent twice in a row and timed the second time: the
    /// same search again, from what the first one left remembered.
    SearchWarm,
}

impl Op {
    /// Reads first, so the writes do not change what they read.
    pub const ALL: [Op; 13] = [
        Op::SearchCold,
        Op::SearchWarm,
        Op::List,
        Op::FilteredList,
        Op::Show,
        Op::ListByPriority,
        Op::DeepPage,
        Op::DeepPageByPriority,
        Op::Create,
        Op::CreateWithKey,
        Op::Reply,
        Op::StatusChange,
        Op::ListDuringReplies,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::FilteredList => "list status+priority+search",
            Op::Show => "show",
            Op::ListByPriority => "list sort=priority",
            Op::DeepPage => "deep cursor page",
            Op::DeepPageByPriority => "deep cursor page sort=priority",
            Op::Create => "create",
            Op::CreateWithKey => "create with Idempotency-Key",
            Op::Reply => "reply",
            Op::StatusChange => "status change",
            Op::ListDuringReplies => "list and search during replies",
            Op::SearchCold => "search, a new word each (cold)",
            Op::SearchWarm => "search, the same words (warm)",
        }
    }

    /// The operation's name on the command line (`--ops`).
    pub fn key(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::FilteredList => "filtered",
            Op::Show => "show",
            Op::ListByPriority => "list-priority",
            Op::DeepPage => "deep",
            Op::DeepPageByPriority => "deep-priority",
            Op::Create => "create",
            Op::CreateWithKey => "create-key",
            Op::Reply => "reply",
            Op::StatusChange => "status",
            Op::ListDuringReplies => "mixed",
            Op::SearchCold => "search-cold",
            Op::SearchWarm => "search-warm",
        }
    }

    pub fn from_key(key: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.key() == key)
    }

    /// Whether the run sends each of [`search_words`] once (and ends when they are sent)
    /// rather than running for a fixed time.
    pub fn runs_the_words(self) -> bool {
        matches!(self, Op::SearchCold | Op::SearchWarm)
    }

    /// The list order whose deep cursors this operation pages from.
    pub fn deep_order(self) -> Option<Order> {
        match self {
            Op::DeepPage => Some(Order::Newest),
            Op::DeepPageByPriority => Some(Order::Priority),
            _ => None,
        }
    }
}

/// The filters and sorts a search run cycles through, one per request (after `search=`).
pub const SEARCH_SHAPES: [&str; 8] = [
    "",
    "&status=open",
    "&priority=high",
    "&department_id=3",
    "&status=open&priority=high",
    "&ticket_type=incident&sort_by=priority",
    "&sort_by=updated_at",
    "&sort_by=created_at&sort_dir=asc",
];

/// Connections of a search run: agents typing new words, not a crowd on one list.
pub const SEARCH_CONCURRENCY: usize = 4;

/// Every word of the seed's vocabulary, each once, rare and common mixed (a fixed shuffle):
/// the detail words, the topics and the filler words.
pub fn search_words() -> Vec<&'static str> {
    use rand::seq::SliceRandom;
    let mut words: Vec<&str> = crate::seed::DETAILS
        .iter()
        .chain(&crate::seed::TOPICS)
        .chain(&crate::seed::FILLER)
        .copied()
        .collect();
    words.shuffle(&mut StdRng::seed_from_u64(11));
    words
}

/// A list order the deep-page operations use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The default: newest first.
    Newest,
    /// `sort_by=priority` (descending, the default direction).
    Priority,
}

impl Order {
    /// The list's query string, before `&cursor=` or `&page=`.
    pub fn query(self) -> &'static str {
        match self {
            Order::Newest => "per_page=25",
            Order::Priority => "per_page=25&sort_by=priority",
        }
    }
}

/// Cursors deep in each list order, as the server gave them (`meta.next_cursor` of a page
/// reached by `page=N`): genuine positions, not made up.
#[derive(Debug, Clone, Default)]
pub struct DeepCursors {
    pub newest: Vec<String>,
    pub priority: Vec<String>,
}

impl DeepCursors {
    /// `count` cursors of `order` spread from a quarter of the list to near its end, each the
    /// cursor after page `page` of 25 (read once with `page=`, however slowly). Returns the
    /// pages they follow too.
    pub async fn fetch(
        base: &str,
        token: &str,
        order: Order,
        tickets: i64,
        count: usize,
    ) -> anyhow::Result<(Vec<String>, Vec<i64>)> {
        let client = reqwest::Client::new();
        let pages = tickets / 25;
        let mut cursors = Vec::new();
        let mut at = Vec::new();
        for i in 0..count {
            // From 1/4 to 19/20 of the list.
            let page = (pages / 4 + (pages * 7 / 10) * i as i64 / count.max(1) as i64).max(1);
            let url = format!("{base}/tickets?{}&page={page}", order.query());
            let answer = crate::get_json(&client, url, token).await?;
            let cursor = answer["meta"]["next_cursor"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("page {page} has no next_cursor: {answer}"))?;
            cursors.push(cursor.to_string());
            at.push(page);
        }
        Ok((cursors, at))
    }

    fn of(&self, order: Order) -> &[String] {
        match order {
            Order::Newest => &self.newest,
            Order::Priority => &self.priority,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Measured {
    pub op: Op,
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Server CPU time per request, in microseconds, when the server is a child process.
    pub server_cpu_us: Option<f64>,
    /// The server's resident memory right after the run, when the server is a child process.
    pub server_rss_mib: Option<f64>,
}

impl Measured {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Tickets the status-change run toggles between `open` and `waiting_on_customer` (both ways
/// are allowed by the state machine); the caller makes them `open` first.
pub fn status_pool(tickets: i64) -> i64 {
    tickets.min(5_000)
}

/// One connection of a run: what it sends next.
struct Worker {
    op: Op,
    tickets: i64,
    rng: StdRng,
    /// This worker's share of the status pool, and what it last set on each.
    mine: Vec<i64>,
    waiting: HashMap<i64, bool>,
    turn: usize,
    /// In the mixed run, the connections that write, and are not timed.
    untimed: bool,
    index: usize,
    /// Seeded from the OS, unlike `rng` (which repeats its choices run after run).
    nonce: u64,
    /// A search run's words, and the next one to send, shared by its connections.
    words: Arc<(Vec<&'static str>, AtomicUsize)>,
    /// The word a warm search run sends again next.
    repeat: Option<usize>,
}

impl Worker {
    fn new(
        op: Op,
        tickets: i64,
        index: usize,
        concurrency: usize,
        words: Arc<(Vec<&'static str>, AtomicUsize)>,
    ) -> Self {
        Worker {
            op,
            tickets,
            rng: StdRng::seed_from_u64(index as u64),
            mine: (1..=status_pool(tickets))
                .filter(|id| (*id as usize) % concurrency == index)
                .collect(),
            waiting: HashMap::new(),
            turn: 0,
            untimed: op == Op::ListDuringReplies && index.is_multiple_of(2),
            index,
            nonce: rand::rng().random(),
            words,
            repeat: None,
        }
    }

    fn request(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        deep: &DeepCursors,
    ) -> Option<reqwest::RequestBuilder> {
        let random = self.rng.random_range(1..=self.tickets.max(1));
        let list = || client.get(format!("{base}/tickets"));
        let filtered_list = || {
            client.get(format!(
                "{base}/tickets?status=open&priority=high&search=printer"
            ))
        };
        let reply = || {
            client
                .post(format!("{base}/tickets/ESC-{random:05}/reply"))
                .json(&json!({"body": "Thanks, we are looking into it."}))
        };
        let create = || {
            client.post(format!("{base}/tickets/create")).json(&json!({
                "subject": "Printer jams on every page",
                "description": "Since this morning the office printer jams on every page.",
                "priority": "high",
            }))
        };
        let deep_page = |order: Order, turn: usize| {
            let cursors = deep.of(order);
            client.get(format!(
                "{base}/tickets?{}&cursor={}",
                order.query(),
                cursors[turn % cursors.len()]
            ))
        };
        self.turn += 1;
        Some(match self.op {
            Op::List => list(),
            Op::FilteredList => filtered_list(),
            Op::Show => client.get(format!("{base}/tickets/ESC-{random:05}")),
            Op::ListByPriority => client.get(format!("{base}/tickets?{}", Order::Priority.query())),
            Op::DeepPage | Op::DeepPageByPriority => {
                let order = self.op.deep_order().expect("a deep page has an order");
                deep_page(order, self.turn + self.index)
            }
            Op::Create => create(),
            // Fresh on every request, in every run: the worker's random nonce and its turn.
            Op::CreateWithKey => create().header(
                "Idempotency-Key",
                format!("bench-{:016x}-{}", self.nonce, self.turn),
            ),
            Op::Reply => reply(),
            Op::StatusChange => {
                let id = if self.mine.is_empty() {
                    random
                } else {
                    self.mine[self.turn % self.mine.len()]
                };
                let now_waiting = !self.waiting.get(&id).copied().unwrap_or(false);
                self.waiting.insert(id, now_waiting);
                let status = if now_waiting {
                    "waiting_on_customer"
                } else {
                    "open"
                };
                client
                    .patch(format!("{base}/tickets/ESC-{id:05}/status"))
                    .json(&json!({"status": status}))
            }
            Op::ListDuringReplies if self.untimed => reply(),
            Op::ListDuringReplies if self.turn.is_multiple_of(2) => list(),
            Op::ListDuringReplies => filtered_list(),
            Op::SearchCold | Op::SearchWarm => {
                let (words, next) = &*self.words;
                // A warm run sends each word twice: untimed, then again, timed.
                let repeated = self.repeat.take();
                let at = repeated.unwrap_or_else(|| next.fetch_add(1, Ordering::Relaxed));
                let word = words.get(at)?;
                self.untimed = self.op == Op::SearchWarm && repeated.is_none();
                if self.untimed {
                    self.repeat = Some(at);
                }
                let shape = SEARCH_SHAPES[at % SEARCH_SHAPES.len()];
                client.get(format!("{base}/tickets?search={word}{shape}"))
            }
        })
    }
}

pub async fn drive(
    base: &str,
    token: &str,
    op: Op,
    tickets: i64,
    concurrency: usize,
    duration: Duration,
    deep: &DeepCursors,
) -> Measured {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    // A search run ends when its words are sent (within a bound, for a slow database).
    let (duration, concurrency) = if op.runs_the_words() {
        (Duration::from_secs(600), SEARCH_CONCURRENCY)
    } else {
        (duration, concurrency)
    };
    let words = Arc::new((search_words(), AtomicUsize::new(0)));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let workers = (0..concurrency).map(|index| {
        let (client, base, token) = (client.clone(), base.to_string(), token.to_string());
        let (deep, words) = (deep.clone(), words.clone());
        async move {
            let mut worker = Worker::new(op, tickets, index, concurrency, words);
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let Some(request) = worker.request(&client, &base, &deep) else {
                    break;
                };
                let sent = Instant::now();
                match request.bearer_auth(&token).send().await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        let _ = resp.bytes().await;
                        if !worker.untimed {
                            latencies.push(sent.elapsed().as_micros() as u32);
                        }
                        if !ok {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }
    });
    let results = futures::future::join_all(workers).await;
    let seconds = started.elapsed().as_secs_f64();
    let mut all: Vec<u32> = Vec::new();
    let mut errors = 0;
    for (latencies, e) in results {
        all.extend(latencies);
        errors += e;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map(|us| *us as f64 / 1000.0)
            .unwrap_or(0.0)
    };
    Measured {
        op,
        requests: all.len(),
        errors,
        seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        server_cpu_us: None,
        server_rss_mib: None,
    }
}
