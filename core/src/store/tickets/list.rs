//! The ticket list: the sort columns, the filter and search, and the planner that turns them
//! into one statement per dialect (full text, a walk of the index, or a seek by keyset).

use sqlx::{Any, AnyConnection, QueryBuilder, Row};

use super::{TicketRow, push_in_list};
use crate::{
    error::Result,
    store::{
        Dialect,
        keyset::{self, Position, SortValue, Window},
    },
    time::Timestamp,
};

/// Sortable columns; the SQL fragment comes from this enum, never from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    CreatedAt,
    UpdatedAt,
    Priority,
    Status,
    Subject,
}

impl SortColumn {
    /// The column's name in the API (`sort_by`).
    pub fn name(self) -> &'static str {
        match self {
            SortColumn::CreatedAt => "created_at",
            SortColumn::UpdatedAt => "updated_at",
            SortColumn::Priority => "priority",
            SortColumn::Status => "status",
            SortColumn::Subject => "subject",
        }
    }

    /// Whether its values are numbers or text.
    pub fn is_text(self) -> bool {
        matches!(self, SortColumn::Status | SortColumn::Subject)
    }

    /// The row's place in a list sorted by this column (see `keyset`).
    pub fn position(self, row: &TicketRow) -> Position {
        let key = match self {
            SortColumn::CreatedAt => SortValue::Int(row.created_at),
            SortColumn::UpdatedAt => SortValue::Int(row.updated_at),
            SortColumn::Priority => SortValue::Int(row.priority),
            SortColumn::Status => SortValue::Text(row.status.clone()),
            SortColumn::Subject => SortValue::Text(row.subject.clone()),
        };
        Position {
            key: Some(key),
            id: row.id,
        }
    }

    /// The index a cursor page's seek names on MariaDB when nothing but liveness filters the
    /// list: the order led by this column (migration 0020 says why).
    fn seek_index(self) -> &'static str {
        match self {
            SortColumn::CreatedAt => "tickets_created_order",
            SortColumn::UpdatedAt => "tickets_updated_order",
            SortColumn::Priority => "tickets_priority_order",
            SortColumn::Status => "tickets_status_order",
            SortColumn::Subject => "tickets_subject_order",
        }
    }

    fn sql(self) -> &'static str {
        match self {
            SortColumn::CreatedAt => "t.created_at",
            SortColumn::UpdatedAt => "t.updated_at",
            SortColumn::Priority => "t.priority",
            SortColumn::Status => "t.status",
            SortColumn::Subject => "t.subject",
        }
    }
}

/// A checked full-text search (built by `domain::tickets::search`). A ticket matches when it
/// matches `words`, or `subject_patterns` when there are no words, or has one of `references`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketSearch {
    /// Lower-case words of letters, digits and `_` only, each of which must begin a word of the
    /// subject or the description. Only these reach the full-text engine, so no query syntax
    /// can; an empty list means the search does not use the index.
    pub words: Vec<String>,
    /// Used only when `words` is empty: LIKE patterns (escaped with `!`) that must all occur in
    /// the subject. Both empty: no ticket matches the text.
    pub subject_patterns: Vec<String>,
    /// Exact spellings of a ticket reference to match too (an indexed lookup).
    pub references: Vec<String>,
}

impl TicketSearch {
    /// The FTS5 query: every word a quoted prefix term, implicitly ANDed (`"print"* "fire"*`).
    /// Quoting makes `AND`, `NEAR` or `col:` plain words; the words hold no quote to escape.
    fn fts5_query(&self) -> String {
        let terms: Vec<String> = self.words.iter().map(|w| format!("\"{w}\"*")).collect();
        terms.join(" ")
    }

    /// The InnoDB boolean-mode query: every word required, as a prefix (`+print* +fire*`).
    /// The words hold none of the boolean operators (`+-<>()~*:"@&|`).
    fn boolean_query(&self) -> String {
        let terms: Vec<String> = self.words.iter().map(|w| format!("+{w}*")).collect();
        terms.join(" ")
    }
}

