//! Remembered query results: `COUNT(*)` totals (on a large table the costliest statement of a
//! list page) and full-text match sets (the ids a common search word matches, which a page walks
//! the list order against). Most pages ask for a figure that was just computed.
//!
//! Each figure remembers the commit generation of this node it was computed at (see
//! [`super::Store`]), when, and how long computing it took. A generation counts the commits
//! that may change the figures: for totals, those that may move a ticket into or out of a list
//! (not a reply, an admin item or a job's lease; see `Tx::effects`); for match sets, those
//! that create tickets. Four rules follow:
//!
//! - **Exact after this node's commits.** A figure from an older generation is not served as
//!   exact: it is computed again before the answer, so on one node `meta.total` and search
//!   results are exact...
//! - **...unless computing it is slow.** A figure that took `slow` or more to compute
//!   (`[database] slow_count_ms`; an InnoDB count of a million tickets takes ~2 s) is served
//!   after this node's commits too, while one background recomputation replaces it: otherwise
//!   every list page after any write would wait for a full count. Such a figure lags this
//!   node's writes by about one computation.
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
//!
//! A figure's age is read from the server's [`Clock`], so a test that stops the clock keeps
//! its figures fresh however slowly the machine runs; how long a computation took is measured
//! on the monotonic clock, since it is a cost, not a moment.

use std::{
    collections::HashSet,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use moka::{future::Cache, ops::compute::Op};
use tokio::time::Instant;

use crate::{
    error::{Error, Result},
    time::Clock,
};

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
    /// When it was computed ([`Clock::now_ms`]).
    at_ms: i64,
    /// How long computing it took.
    took: Duration,
}

impl<V> Figure<V> {
    /// Runs `compute` and times it.
    async fn compute<Fut: Future<Output = Result<V>>>(
        generation: u64,
        clock: &Clock,
        compute: Fut,
    ) -> Result<Self> {
        let started = Instant::now();
        let value = compute.await?;
        Ok(Figure {
            value,
            generation,
            at_ms: clock.now_ms(),
            took: started.elapsed(),
        })
    }
}

/// Remembered figures of type `V`, by key.
#[derive(Clone)]
pub struct Remembered<V> {
    figures: Cache<String, Figure<V>>,
    /// Keys with a background recomputation running, so a burst of requests starts only one.
    refreshing: Arc<Mutex<HashSet<String>>>,
    /// This node's count of the commits that can change these figures.
    generation: Arc<AtomicU64>,
    /// A figure that took this long to compute is served after this node's commits too.
    slow: Duration,
    /// What a figure's age is read from.
    clock: Clock,
}

impl Remembered<i64> {
    /// Totals: up to 10,000 of them, out of date after each commit `generation` counts.
    pub fn counts(generation: Arc<AtomicU64>, slow: Duration, clock: Clock) -> Self {
        Self::build(
            Cache::builder().max_capacity(10_000),
            generation,
            slow,
            clock,
        )
    }
}

impl Remembered<MatchSet> {
    /// Match sets: up to a million ids in all (8 bytes each, plus the set's overhead), out of
    /// date after each commit `generation` counts.
    pub fn match_sets(generation: Arc<AtomicU64>, slow: Duration, clock: Clock) -> Self {
        Self::build(
            Cache::builder()
                .max_capacity(1_000_000)
                .weigher(|_, f: &Figure<MatchSet>| {
                    u32::try_from(f.value.len()).unwrap_or(u32::MAX).max(1)
                }),
            generation,
            slow,
            clock,
        )
    }
}

