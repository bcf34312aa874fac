//! The ticket list: filters, sorting and pagination, checked before any SQL is built.

use futures::future::BoxFuture;

/// What a ticket list can be sorted by.
pub use crate::store::tickets::SortColumn;

use super::{
    Priority, Status, TicketType, search,
    view::{self, TicketView},
};
use crate::{
    error::Result,
    store::{
        Dialect, Store,
        keyset::{Slice, Window},
        remembered::MatchSet,
        tickets::{self, TicketFilter, TicketRow, TicketSearch},
        word_index::Found,
    },
};

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub department_id: Option<i64>,
    pub assigned_to: Option<i64>,
    pub unassigned: bool,
    pub ticket_type: Option<TicketType>,
    pub search: Option<String>,
    pub sla_breached: bool,
    pub following: bool,
    pub sort: Option<SortColumn>,
    pub descending: Option<bool>,
    pub window: Window,
}

/// The list's order when the query names none: newest first.
pub const DEFAULT_SORT: SortColumn = SortColumn::CreatedAt;
pub const DEFAULT_DESCENDING: bool = true;

impl ListQuery {
    /// The order the list is read in: the column, and whether descending (default: newest
    /// first).
    pub fn order(&self) -> (SortColumn, bool) {
        (
            self.sort.unwrap_or(DEFAULT_SORT),
            self.descending.unwrap_or(DEFAULT_DESCENDING),
        )
    }
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            status: None,
            priority: None,
            department_id: None,
            assigned_to: None,
            unassigned: false,
            ticket_type: None,
            search: None,
            sla_breached: false,
            following: false,
            sort: None,
            descending: None,
            window: Window::Offset {
                limit: 25,
                offset: 0,
            },
        }
    }
}

/// Reading a match by its id costs about as much as walking this many rows of an index (see
/// [`walk_cost_is_lower`]).
const MATCH_COST: i64 = 10;

/// Most matches a page reads by id (a statement binds each); more are walked.
const MAX_READ_BY_ID: i64 = 5_000;

/// How a database reads a page of the search index's matches most cheaply (measured at a
/// million tickets: docs/performance.md, "The first search for a word at 1M, from the search
/// index in memory").
struct MatchReading {
    /// Ordering a match found by id costs about as much as walking this many entries of a
    /// list's index (see `tickets::page_of`).
    by_id_cost: i64,
    /// An entry of a filtered order costs about as much as this many entries of the order of
    /// every live ticket, whose index holds every column the walk reads (a filtered order may
    /// have to read each row for its filter). Exact matches walk the cheaper of the two.
    filtered_entry_cost: u64,
    /// The same for a filtered order whose own index holds every column the walk reads
    /// (`tickets::walk_is_covered`).
    covered_entry_cost: u64,
}

impl MatchReading {
    fn of(dialect: Dialect) -> MatchReading {
        match dialect {
            // A lookup in the narrow `tickets_sort_keys` index against a walk entry read
            // through a derived table; a row read is mostly a disk read at this size. Covered:
            // 420 entries of the status-and-priority order took 1.3 ms, the 6,000 of every live
            // ticket's order that find the same page 7.2-7.9 ms.
            Dialect::MySql => MatchReading {
                by_id_cost: 2,
                filtered_entry_cost: 100,
                covered_entry_cost: 3,
            },
            // A row read and a bound parameter against entries walked very cheaply; rows are
            // read from the file cache (with 2, a common word's filtered page cost 9 ms of CPU
            // against 3 for the filtered walk). A covered walk, not measured apart, is priced
            // as any filtered one.
            Dialect::Sqlite => MatchReading {
                by_id_cost: 20,
                filtered_entry_cost: 10,
                covered_entry_cost: 10,
            },
        }
    }
}