/// Checked list filters; every value is bound, never formatted into the SQL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    pub status: Option<String>,
    pub priority: Option<i64>,
    pub department_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub unassigned: bool,
    pub ticket_type: Option<String>,
    /// Full-text search (see [`TicketSearch`]).
    pub search: Option<TicketSearch>,
    pub sla_breached: bool,
    /// Only tickets this user follows.
    pub followed_by: Option<i64>,
    /// Only tickets that are not resolved or closed.
    pub open_only: bool,
    /// Only tickets resolved at or after this time.
    pub resolved_since: Option<Timestamp>,
    /// Only urgent-or-worse tickets.
    pub min_priority: Option<i64>,
}

/// How a search reads the tickets (a common word is read by [`page_among`] instead).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SearchPlan {
    /// The ids matching the index (and the reference) first, each ticket then by primary key.
    Hits,
    /// A `MATCH` condition on the ticket itself (MariaDB without a reference: it reads the
    /// full-text index first anyway, and skips materialising the ids).
    Condition,
    /// No indexable word: patterns on the subject.
    Subject,
}

/// Whether a search can be read by walking the list order against its match set
/// ([`match_ids`], then [`page_among`]): when it has words and no reference.
pub fn can_walk(search: &TicketSearch) -> bool {
    !search.words.is_empty() && search.references.is_empty()
}

fn search_plan(dialect: Dialect, search: &TicketSearch) -> SearchPlan {
    if search.words.is_empty() {
        SearchPlan::Subject
    } else if dialect == Dialect::MySql && search.references.is_empty() {
        SearchPlan::Condition
    } else {
        SearchPlan::Hits
    }
}

/// The rows a list reads from: `tickets t`, or for a full-text search the matching ids first
/// and each ticket by its primary key, so the index decides which rows are read (a plain
/// `IN (...)` lets SQLite's planner walk every live ticket in list order and probe the
/// matches; on MariaDB an `OR` beside `MATCH` disables the index, hence the `UNION`). See
/// docs/performance.md, "Search". The same source serves the page and its count.
fn push_source(q: &mut QueryBuilder<Any>, dialect: Dialect, f: &TicketFilter) {
    let Some(search) = f
        .search
        .as_ref()
        .filter(|s| search_plan(dialect, s) == SearchPlan::Hits)
    else {
        q.push("tickets t ");
        return;
    };
    match dialect {
        Dialect::Sqlite => q
            .push("(SELECT rowid AS id FROM tickets_fts WHERE tickets_fts MATCH ")
            .push_bind(search.fts5_query()),
        Dialect::MySql => q
            .push("(SELECT id FROM tickets WHERE MATCH (subject, description) AGAINST (")
            .push_bind(search.boolean_query())
            .push(" IN BOOLEAN MODE)"),
    };
    if !search.references.is_empty() {
        q.push(" UNION SELECT id FROM tickets WHERE reference IN (");
        push_in_list(q, search.references.iter().cloned());
        q.push(")");
    }
    // CROSS JOIN fixes SQLite's join order (matches first); MariaDB reads the materialised
    // matches first on its own.
    q.push(match dialect {
        Dialect::Sqlite => ") hits CROSS JOIN tickets t ON t.id = hits.id ",
        Dialect::MySql => ") hits JOIN tickets t ON t.id = hits.id ",
    });
}

/// The search's condition in the WHERE clause, when its plan has one.
fn push_search_condition(q: &mut QueryBuilder<Any>, dialect: Dialect, search: &TicketSearch) {
    match search_plan(dialect, search) {
        SearchPlan::Hits => {}
        SearchPlan::Condition => {
            q.push(" AND MATCH (t.subject, t.description) AGAINST (")
                .push_bind(search.boolean_query())
                .push(" IN BOOLEAN MODE)");
        }
        SearchPlan::Subject => push_subject_search(q, search),
    }
}

/// A search without indexable words: every pattern in the subject, or one of the references.
fn push_subject_search(q: &mut QueryBuilder<Any>, search: &TicketSearch) {
    q.push(" AND ((");
    if search.subject_patterns.is_empty() {
        q.push("1 = 0");
    }
    for (i, pattern) in search.subject_patterns.iter().enumerate() {
        if i > 0 {
            q.push(" AND ");
        }
        q.push("t.subject LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '!'");
    }
    q.push(")");
    if !search.references.is_empty() {
        q.push(" OR t.reference IN (");
        push_in_list(q, search.references.iter().cloned());
        q.push(")");
    }
    q.push(")");
}

