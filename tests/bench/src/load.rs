//! The load generator: `concurrency` tasks send one operation back to back for a fixed time over
//! keep-alive connections; every latency is kept, so percentiles are exact.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    List,
    FilteredList,
    Show,
    Create,
    Reply,
    StatusChange,
}

impl Op {
    pub const ALL: [Op; 6] = [
        Op::List,
        Op::FilteredList,
        Op::Show,
        Op::Create,
        Op::Reply,
        Op::StatusChange,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::FilteredList => "list status+priority+search",
            Op::Show => "show",
            Op::Create => "create",
            Op::Reply => "reply",
            Op::StatusChange => "status change",
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

pub async fn drive(
    base: &str,
    token: &str,
    op: Op,
    tickets: i64,
    concurrency: usize,
    duration: Duration,
) -> Measured {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let workers = (0..concurrency).map(|worker| {
        let (client, base, token) = (client.clone(), base.to_string(), token.to_string());
        async move {
            let mut rng = StdRng::seed_from_u64(worker as u64);
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            // This worker's share of the status pool, and what it last set on each.
            let pool = status_pool(tickets);
            let mine: Vec<i64> = (1..=pool)
                .filter(|id| (*id as usize) % concurrency == worker)
                .collect();
            let mut waiting: HashMap<i64, bool> = HashMap::new();
            let mut turn = 0usize;
            while Instant::now() < deadline {
                let random = rng.random_range(1..=tickets.max(1));
                let request = match op {
                    Op::List => client.get(format!("{base}/tickets")),
                    Op::FilteredList => client.get(format!(
                        "{base}/tickets?status=open&priority=high&search=printer"
                    )),
                    Op::Show => client.get(format!("{base}/tickets/ESC-{random:05}")),
                    Op::Create => client.post(format!("{base}/tickets/create")).json(&json!({
                        "subject": "Printer jams on every page",
                        "description": "Since this morning the office printer jams on every page.",
                        "priority": "high",
                    })),
                    Op::Reply => client
                        .post(format!("{base}/tickets/ESC-{random:05}/reply"))
                        .json(&json!({"body": "Thanks, we are looking into it."})),
                    Op::StatusChange => {
                        let id = if mine.is_empty() {
                            random
                        } else {
                            mine[turn % mine.len()]
                        };
                        turn += 1;
                        let now_waiting = !waiting.get(&id).copied().unwrap_or(false);
                        waiting.insert(id, now_waiting);
                        let status = if now_waiting {
                            "waiting_on_customer"
                        } else {
                            "open"
                        };
                        client
                            .patch(format!("{base}/tickets/ESC-{id:05}/status"))
                            .json(&json!({"status": status}))
                    }
                };
                let sent = Instant::now();
                match request.bearer_auth(&token).send().await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        let _ = resp.bytes().await;
                        latencies.push(sent.elapsed().as_micros() as u32);
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
    }
}