/// A page of ticket summaries, with the total matching.
pub async fn list(store: &Store, viewer_id: i64, q: &ListQuery) -> Result<Slice<TicketView>> {
    let terms = match q.search.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(text) => Some(search::parse(text)?),
    };
    let filter = TicketFilter {
        status: q.status.map(|s| s.as_str().to_string()),
        priority: q.priority.map(Priority::rank),
        department_id: q.department_id,
        assignee_id: q.assigned_to,
        unassigned: q.unassigned,
        ticket_type: q.ticket_type.map(|t| t.as_str().to_string()),
        search: terms,
        sla_breached: q.sla_breached,
        followed_by: q.following.then_some(viewer_id),
        ..TicketFilter::default()
    };
    let found = match &filter.search {
        Some(search) if tickets::can_walk(search) => {
            store
                .word_index()
                .find(store, &search.words, &filter)
                .await?
        }
        _ => None,
    };
    let (rows, total) = match found {
        Some(found) => page_from_index(store, &filter, found, q).await?,
        None => page_from_database(store, &filter, q).await?,
    };
    let slice = Slice::cut(rows, q.window.limit(), total);
    let items = view::decorate(&mut *store.conn().await?, slice.items, viewer_id).await?;
    Ok(Slice {
        items,
        total: slice.total,
        more: slice.more,
    })
}

/// The page and total of a search the index answered: its total is the matches' count when
/// the index holds every filter, and the page orders the few matches found by id or walks the
/// list order keeping them, whichever reads less. When the matches are exactly the list's
/// tickets, the walk may read the order of every live ticket, whose index has every column it
/// needs, instead of a filtered order that may have to read each row for its filter (unless
/// an index of its own covers it).
async fn page_from_index(
    store: &Store,
    filter: &TicketFilter,
    found: Found,
    q: &ListQuery,
) -> Result<(Vec<TicketRow>, i64)> {
    let matches = i64::try_from(found.matches.len()).unwrap_or(i64::MAX);
    let total = async {
        if found.exact {
            Ok(matches)
        } else {
            let key = format!("tickets:{filter:?}");
            store
                .cached_count(key, counter(store, filter.clone()))
                .await
        }
    };
    let page = async {
        let (sort, descending) = q.order();
        let page_end = q.window.offset().saturating_add(q.window.limit()) + 1;
        let reading = MatchReading::of(store.dialect());
        let entry_cost = if tickets::walk_is_covered(filter, sort) {
            reading.covered_entry_cost
        } else {
            reading.filtered_entry_cost
        };
        let walk_all_live = found.exact && found.narrowed.saturating_mul(entry_cost) >= found.live;
        let (walked, span) = if walk_all_live {
            (TicketFilter::default(), found.live)
        } else {
            (filter.clone(), found.narrowed)
        };
        let span = i64::try_from(span).unwrap_or(i64::MAX);
        // The walk finds a match every `span / matches` entries.
        let expected = page_end.saturating_mul(span) / matches.max(1);
        let mut conn = store.conn().await?;
        if matches <= MAX_READ_BY_ID && matches.saturating_mul(reading.by_id_cost) <= expected {
            let ids: Vec<i64> = found.matches.iter().map(i64::from).collect();
            return tickets::page_of(&mut conn, &walked, &ids, sort, descending, &q.window).await;
        }
        let holds = |id: i64| u32::try_from(id).is_ok_and(|id| found.matches.contains(id));
        // A quarter more than the expected walk, so one chunk is usually enough.
        let among = tickets::Among {
            holds: &holds,
            first_chunk: (expected + expected / 4).max(64),
        };
        tickets::page_among(&mut conn, &walked, among, sort, descending, &q.window).await
    };
    let (rows, total) = tokio::try_join!(page, total)?;
    Ok((rows, total))
}