fn push_where(q: &mut QueryBuilder<Any>, dialect: Dialect, f: &TicketFilter) {
    q.push(" WHERE t.deleted_at IS NULL");
    if let Some(status) = &f.status {
        q.push(" AND t.status = ").push_bind(status.clone());
    }
    if let Some(priority) = f.priority {
        q.push(" AND t.priority = ").push_bind(priority);
    }
    if let Some(min) = f.min_priority {
        q.push(" AND t.priority >= ").push_bind(min);
    }
    if let Some(department) = f.department_id {
        q.push(" AND t.department_id = ").push_bind(department);
    }
    if let Some(assignee) = f.assignee_id {
        q.push(" AND t.assignee_id = ").push_bind(assignee);
    }
    if f.unassigned {
        q.push(" AND t.assignee_id IS NULL");
    }
    if let Some(kind) = &f.ticket_type {
        q.push(" AND t.ticket_type = ").push_bind(kind.clone());
    }
    if let Some(search) = &f.search {
        push_search_condition(q, dialect, search);
    }
    if f.sla_breached {
        q.push(" AND t.sla_breached = 1");
    }
    if let Some(user) = f.followed_by {
        q.push(
            " AND EXISTS (SELECT 1 FROM ticket_followers f WHERE f.ticket_id = t.id AND f.user_id = ",
        )
        .push_bind(user)
        .push(")");
    }
    if f.open_only {
        q.push(" AND t.status NOT IN ('resolved', 'closed')");
    }
    if let Some(since) = f.resolved_since {
        q.push(" AND t.resolved_at >= ").push_bind(since);
    }
}

/// The columns of a ticket that lists select it by ([`push_where`], and the requester a
/// customer's lists are limited to): a ticket whose columns stay the same stays in the same
/// lists, followers aside (they have their own table).
#[derive(Debug, PartialEq, Eq)]
pub struct ListedBy {
    status: String,
    priority: i64,
    department_id: Option<i64>,
    assignee_id: Option<i64>,
    requester_id: i64,
    ticket_type: String,
    sla_breached: i64,
    resolved_at: Option<Timestamp>,
    deleted_at: Option<Timestamp>,
}

impl ListedBy {
    pub fn of(t: &TicketRow) -> ListedBy {
        ListedBy {
            status: t.status.clone(),
            priority: t.priority,
            department_id: t.department_id,
            assignee_id: t.assignee_id,
            requester_id: t.requester_id,
            ticket_type: t.ticket_type.clone(),
            sla_breached: t.sla_breached,
            resolved_at: t.resolved_at,
            deleted_at: t.deleted_at,
        }
    }
}

/// One page of summaries (no description), ordered by `sort` then id in the same direction,
/// with one row more than the window's limit (see [`Window::push_limit`]).
pub async fn page(
    conn: &mut AnyConnection,
    filter: &TicketFilter,
    sort: SortColumn,
    descending: bool,
    window: &Window,
) -> Result<Vec<TicketRow>> {
    let dialect = Dialect::of_connection(conn);
    let mut q = page_query("", dialect, filter, sort, descending, window);
    Ok(q.build_query_as().fetch_all(conn).await?)
}

/// How the database would read the first page of `filter` (newest first): the `detail` lines
/// of SQLite's `EXPLAIN QUERY PLAN`, or MariaDB's `EXPLAIN FORMAT=JSON` document. For tests
/// and diagnostics, e.g. to see that a search reads the full-text index, not every ticket.
pub async fn explain_page(conn: &mut AnyConnection, filter: &TicketFilter) -> Result<Vec<String>> {
    let dialect = Dialect::of_connection(conn);
    let (prefix, column) = match dialect {
        Dialect::Sqlite => ("EXPLAIN QUERY PLAN ", "detail"),
        Dialect::MySql => ("EXPLAIN FORMAT=JSON ", "EXPLAIN"),
    };
    let first = Window::Offset {
        limit: 25,
        offset: 0,
    };
    let mut q = page_query(prefix, dialect, filter, SortColumn::CreatedAt, true, &first);
    let rows = q.build().fetch_all(conn).await?;
    Ok(rows
        .iter()
        .map(|row| row.try_get::<String, _>(column))
        .collect::<std::result::Result<_, _>>()?)
}

