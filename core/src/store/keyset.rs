//! Which rows of a list a page reads, written once for every list: by offset (`page`), or
//! after a position (`cursor`): keyset pagination over the list's sort key and id.
//!
//! A keyset page reads "the rows after the last one shown" with an index range, so a page
//! deep in the list costs what the first does (an offset page walks and drops every row
//! before it), and rows created meanwhile before the position cannot shift the rest: a walk
//! never shows a row twice nor skips one that existed when it began (as long as the row's
//! own sort key does not change under it). Every page reads one row more than it shows, to
//! know whether another page follows.

use sqlx::{Any, QueryBuilder};

use super::Dialect;

/// The value of a list's sort column at a row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

/// A place in a list: the sort key (`None` for lists ordered by id alone) and the id of the
/// last row shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub key: Option<SortValue>,
    pub id: i64,
}

impl Position {
    /// A place in a list ordered by id alone.
    pub fn id(id: i64) -> Position {
        Position { key: None, id }
    }
}

/// Which rows a page reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// `limit` rows after skipping `offset`.
    Offset { limit: i64, offset: i64 },
    /// `limit` rows after `after` (from the start when `None`).
    After { limit: i64, after: Option<Position> },
}

impl Window {
    pub fn limit(&self) -> i64 {
        match self {
            Window::Offset { limit, .. } | Window::After { limit, .. } => *limit,
        }
    }

    /// The rows skipped before the page (none for a keyset page).
    pub fn offset(&self) -> i64 {
        match self {
            Window::Offset { offset, .. } => *offset,
            Window::After { .. } => 0,
        }
    }

    /// The position a keyset page starts after.
    pub fn after(&self) -> Option<&Position> {
        match self {
            Window::After { after, .. } => after.as_ref(),
            Window::Offset { .. } => None,
        }
    }

    /// The same window reading `limit` rows.
    pub fn with_limit(&self, limit: i64) -> Window {
        match self {
            Window::Offset { offset, .. } => Window::Offset {
                limit,
                offset: *offset,
            },
            Window::After { after, .. } => Window::After {
                limit,
                after: after.clone(),
            },
        }
    }

    /// ` AND <rows after the position>` in a list ordered by `key` (if any) then `id`, both
    /// `descending` or not. For `key` on SQLite it is the row value `(key, id) < (k, i)`, a
    /// seek on the `(key, id)` index even when many rows share `k` (a priority, a status).
    /// MariaDB does not read a row value as a range, so there it is
    /// `key <= k AND (key < k OR id < i)`: the first half is the index range, the second drops
    /// the rows that share `k` before the position. Nothing for an offset page. Values are
    /// bound.
    pub fn push_condition(
        &self,
        q: &mut QueryBuilder<Any>,
        dialect: Dialect,
        key: Option<&'static str>,
        id: &'static str,
        descending: bool,
    ) {
        let Some(after) = self.after() else {
            return;
        };
        let (outer, inner) = if descending {
            (" <= ", " < ")
        } else {
            (" >= ", " > ")
        };
        match (key, &after.key) {
            (Some(column), Some(value)) if dialect == Dialect::Sqlite => {
                q.push(" AND (").push(column).push(", ").push(id).push(")");
                q.push(inner).push("(");
                push_value(q, value);
                q.push(", ").push_bind(after.id).push(")");
            }
            (Some(column), Some(value)) => {
                q.push(" AND ").push(column).push(outer);
                push_value(q, value);
                q.push(" AND (").push(column).push(inner);
                push_value(q, value);
                q.push(" OR ")
                    .push(id)
                    .push(inner)
                    .push_bind(after.id)
                    .push(")");
            }
            _ => {
                q.push(" AND ").push(id).push(inner).push_bind(after.id);
            }
        }
    }

    /// ` LIMIT ? [OFFSET ?]`, reading one row more than the page shows (see [`Slice::cut`]).
    pub fn push_limit(&self, q: &mut QueryBuilder<Any>) {
        q.push(" LIMIT ").push_bind(self.limit().saturating_add(1));
        if let Window::Offset { offset, .. } = self {
            q.push(" OFFSET ").push_bind(*offset);
        }
    }
}

/// The value bound into `q`.
pub(super) fn push_value(q: &mut QueryBuilder<Any>, value: &SortValue) {
    match value {
        SortValue::Int(n) => q.push_bind(*n),
        SortValue::Text(s) => q.push_bind(s.clone()),
    };
}

/// A page of a list: its items, how many the whole list holds, and whether more follow.
#[derive(Debug, Clone)]
pub struct Slice<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub more: bool,
}

impl<T> Slice<T> {
    /// The page of `rows` read with [`Window::push_limit`] (one row more than `limit`).
    pub fn cut(mut rows: Vec<T>, limit: i64, total: i64) -> Slice<T> {
        let limit = usize::try_from(limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        Slice {
            items: rows,
            total,
            more,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Slice<U> {
        Slice {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            more: self.more,
        }
    }

    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Slice<U>, E> {
        Ok(Slice {
            items: self.items.into_iter().map(f).collect::<Result<_, E>>()?,
            total: self.total,
            more: self.more,
        })
    }

    /// Where the next page starts: after the last item, when more follow.
    pub fn next(&self, position: impl Fn(&T) -> Position) -> Option<Position> {
        self.items.last().filter(|_| self.more).map(position)
    }
}
