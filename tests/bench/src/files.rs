//! Attachments through the server against a plain copy of the same file on the same
//! filesystem: upload (`POST /attachments`), download (`GET /attachments/{id}`) and a `Range`
//! download, each one request at a time, beside `std::fs::copy` (what `cp` does) and a read
//! then write of the whole file through user space.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use rand::Rng;

const BOUNDARY: &str = "escalated-bench-boundary-7f3a9c";

/// Median throughput of each way, in MiB/s.
#[derive(Debug, Clone)]
pub struct FileFigures {
    pub bytes: usize,
    pub rounds: usize,
    pub upload: f64,
    pub download: f64,
    /// The second half of the file (`Range: bytes=HALF-`).
    pub range: f64,
    pub fs_copy: f64,
    pub read_write: f64,
}

impl FileFigures {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "bytes": self.bytes, "rounds": self.rounds, "upload_mib_s": self.upload,
            "download_mib_s": self.download, "range_download_mib_s": self.range,
            "fs_copy_mib_s": self.fs_copy, "read_write_mib_s": self.read_write,
        })
    }
}

/// A text file of `bytes` bytes (sniffed `text/plain`, accepted by default) whose first line
/// holds `nonce`, so no two uploads have the same content and none is deduplicated.
fn text_file(bytes: usize, nonce: &str) -> Vec<u8> {
    let mut out = format!("upload {nonce}\n").into_bytes();
    let mut line = 0u64;
    while out.len() < bytes {
        out.extend_from_slice(
            format!("{line:08} the office printer jams on every page since this morning\n")
                .as_bytes(),
        );
        line += 1;
    }
    out.truncate(bytes);
    out
}

fn multipart(content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.log\"\r\n\
         Content-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn mib_per_s(bytes: usize, took: Duration) -> f64 {
    bytes as f64 / 1_048_576.0 / took.as_secs_f64()
}

/// The median of `times`, as MiB/s for `bytes` bytes each.
fn median_rate(bytes: usize, mut times: Vec<Duration>) -> f64 {
    times.sort();
    mib_per_s(bytes, times[times.len() / 2])
}

/// Measures each way `rounds` times with a file of `bytes` bytes; `dir` is on the filesystem
/// the server stores attachments on (the copies are made there, then removed).
pub async fn measure(
    base: &str,
    token: &str,
    bytes: usize,
    rounds: usize,
    dir: &Path,
) -> anyhow::Result<FileFigures> {
    anyhow::ensure!(rounds > 0 && bytes >= 2, "nothing to measure");
    std::fs::create_dir_all(dir)?;
    let run: u64 = rand::rng().random();
    let source = dir.join("bench-source.log");
    let copy = dir.join("bench-copy.log");
    std::fs::write(&source, text_file(bytes, &format!("{run:016x} source")))?;

    let mut copies = Vec::new();
    let mut read_writes = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        std::fs::copy(&source, &copy)?;
        copies.push(started.elapsed());
        std::fs::remove_file(&copy)?;
        let started = Instant::now();
        let content = std::fs::read(&source)?;
        std::fs::write(&copy, &content)?;
        read_writes.push(started.elapsed());
        std::fs::remove_file(&copy)?;
    }
    std::fs::remove_file(&source)?;

    let client = reqwest::Client::new();
    let mut uploads = Vec::new();
    let mut last = None;
    for round in 0..rounds {
        let content = text_file(bytes, &format!("{run:016x} {round}"));
        let body = multipart(&content);
        let started = Instant::now();
        let answer: serde_json::Value = client
            .post(format!("{base}/attachments"))
            .bearer_auth(token)
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        uploads.push(started.elapsed());
        anyhow::ensure!(
            answer["data"]["size"] == bytes as u64,
            "upload answered {answer}"
        );
        let id = answer["data"]["id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("upload answered {answer}"))?;
        last = Some((id, content));
    }
    let (id, content) = last.expect("at least one round");

    let mut downloads = Vec::new();
    let mut ranges = Vec::new();
    let half = bytes / 2;
    for _ in 0..rounds {
        let started = Instant::now();
        let whole = client
            .get(format!("{base}/attachments/{id}"))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        downloads.push(started.elapsed());
        anyhow::ensure!(whole == content, "the download differs from the upload");
        let started = Instant::now();
        let response = client
            .get(format!("{base}/attachments/{id}"))
            .bearer_auth(token)
            .header("Range", format!("bytes={half}-"))
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 206,
            "range answered {}",
            response.status()
        );
        let part = response.bytes().await?;
        ranges.push(started.elapsed());
        anyhow::ensure!(part[..] == content[half..], "the range differs");
    }
    Ok(FileFigures {
        bytes,
        rounds,
        upload: median_rate(bytes, uploads),
        download: median_rate(bytes, downloads),
        range: median_rate(bytes - half, ranges),
        fs_copy: median_rate(bytes, copies),
        read_write: median_rate(bytes, read_writes),
    })
}