/// The page statement after `prefix` (empty, or an EXPLAIN).
fn page_query(
    prefix: &'static str,
    dialect: Dialect,
    filter: &TicketFilter,
    sort: SortColumn,
    descending: bool,
    window: &Window,
) -> QueryBuilder<Any> {
    let mut q = QueryBuilder::<Any>::new(prefix);
    q.push(concat!(ticket_columns!("NULL"), "FROM "));
    if let (Some(after), None) = (window.after(), &filter.search)
        && (after.key.is_some() || dialect == Dialect::MySql)
    {
        // A cursor page: the page's ids first, from the list's index alone, then their rows.
        // Asked for the rows and the joins at once, MariaDB reads the list's index by
        // `deleted_at` only and walks it from the top to the cursor (about 20 s half-way down
        // a million tickets, against 25 ms for the ids).
        q.push("(");
        match &after.key {
            Some(key) => push_ids_after_key(
                &mut q,
                dialect,
                filter,
                sort,
                descending,
                window,
                (key, after.id),
            ),
            None => {
                q.push("SELECT t.id FROM tickets t");
                push_where(&mut q, dialect, filter);
                window.push_condition(&mut q, dialect, Some(sort.sql()), "t.id", descending);
                push_order(&mut q, sort, descending);
                window.push_limit(&mut q);
            }
        }
        q.push(") page JOIN tickets t ON t.id = page.id ");
        q.push(ticket_joins!());
        push_order(&mut q, sort, descending);
        return q;
    }
    push_source(&mut q, dialect, filter);
    q.push(ticket_joins!());
    push_where(&mut q, dialect, filter);
    window.push_condition(&mut q, dialect, Some(sort.sql()), "t.id", descending);
    push_order(&mut q, sort, descending);
    window.push_limit(&mut q);
    q
}

/// The ids of a cursor page after `(key, id)`, as two index seeks of at most a page each: the
/// rows sharing the position's key past its id, and the rows past its key. Given the one
/// condition, MariaDB reads `key <= k AND (key < k OR id < i)` as the range `key <= k`, and
/// SQLite the row value `(key, id) < (k, i)` as `key <= k`, and both walk every row sharing
/// `k` before the position (0.5 s and 60 ms half-way down a million tickets sorted by
/// priority, which has five values).
fn push_ids_after_key(
    q: &mut QueryBuilder<Any>,
    dialect: Dialect,
    filter: &TicketFilter,
    sort: SortColumn,
    descending: bool,
    window: &Window,
    (key, id): (&SortValue, i64),
) {
    let (past, dir) = if descending {
        (" < ", " DESC")
    } else {
        (" > ", " ASC")
    };
    // Each half is a derived table of its own: SQLite takes no ORDER BY or LIMIT on a member
    // of a compound SELECT, nor a parenthesised one.
    let select = |q: &mut QueryBuilder<Any>| {
        q.push("SELECT id, sort_key FROM (SELECT t.id, ")
            .push(sort.sql())
            .push(" AS sort_key FROM tickets t");
        if dialect == Dialect::MySql && *filter == TicketFilter::default() {
            q.push(" FORCE INDEX (").push(sort.seek_index()).push(")");
        }
        push_where(q, dialect, filter);
        q.push(" AND ").push(sort.sql());
    };
    q.push("SELECT id FROM (");
    select(q);
    q.push(" = ");
    keyset::push_value(q, key);
    q.push(" AND t.id").push(past).push_bind(id);
    q.push(" ORDER BY t.id").push(dir);
    window.push_limit(q);
    q.push(") same_key UNION ALL ");
    select(q);
    q.push(past);
    keyset::push_value(q, key);
    push_order(q, sort, descending);
    window.push_limit(q);
    q.push(") past_key) ids ORDER BY sort_key")
        .push(dir)
        .push(", id")
        .push(dir);
    window.push_limit(q);
}

