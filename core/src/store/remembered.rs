//! Remembered query results: `COUNT(*)` totals (on a large table the costliest statement of a
//! list page) and full-text match sets (the ids a common search word matches, which a page walks
//! the list order against). Most pages ask for a figure that was just computed.
//!
//! Each figure remembers the commit generation of this node it was computed at (see
//! [`super::Store`]) and when. Three rules follow:
//!
//! - **Exact after this node's commits.** A figure from an older generation is never served
//!   as exact: it is computed again before the answer, so on one node `meta.total` and search
//!   results are exact.
//! - **Bounded staleness for other nodes' writes.** A figure older than [`REFRESH`] is still
//!   served, and one background recomputation replaces it; a figure older than [`STALE_LIMIT`]
//!   is gone and computed before the answer. So a busy list never waits for a recount (an
//!   InnoDB count of a million rows takes seconds), and another node's writes show within
//!   about [`REFRESH`] plus one computation.
//! - **One computation at a time per key.** Requests that need a figure together wait for one
//!   computation instead of each running it.
//!
//! Estimates (a plan's choice between two query shapes) take any remembered figure, of any
//! generation, and refresh it in the background when it is out of date.

use std::{
    collections::HashSet,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use moka::{future::Cache, ops::compute::Op};
use tokio::time::Instant;

use crate::error::{Error, Result};

/// How long a figure is served before one background recomputation replaces it.
pub const REFRESH: Duration = Duration::from_secs(2);
/// How long a figure may be served at all, however quiet the server has been.
pub const STALE_LIMIT: Duration = Duration::from_secs(60);

/// How much a caller trusts a remembered figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Shown to the client: never from before this node's last commit.
    Exact,
    /// An estimate for a plan: any remembered figure will do.
    Estimate,
}

/// The ids a full-text search matches.
pub type MatchSet = Arc<HashSet<i64>>;

#[derive(Debug, Clone)]
struct Figure<V> {
    value: V,
    generation: u64,
    at: Instant,
}

/// Remembered figures of type `V`, by key.
#[derive(Clone)]
pub struct Remembered<V> {
    figures: Cache<String, Figure<V>>,
    /// Keys with a background recomputation running, so a burst of requests starts only one.
    refreshing: Arc<Mutex<HashSet<String>>>,
}

impl Remembered<i64> {
    /// Totals: up to 10,000 of them.
    pub fn counts() -> Self {
        Self::build(Cache::builder().max_capacity(10_000))
    }
}

impl Remembered<MatchSet> {
    /// Match sets: up to a million ids in all (8 bytes each, plus the set's overhead).
    pub fn match_sets() -> Self {
        Self::build(
            Cache::builder()
                .max_capacity(1_000_000)
                .weigher(|_, f: &Figure<MatchSet>| {
                    u32::try_from(f.value.len()).unwrap_or(u32::MAX).max(1)
                }),
        )
    }
}