impl<V: Clone + Send + Sync + 'static> Remembered<V> {
    fn build(
        builder: moka::future::CacheBuilder<String, Figure<V>, Cache<String, Figure<V>>>,
        generation: Arc<AtomicU64>,
        slow: Duration,
        clock: Clock,
    ) -> Self {
        // No time-to-live: a figure's age is judged by the server's clock in `get`.
        Remembered {
            figures: builder.build(),
            refreshing: Arc::default(),
            generation,
            slow,
            clock,
        }
    }

    /// Lets the figures' age be read from `clock` (the server's), instead of the one given.
    pub fn timed_by(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// How old a figure computed at `at_ms` is by the clock. One from ahead of it (the clock
    /// was set back) is taken as too old to serve: when it was computed is unknown.
    fn age(&self, at_ms: i64) -> Duration {
        u64::try_from(self.clock.now_ms() - at_ms).map_or(STALE_LIMIT, Duration::from_millis)
    }

    /// The commits made so far: a computation that starts after reading it sees all of them.
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The figure for `key` (see the module comment); `compute` makes it when needed, in this
    /// request or in the background.
    pub async fn get<F, Fut>(&self, key: String, need: Need, compute: F) -> Result<V>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V>> + Send + 'static,
    {
        let generation = self.generation();
        if let Some(known) = self.figures.get(&key).await {
            let age = self.age(known.at_ms);
            // A figure counted after this request read the generation is current too.
            let current = known.generation >= generation;
            let usable = current || need == Need::Estimate || known.took >= self.slow;
            if usable && age < STALE_LIMIT {
                if !current || age >= REFRESH {
                    self.refresh(key, compute);
                }
                return Ok(known.value);
            }
        }
        // Waiters on the same key queue behind one computation. Each computation is tagged with
        // the generation at its start, so the waiters that queued while it ran find a figure
        // recent enough for them and keep it: under a stream of commits, a waiter sees at most
        // the computation running when it came and the one after.
        let outcome = self
            .figures
            .entry(key)
            .and_try_compute_with(|entry| async move {
                if let Some(entry) = entry
                    && entry.value().generation >= generation
                    && self.age(entry.value().at_ms) < STALE_LIMIT
                {
                    return Ok(Op::Nop);
                }
                let figure = Figure::compute(self.generation(), &self.clock, compute()).await?;
                Ok::<_, Error>(Op::Put(figure))
            })
            .await?;
        let entry = outcome
            .into_entry()
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("a remembered figure was not kept")))?;
        Ok(entry.into_value().value)
    }

    /// Recomputes `key` in the background unless that is already running.
    fn refresh<F, Fut>(&self, key: String, compute: F)
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
            let generation = remembered.generation();
            match Figure::compute(generation, &remembered.clock, compute()).await {
                Ok(figure) => {
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
    use std::{pin::Pin, sync::atomic::AtomicI64};

    use super::*;

    type Count = Pin<Box<dyn Future<Output = Result<i64>> + Send>>;

    /// A count that took this long is served after a commit.
    const SLOW: Duration = Duration::from_millis(250);

    /// Remembered counts, the generation a test commits by, and the clock their age is read
    /// from, stopped: a figure ages only when the test says so, however slow the machine.
    fn counts() -> (Remembered<i64>, Arc<AtomicU64>, Clock) {
        let (generation, clock) = (Arc::new(AtomicU64::new(0)), Clock::system());
        clock.stop();
        let counts = Remembered::counts(generation.clone(), SLOW, clock.clone());
        (counts, generation, clock)
    }

    fn commit(generation: &AtomicU64) {
        generation.fetch_add(1, Ordering::AcqRel);
    }

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
        let (counts, _, _) = counts();
        let taken = Arc::new(AtomicI64::new(0));
        let waiters: Vec<_> = (0..16)
            .map(|_| {
                let (counts, count) = (counts.clone(), counter(&taken, Duration::from_secs(1)));
                tokio::spawn(async move { counts.get("k".into(), Need::Exact, count).await })
            })
            .collect();
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap().unwrap(), 1);
        }
        assert_eq!(taken.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_that_queue_behind_a_count_share_the_next_one() {
        let (counts, generation, _) = counts();
        let taken = Arc::new(AtomicI64::new(0));
        let wait = Duration::from_millis(10);
        let mut waiters = Vec::new();
        // Four requests, each after another commit, while the first one's count runs.
        for _ in 0..4 {
            commit(&generation);
            let (counts, count) = (counts.clone(), counter(&taken, SLOW / 2));
            waiters.push(tokio::spawn(async move {
                counts.get("k".into(), Need::Exact, count).await
            }));
            tokio::time::sleep(wait).await;
        }
        let answers: Vec<i64> = futures::future::join_all(waiters)
            .await
            .into_iter()
            .map(|answer| answer.unwrap().unwrap())
            .collect();
        // The three that came during the first count wait for one more, started after the
        // last commit, instead of one each.
        assert_eq!(answers, [1, 2, 2, 2]);
        assert_eq!(taken.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_total_is_counted_again_after_a_commit_and_an_estimate_is_not() {
        let (counts, generation, _) = counts();
        let taken = Arc::new(AtomicI64::new(0));
        let get = |need, delay| counts.get("k".into(), need, counter(&taken, delay));
        // Every count takes less than `SLOW`.
        let (now, later) = (Duration::ZERO, SLOW / 2);
        assert_eq!(get(Need::Exact, now).await.unwrap(), 1);
        assert_eq!(get(Need::Exact, now).await.unwrap(), 1);
        // After a commit, an estimate takes the old figure at once and recounts in the
        // background...
        commit(&generation);
        assert_eq!(get(Need::Estimate, later).await.unwrap(), 1);
        assert_eq!(taken.load(Ordering::SeqCst), 1);
        tokio::time::sleep(later * 2).await;
        assert_eq!(taken.load(Ordering::SeqCst), 2);
        assert_eq!(get(Need::Exact, now).await.unwrap(), 2);
        // ...while a total after a commit is counted before the answer.
        commit(&generation);
        assert_eq!(get(Need::Exact, later).await.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_total_is_served_after_a_commit_while_one_recount_runs() {
        let (counts, generation, _) = counts();
        let taken = Arc::new(AtomicI64::new(0));
        let get = || counts.get("k".into(), Need::Exact, counter(&taken, SLOW * 4));
        // Nothing to serve yet: counted before the answer.
        assert_eq!(get().await.unwrap(), 1);
        // A commit: the slow total is served at once, and a burst of requests starts one
        // recount, whose figure is current when it lands.
        commit(&generation);
        for _ in 0..10 {
            assert_eq!(get().await.unwrap(), 1);
        }
        tokio::time::sleep(SLOW * 5).await;
        assert_eq!(taken.load(Ordering::SeqCst), 2);
        assert_eq!(get().await.unwrap(), 2);
        assert_eq!(taken.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_old_figure_is_served_while_one_recount_runs() {
        let (counts, _, clock) = counts();
        let taken = Arc::new(AtomicI64::new(0));
        let get = |delay| counts.get("k".into(), Need::Exact, counter(&taken, delay));
        let slow = Duration::from_secs(5);
        assert_eq!(get(Duration::ZERO).await.unwrap(), 1);
        clock.advance(REFRESH);
        // Out of date: served at once, and a burst of requests starts one recount.
        for _ in 0..10 {
            assert_eq!(get(slow).await.unwrap(), 1);
        }
        tokio::time::sleep(slow + Duration::from_secs(1)).await;
        assert_eq!(taken.load(Ordering::SeqCst), 2);
        assert_eq!(get(slow).await.unwrap(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_figure_past_the_stale_limit_is_counted_before_the_answer() {
        let (counts, _, clock) = counts();
        let taken = Arc::new(AtomicI64::new(0));
        let get = || counts.get("k".into(), Need::Exact, counter(&taken, Duration::ZERO));
        assert_eq!(get().await.unwrap(), 1);
        clock.advance(STALE_LIMIT);
        assert_eq!(get().await.unwrap(), 2, "counted before the answer");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            taken.load(Ordering::SeqCst),
            2,
            "and not again in the background"
        );
    }
}