/// `ORDER BY` the sort column, then the id, both in the same direction.
fn push_order(q: &mut QueryBuilder<Any>, sort: SortColumn, descending: bool) {
    let dir = if descending { " DESC" } else { " ASC" };
    q.push(" ORDER BY ")
        .push(sort.sql())
        .push(dir)
        .push(", t.id")
        .push(dir);
}

/// How many tickets `filter` matches.
pub async fn count(conn: &mut AnyConnection, filter: &TicketFilter) -> Result<i64> {
    let dialect = Dialect::of_connection(conn);
    let mut q = QueryBuilder::<Any>::new("SELECT COUNT(*) FROM ");
    push_source(&mut q, dialect, filter);
    push_where(&mut q, dialect, filter);
    Ok(q.build_query_scalar().fetch_one(conn).await?)
}

/// The ids of the tickets (soft-deleted ones too) the search's words match in the full-text
/// index: a common word's match set, for [`page_among`].
pub async fn match_ids(conn: &mut AnyConnection, search: &TicketSearch) -> Result<Vec<i64>> {
    match Dialect::of_connection(conn) {
        // As one comma-separated value: a row per id would be a hand-over between SQLite's
        // thread and the request per id (at a million tickets, a word in 567k of them took
        // 2-5 s that way; the value takes 0.15 s in the sqlite3 shell). MariaDB cuts
        // GROUP_CONCAT at 1 MiB, so it sends rows.
        Dialect::Sqlite => {
            let joined: Option<String> = sqlx::query_scalar(
                "SELECT group_concat(rowid, ',') FROM tickets_fts WHERE tickets_fts MATCH ?",
            )
            .bind(search.fts5_query())
            .fetch_one(conn)
            .await?;
            parse_ids(joined.as_deref())
        }
        Dialect::MySql => Ok(sqlx::query_scalar(
            "SELECT id FROM tickets WHERE MATCH (subject, description) AGAINST (? IN BOOLEAN MODE)",
        )
        .bind(search.boolean_query())
        .fetch_all(conn)
        .await?),
    }
}

/// The ids of a comma-separated `group_concat` value (`None` when it had no rows).
fn parse_ids(joined: Option<&str>) -> Result<Vec<i64>> {
    joined
        .unwrap_or_default()
        .split(',')
        .filter(|id| !id.is_empty())
        .map(str::parse::<i64>)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|err| crate::error::Error::Internal(err.into()))
}

/// The match set a [`page_among`] walk keeps tickets of, and how it walks.
#[derive(Clone, Copy)]
pub struct Among<'a> {
    /// Whether a ticket (by id) is among the matches.
    pub holds: &'a (dyn Fn(i64) -> bool + Sync),
    /// Ids read by the walk's first chunk; each further chunk reads twice as many, up to
    /// 65,536.
    pub first_chunk: i64,
}

/// Whether one index holds every column a [`page_among`] walk of `filter`'s list in `sort`
/// order reads (liveness, the filter, the sort key and the id), so the walk reads no row: a
/// status and a priority together, in the order of creation (`tickets_live_status_priority`,
/// on both databases). The search, which the walk leaves out, does not count.
pub fn walk_is_covered(filter: &TicketFilter, sort: SortColumn) -> bool {
    let status_and_priority = TicketFilter {
        status: filter.status.clone(),
        priority: filter.priority,
        search: filter.search.clone(),
        ..TicketFilter::default()
    };
    sort == SortColumn::CreatedAt
        && filter.status.is_some()
        && filter.priority.is_some()
        && *filter == status_and_priority
}