/// The page and total read from the database alone.
async fn page_from_database(
    store: &Store,
    filter: &TicketFilter,
    q: &ListQuery,
) -> Result<(Vec<TicketRow>, i64)> {
    // Counting every matching row is the costliest statement of a page on a large table; the
    // total is remembered (see `store::remembered`). Counts take connections of their own, before
    // the page's, since they may also run in the background.
    let total = store.cached_count(
        format!("tickets:{filter:?}"),
        counter(store, filter.clone()),
    );
    // A common word's page walks the list order against the word's remembered match set.
    let walk = async {
        match &filter.search {
            Some(search) if tickets::can_walk(search) => {
                let page_end = q.window.offset().saturating_add(q.window.limit()) + 1;
                match walk_length(store, search, page_end).await? {
                    Some(expected) => Ok(Some((match_set(store, search).await?, expected))),
                    None => Ok(None),
                }
            }
            _ => Ok(None),
        }
    };
    // Side by side: a new word's total and match set are each a pass over its matches.
    let (total, walk) = tokio::try_join!(total, walk)?;
    let (sort, descending) = q.order();
    let mut conn = store.conn().await?;
    let rows = match &walk {
        Some((ids, expected)) => {
            let holds = |id: i64| ids.contains(&id);
            // A quarter more than the expected walk, so one chunk is usually enough.
            let among = tickets::Among {
                holds: &holds,
                first_chunk: (expected + expected / 4).max(64),
            };
            tickets::page_among(&mut conn, filter, among, sort, descending, &q.window).await?
        }
        None => tickets::page(&mut conn, filter, sort, descending, &q.window).await?,
    };
    Ok((rows, total))
}

/// The ids the search's words match, remembered (see `store::remembered`).
async fn match_set(store: &Store, search: &TicketSearch) -> Result<MatchSet> {
    let (reader, search) = (store.clone(), search.clone());
    store
        .cached_match_set(format!("{:?}", search.words), move || async move {
            tickets::match_ids(&mut *reader.conn().await?, &search).await
        })
        .await
}

/// Counts `filter` on a connection of its own.
fn counter(
    store: &Store,
    filter: TicketFilter,
) -> impl FnOnce() -> BoxFuture<'static, Result<i64>> + Send + 'static {
    let store = store.clone();
    move || Box::pin(async move { tickets::count(&mut *store.conn().await?, &filter).await })
}

/// How many ids a walk of the list order keeping the search's matches (`tickets::page_among`)
/// is expected to read for a page ending at `page_end`, when that is cheaper than reading every
/// match first; `None` when it is not. Judged from two estimates: how many tickets the words
/// match, and how many tickets are live (see [`walk_cost_is_lower`]).
async fn walk_length(store: &Store, search: &TicketSearch, page_end: i64) -> Result<Option<i64>> {
    let matches = store
        .estimated_count(format!("matches:{:?}", search.words), {
            let (store, search) = (store.clone(), search.clone());
            move || async move { tickets::count_matches(&mut *store.conn().await?, &search).await }
        })
        .await?;
    let live = TicketFilter::default();
    let live = store
        .estimated_count(format!("tickets:{live:?}"), counter(store, live))
        .await?;
    Ok(walk_cost_is_lower(matches, live, page_end)
        .then(|| page_end.saturating_mul(live) / matches.max(1)))
}

/// Reading the matches first costs about `MATCH_COST × matches`; with matches spread over the
/// list, the walk finds one in every `live / matches` rows, so it reads about
/// `page_end × live / matches` ids. A rare word is read match-first (instant at any size), a
/// common one by the walk (a short one, exactly when matches are many).
fn walk_cost_is_lower(matches: i64, live: i64, page_end: i64) -> bool {
    let (matches, live, page_end) = (i128::from(matches), i128::from(live), i128::from(page_end));
    page_end * live < i128::from(MATCH_COST) * matches * matches
}

#[cfg(test)]
mod tests {
    use super::walk_cost_is_lower;

    #[test]
    fn common_words_walk_the_list_and_rare_words_read_their_matches() {
        // The bench seed: a topic word is in ~1 ticket in 24.
        for live in [10_000, 100_000, 1_000_000] {
            assert!(walk_cost_is_lower(live / 24, live, 25), "{live}");
            assert!(!walk_cost_is_lower(50, live, 25), "{live}");
        }
        // A deep page walks further.
        assert!(!walk_cost_is_lower(1_000, 1_000_000, 25));
        assert!(walk_cost_is_lower(2_000, 1_000_000, 25));
        assert!(!walk_cost_is_lower(2_000, 1_000_000, 2_500));
        assert!(!walk_cost_is_lower(0, 0, 25));
    }
}