impl<V: Clone + Send + Sync + 'static> Remembered<V> {
    fn build(
        builder: moka::future::CacheBuilder<String, Figure<V>, Cache<String, Figure<V>>>,
    ) -> Self {
        Remembered {
            figures: builder.time_to_live(STALE_LIMIT).build(),
            refreshing: Arc::default(),
        }
    }

    /// The figure for `key` at commit `generation` (see the module comment); `compute` makes
    /// it when needed, in this request or in the background.
    pub async fn get<F, Fut>(
        &self,
        key: String,
        generation: u64,
        need: Need,
        compute: F,
    ) -> Result<V>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V>> + Send + 'static,
    {
        if let Some(known) = self.figures.get(&key).await {
            let current = known.generation == generation;
            if current || need == Need::Estimate {
                if !current || known.at.elapsed() >= REFRESH {
                    self.refresh(key, generation, compute);
                }
                return Ok(known.value);
            }
        }
        // Waiters on the same key queue behind one computation; those after the first find
        // its figure and keep it.
        let outcome = self
            .figures
            .entry(key)
            .and_try_compute_with(|entry| async move {
                if let Some(entry) = entry
                    && entry.value().generation >= generation
                {
                    return Ok(Op::Nop);
                }
                let value = compute().await?;
                Ok::<_, Error>(Op::Put(Figure {
                    value,
                    generation,
                    at: Instant::now(),
                }))
            })
            .await?;
        let entry = outcome
            .into_entry()
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("a remembered figure was not kept")))?;
        Ok(entry.into_value().value)
    }

    /// Recomputes `key` in the background unless that is already running.
    fn refresh<F, Fut>(&self, key: String, generation: u64, compute: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V>> + Send + 'static,
    {
        if !self
            .refreshing
            .lock()
            .expect("poisoned")
            .insert(key.clone())
        {
            return;
        }
        let remembered = self.clone();
        tokio::spawn(async move {
            match compute().await {
                Ok(value) => {
                    let figure = Figure {
                        value,
                        generation,
                        at: Instant::now(),
                    };
                    // A figure computed meanwhile at a later generation stays.
                    remembered
                        .figures
                        .entry(key.clone())
                        .and_compute_with(|entry| async move {
                            match entry {
                                Some(e) if e.value().generation > generation => Op::Nop,
                                _ => Op::Put(figure),
                            }
                        })
                        .await;
                }
                Err(err) => tracing::warn!(key, error = %err, "background recomputation failed"),
            }
            remembered.refreshing.lock().expect("poisoned").remove(&key);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::{
        pin::Pin,
        sync::atomic::{AtomicI64, Ordering},
    };

    use super::*;

    type Count = Pin<Box<dyn Future<Output = Result<i64>> + Send>>;

    /// A count that answers how many times it has been taken, after `delay`.
    fn counter(taken: &Arc<AtomicI64>, delay: Duration) -> impl FnOnce() -> Count + Send + 'static {
        let taken = taken.clone();
        move || -> Count {
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                Ok(taken.fetch_add(1, Ordering::SeqCst) + 1)
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn requests_that_miss_together_wait_for_one_count() {
        let counts = Remembered::counts();
        let taken = Arc::new(AtomicI64::new(0));
        let waiters: Vec<_> = (0..16)
            .map(|_| {
                let (counts, count) = (counts.clone(), counter(&taken, Duration::from_secs(1)));
                tokio::spawn(async move { counts.get("k".into(), 0, Need::Exact, count).await })
            })
            .collect();
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap().unwrap(), 1);
        }
        assert_eq!(taken.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_total_is_counted_again_after_a_commit_and_an_estimate_is_not() {
        let counts = Remembered::counts();
        let taken = Arc::new(AtomicI64::new(0));
        let get = |generation, need, delay| {
            counts.get("k".into(), generation, need, counter(&taken, delay))
        };
        let (now, later) = (Duration::ZERO, Duration::from_secs(1));
        assert_eq!(get(0, Need::Exact, now).await.unwrap(), 1);
        assert_eq!(get(0, Need::Exact, now).await.unwrap(), 1);
        // A commit (generation 1): an estimate takes the old figure at once and recounts in
        // the background...
        assert_eq!(get(1, Need::Estimate, later).await.unwrap(), 1);
        assert_eq!(taken.load(Ordering::SeqCst), 1);
        tokio::time::sleep(later * 2).await;
        assert_eq!(taken.load(Ordering::SeqCst), 2);
        assert_eq!(get(1, Need::Exact, now).await.unwrap(), 2);
        // ...while a total after a commit is counted before the answer.
        assert_eq!(get(2, Need::Exact, later).await.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn an_old_figure_is_served_while_one_recount_runs() {
        let counts = Remembered::counts();
        let taken = Arc::new(AtomicI64::new(0));
        let get = |delay| counts.get("k".into(), 0, Need::Exact, counter(&taken, delay));
        let slow = Duration::from_secs(5);
        assert_eq!(get(Duration::ZERO).await.unwrap(), 1);
        tokio::time::sleep(REFRESH).await;
        // Out of date: served at once, and a burst of requests starts one recount.
        for _ in 0..10 {
            assert_eq!(get(slow).await.unwrap(), 1);
        }
        tokio::time::sleep(slow + Duration::from_secs(1)).await;
        assert_eq!(taken.load(Ordering::SeqCst), 2);
        assert_eq!(get(slow).await.unwrap(), 2);
    }
}