/// One page of `filter` (whose search, if any, is left out) keeping only the tickets in
/// `among`. It walks the list order (from the window's position, if any), ids only, in growing
/// chunks, and stops once the page is full: with a common word (many tickets in `among`) that
/// is a short walk, where reading every match first would read them all. The page's rows are
/// then read by id; one row more than the window's limit, like [`page`].
pub async fn page_among(
    conn: &mut AnyConnection,
    filter: &TicketFilter,
    among: Among<'_>,
    sort: SortColumn,
    descending: bool,
    window: &Window,
) -> Result<Vec<TicketRow>> {
    let (limit, offset) = (window.limit().saturating_add(1), window.offset());
    let dialect = Dialect::of_connection(conn);
    let filter = TicketFilter {
        search: None,
        ..filter.clone()
    };
    let page_end = usize::try_from(offset.saturating_add(limit)).unwrap_or(usize::MAX);
    let (mut kept, mut walked, mut chunk) = (Vec::new(), 0_i64, among.first_chunk.clamp(1, 65_536));
    let dir = if descending { " DESC" } else { " ASC" };
    loop {
        // A chunk's ids come back as one comma-separated value: a row per id would be a
        // hand-over between SQLite's thread and the request per id.
        let mut q = QueryBuilder::<Any>::new(match dialect {
            Dialect::Sqlite => "SELECT group_concat(w.id, ',' ORDER BY w.k",
            Dialect::MySql => "SELECT GROUP_CONCAT(CAST(w.id AS CHAR) ORDER BY w.k",
        });
        q.push(dir).push(", w.id").push(dir);
        if dialect == Dialect::MySql {
            q.push(" SEPARATOR ','");
        }
        q.push(") FROM (SELECT t.id, ")
            .push(sort.sql())
            .push(" AS k FROM tickets t");
        if dialect == Dialect::MySql && filter == TicketFilter::default() {
            // As for a cursor seek: the order's own index, not a `ref` on `deleted_at`.
            q.push(" FORCE INDEX (").push(sort.seek_index()).push(")");
        }
        push_where(&mut q, dialect, &filter);
        window.push_condition(&mut q, dialect, Some(sort.sql()), "t.id", descending);
        push_order(&mut q, sort, descending);
        q.push(" LIMIT ").push_bind(chunk);
        q.push(" OFFSET ").push_bind(walked);
        q.push(") w");
        let joined: Option<String> = q.build_query_scalar().fetch_one(&mut *conn).await?;
        let ids = parse_ids(joined.as_deref())?;
        kept.extend(ids.iter().copied().filter(|id| (among.holds)(*id)));
        if kept.len() >= page_end || (ids.len() as i64) < chunk {
            break;
        }
        walked += chunk;
        chunk = (chunk * 2).min(65_536);
    }
    let page: Vec<i64> = kept
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    rows_in_order(conn, &page).await
}

/// One page of `filter` (whose search, if any, is left out) among the tickets `ids`: the page
/// of a search whose few matches the search index found. The page's ids come first, ordered
/// from the list's columns (on MariaDB, when nothing but liveness filters them, from the
/// narrow `tickets_sort_keys` index instead of the rows: migration 0021 says why), then their
/// rows. One row more than the window's limit, like [`page`].
pub async fn page_of(
    conn: &mut AnyConnection,
    filter: &TicketFilter,
    ids: &[i64],
    sort: SortColumn,
    descending: bool,
    window: &Window,
) -> Result<Vec<TicketRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let dialect = Dialect::of_connection(conn);
    let filter = TicketFilter {
        search: None,
        ..filter.clone()
    };
    let mut q = QueryBuilder::<Any>::new("SELECT t.id FROM tickets t");
    if dialect == Dialect::MySql && filter == TicketFilter::default() && sort != SortColumn::Subject
    {
        q.push(" FORCE INDEX (tickets_sort_keys)");
    }
    push_where(&mut q, dialect, &filter);
    q.push(" AND t.id IN (");
    push_in_list(&mut q, ids.iter().copied());
    q.push(")");
    window.push_condition(&mut q, dialect, Some(sort.sql()), "t.id", descending);
    push_order(&mut q, sort, descending);
    window.push_limit(&mut q);
    // Not kept prepared: the statement differs with the number of matches, and a connection's
    // cache of them (each with thousands of parameters) held over 50 MiB on SQLite.
    let page: Vec<i64> = q
        .build_query_scalar()
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    rows_in_order(conn, &page).await
}

