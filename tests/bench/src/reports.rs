//! The reports at size: how long the summary takes, and an export streamed to its end.

use std::time::Instant;

use futures::StreamExt;

/// Every ticket the seed made (it spreads them over the past year) is in this period.
pub const ALL_TIME: &str = "from=2000-01-01";

/// `runs` summaries of the period `query` one after the other, each in milliseconds.
pub async fn summary_ms(
    base: &str,
    token: &str,
    query: &str,
    runs: usize,
) -> anyhow::Result<Vec<f64>> {
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for _ in 0..runs {
        let sent = Instant::now();
        let url = format!("{base}/reports/summary?{query}");
        let answer = crate::get_json(&client, url, token).await?;
        times.push(sent.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            answer["data"]["tickets_created"].is_u64(),
            "not a summary: {answer}"
        );
    }
    Ok(times)
}

#[derive(Debug, Clone)]
pub struct Exported {
    /// Data rows (lines after the header).
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub first_byte_ms: f64,
}

impl Exported {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "rows": self.rows, "bytes": self.bytes, "seconds": self.seconds,
            "first_byte_ms": self.first_byte_ms, "rows_per_second": self.rows_per_second(),
        })
    }
}

/// The CSV export of every ticket, read as it streams and counted line by line (the seed's
/// subjects hold no line breaks, so a line is a row), never held whole.
pub async fn export_tickets_csv(base: &str, token: &str) -> anyhow::Result<Exported> {
    let sent = Instant::now();
    let response = reqwest::Client::new()
        .get(format!(
            "{base}/reports/export/tickets?format=csv&{ALL_TIME}"
        ))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?;
    let first_byte_ms = sent.elapsed().as_secs_f64() * 1000.0;
    let mut stream = response.bytes_stream();
    let (mut lines, mut bytes) = (0u64, 0u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok(Exported {
        rows: lines.saturating_sub(1),
        bytes,
        seconds: sent.elapsed().as_secs_f64(),
        first_byte_ms,
    })
}

/// The median of some timings.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}
