//! Following the change feed (`GET /tickets/changes`) from its start to its end, as a client
//! that mirrors every ticket does on its first sync.

use std::time::Instant;

use serde::Deserialize;

/// One entry of a page: a ticket in its current state, or a tombstone. Only what is counted is
/// decoded; the rest of each ticket is skipped.
#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    deleted: bool,
}

#[derive(Deserialize)]
struct Meta {
    next_cursor: String,
}

#[derive(Deserialize)]
struct Page {
    data: Vec<Entry>,
    meta: Meta,
}

#[derive(Debug, Clone)]
pub struct Followed {
    pub per_page: usize,
    /// Tickets exported, tombstones included.
    pub tickets: usize,
    pub tombstones: usize,
    pub pages: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub slowest_page_ms: f64,
}

impl Followed {
    pub fn tickets_per_second(&self) -> f64 {
        self.tickets as f64 / self.seconds
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "per_page": self.per_page, "tickets": self.tickets, "tombstones": self.tombstones,
            "pages": self.pages, "bytes": self.bytes, "seconds": self.seconds,
            "tickets_per_second": self.tickets_per_second(),
            "slowest_page_ms": self.slowest_page_ms,
        })
    }
}

/// Follows the feed from the beginning, `per_page` at a time, until a page comes back empty.
pub async fn follow(base: &str, token: &str, per_page: usize) -> anyhow::Result<Followed> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut cursor: Option<String> = None;
    let mut followed = Followed {
        per_page,
        tickets: 0,
        tombstones: 0,
        pages: 0,
        bytes: 0,
        seconds: 0.0,
        slowest_page_ms: 0.0,
    };
    loop {
        let mut url = format!("{base}/tickets/changes?per_page={per_page}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let sent = Instant::now();
        let body = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let page: Page = serde_json::from_slice(&body)?;
        followed.slowest_page_ms = followed
            .slowest_page_ms
            .max(sent.elapsed().as_secs_f64() * 1000.0);
        if page.data.is_empty() {
            break;
        }
        followed.pages += 1;
        followed.bytes += body.len() as u64;
        followed.tickets += page.data.len();
        followed.tombstones += page.data.iter().filter(|e| e.deleted).count();
        cursor = Some(page.meta.next_cursor);
    }
    followed.seconds = started.elapsed().as_secs_f64();
    Ok(followed)
}