/// The rows of the tickets `page`, in its order.
async fn rows_in_order(conn: &mut AnyConnection, page: &[i64]) -> Result<Vec<TicketRow>> {
    if page.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Any>::new(concat!(ticket_columns!("NULL"), "FROM tickets t "));
    q.push(ticket_joins!()).push(" WHERE t.id IN (");
    push_in_list(&mut q, page.iter().copied());
    q.push(")");
    let mut rows: Vec<TicketRow> = q.build_query_as().fetch_all(conn).await?;
    rows.sort_by_key(|row| page.iter().position(|id| *id == row.id));
    Ok(rows)
}

/// How many tickets (soft-deleted ones too) the search's words match in the full-text index:
/// the figure a list chooses between reading the matches and walking the list by.
pub async fn count_matches(conn: &mut AnyConnection, search: &TicketSearch) -> Result<i64> {
    let mut q = QueryBuilder::<Any>::new("SELECT COUNT(*) FROM ");
    match Dialect::of_connection(conn) {
        Dialect::Sqlite => q
            .push("tickets_fts WHERE tickets_fts MATCH ")
            .push_bind(search.fts5_query()),
        Dialect::MySql => q
            .push("tickets WHERE MATCH (subject, description) AGAINST (")
            .push_bind(search.boolean_query())
            .push(" IN BOOLEAN MODE)"),
    };
    Ok(q.build_query_scalar().fetch_one(conn).await?)
}

// ---- tags and followers of tickets ----

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::{
        super::NewTicket, super::insert, SortColumn, TicketFilter, TicketSearch, walk_is_covered,
    };
    use crate::store::{Store, scratch_store, users};

    #[test]
    fn only_a_status_and_a_priority_in_creation_order_walk_an_index_alone() {
        let both = TicketFilter {
            status: Some("open".into()),
            priority: Some(3),
            search: Some(TicketSearch {
                words: vec!["printer".into()],
                subject_patterns: Vec::new(),
                references: Vec::new(),
            }),
            ..TicketFilter::default()
        };
        assert!(walk_is_covered(&both, SortColumn::CreatedAt));
        assert!(!walk_is_covered(&both, SortColumn::Priority));
        for other in [
            TicketFilter {
                priority: None,
                ..both.clone()
            },
            TicketFilter {
                status: None,
                ..both.clone()
            },
            TicketFilter {
                department_id: Some(1),
                ..both.clone()
            },
        ] {
            assert!(!walk_is_covered(&other, SortColumn::CreatedAt), "{other:?}");
        }
    }

    /// How often `store` reads the match set of one search, asked for once.
    async fn reads_after_asking(store: &Store, reads: &Arc<AtomicUsize>) -> usize {
        let counter = reads.clone();
        store
            .cached_match_set("printer".into(), move || async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(vec![1, 2, 3])
            })
            .await
            .unwrap();
        reads.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn match_sets_are_read_again_only_after_tickets_are_created() {
        let (store, _dir) = scratch_store().await;
        store.migrate().await.unwrap();
        let reads = Arc::new(AtomicUsize::new(0));
        assert_eq!(reads_after_asking(&store, &reads).await, 1);
        assert_eq!(reads_after_asking(&store, &reads).await, 1, "remembered");

        // A write that adds no ticket (a user here; a reply or a status change alike).
        let mut tx = store.begin().await.unwrap();
        let requester = users::insert(&mut tx, "Ann", "ann@example.com", "customer", true, 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(reads_after_asking(&store, &reads).await, 1, "still exact");

        let mut tx = store.begin().await.unwrap();
        let ticket = NewTicket {
            subject: "Printer on fire",
            description: "Smoke",
            status: "open",
            priority: 3,
            ticket_type: "question",
            channel: "api",
            requester_id: requester,
            department_id: None,
            sla_policy_id: None,
            first_response_due_at: None,
            resolution_due_at: None,
        };
        insert(&mut tx, &ticket, "ESC", 0).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            reads_after_asking(&store, &reads).await,
            2,
            "a new ticket may match"
        );
    }

    #[test]
    fn full_text_queries_require_every_word_as_a_prefix() {
        let search = TicketSearch {
            words: vec!["print".into(), "near".into()],
            ..TicketSearch::default()
        };
        assert_eq!(search.fts5_query(), r#""print"* "near"*"#);
        assert_eq!(search.boolean_query(), "+print* +near*");
    }
}
