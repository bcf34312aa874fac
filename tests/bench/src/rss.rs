//! The server's resident memory (Linux `/proc`), once or sampled while a long request runs.

use std::time::Duration;

use tokio::{sync::oneshot, task::JoinHandle};

/// The resident memory of process `pid`, in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Lowest, highest and last of the samples taken, in MiB.
#[derive(Debug, Clone, Copy)]
pub struct RssRange {
    pub samples: usize,
    pub first_mib: f64,
    pub min_mib: f64,
    pub max_mib: f64,
    pub last_mib: f64,
}

impl RssRange {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "samples": self.samples, "first_mib": self.first_mib, "min_mib": self.min_mib,
            "max_mib": self.max_mib, "last_mib": self.last_mib,
        })
    }
}

/// Samples a process's memory every `every` until [`Sampler::finish`].
pub struct Sampler {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Vec<f64>>,
}

impl Sampler {
    pub fn start(pid: u32, every: Duration) -> Sampler {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                samples.extend(rss_mib(pid));
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tokio::time::sleep(every) => {}
                }
            }
            samples.extend(rss_mib(pid));
            samples
        });
        Sampler { stop, task }
    }

    /// The range of the samples; `None` when the process could not be read.
    pub async fn finish(self) -> Option<RssRange> {
        let _ = self.stop.send(());
        let samples = self.task.await.ok()?;
        Some(RssRange {
            samples: samples.len(),
            first_mib: *samples.first()?,
            min_mib: samples.iter().copied().fold(f64::INFINITY, f64::min),
            max_mib: samples.iter().copied().fold(0.0, f64::max),
            last_mib: *samples.last()?,
        })
    }
}
