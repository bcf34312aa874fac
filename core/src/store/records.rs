//! The statements every admin table shares, written once: a row by id, a page by id with the
//! total, a uniqueness check, insert, update, and delete with the rows that hang off it.
//!
//! A table declares its shape with [`record!`] (the `SELECT` it reads with, the columns it
//! writes, its unique column and its dependent rows); the statements are built from those
//! compile-time strings once per table. No value from a request ever reaches the SQL text:
//! values are bound.

use sqlx::{AnyConnection, any::AnyRow};

use super::{
    AnyQuery, insert_returning_id,
    keyset::{Slice, Window},
};
use crate::error::Result;

/// What [`record!`] declares about a table.
pub struct Shape {
    pub table: &'static str,
    /// `SELECT <columns> FROM <table> [<alias> JOIN ...]`.
    pub select: &'static str,
    /// The id column as `select` names it: `id`, or `c.id` under an alias.
    pub id: &'static str,
    /// The column no two rows share (compared as the column's collation does), if any.
    pub unique: Option<&'static str>,
    /// The columns insert and update write, in the order [`Record::bind`] binds them.
    pub writes: &'static [&'static str],
    /// Deletes of the rows that point at one of these, each with the id as its one argument;
    /// run before the row's own delete (the store cascades itself, see docs/architecture.md).
    pub dependents: &'static [&'static str],
}

/// The statements of one table, built from its [`Shape`].
pub struct Statements {
    find: String,
    page: String,
    page_after: String,
    count: String,
    taken: Option<String>,
    insert: String,
    update: String,
    delete: String,
    dependents: &'static [&'static str],
}

impl Statements {
    pub fn new(shape: Shape) -> Statements {
        let Shape {
            table,
            select,
            id,
            unique,
            writes,
            dependents,
        } = shape;
        let set: Vec<String> = writes.iter().map(|c| format!("{c} = ?")).collect();
        Statements {
            find: format!("{select} WHERE {id} = ?"),
            page: format!("{select} ORDER BY {id} LIMIT ? OFFSET ?"),
            page_after: format!("{select} WHERE {id} > ? ORDER BY {id} LIMIT ?"),
            count: format!("SELECT COUNT(*) FROM {table}"),
            taken: unique
                .map(|c| format!("SELECT COUNT(*) FROM {table} WHERE {c} = ? AND id <> ?")),
            insert: format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                writes.join(", "),
                super::placeholders(writes.len())
            ),
            update: format!("UPDATE {table} SET {} WHERE id = ?", set.join(", ")),
            delete: format!("DELETE FROM {table} WHERE id = ?"),
            dependents,
        }
    }
}

/// A row of an admin table.
pub trait Record: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin {
    /// The table's statements, built once.
    fn statements() -> &'static Statements;
    /// Binds the written columns, in [`Shape::writes`] order.
    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q>;
    fn id(&self) -> i64;
}

/// Declares a row type's table: `record!(TagRow { table: "tags", select: "SELECT ...",
/// id: "id", unique: "name", writes: [name, color, ...], dependents: ["DELETE ..."] })`.
/// `unique` may be left out.
macro_rules! record {
    ($row:ty {
        table: $table:literal,
        select: $select:expr,
        id: $id:literal,
        $(unique: $unique:literal,)?
        writes: [$($column:ident),+ $(,)?],
        dependents: [$($dependent:literal),* $(,)?] $(,)?
    }) => {
        impl $crate::store::records::Record for $row {
            fn statements() -> &'static $crate::store::records::Statements {
                static STATEMENTS: ::std::sync::OnceLock<$crate::store::records::Statements> =
                    ::std::sync::OnceLock::new();
                STATEMENTS.get_or_init(|| {
                    $crate::store::records::Statements::new($crate::store::records::Shape {
                        table: $table,
                        select: $select,
                        id: $id,
                        unique: None$(.or(Some($unique)))?,
                        writes: &[$(stringify!($column)),+],
                        dependents: &[$($dependent),*],
                    })
                })
            }

            fn bind<'q>(&'q self, query: $crate::store::AnyQuery<'q>) -> $crate::store::AnyQuery<'q> {
                query$(.bind(&self.$column))+
            }

            fn id(&self) -> i64 {
                self.id
            }
        }
    };
}
pub(crate) use record;

pub async fn find<R: Record>(conn: &mut AnyConnection, id: i64) -> Result<Option<R>> {
    Ok(sqlx::query_as(R::statements().find.as_str())
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// A page of rows by id (see [`Window`]), and how many there are.
pub async fn page<R: Record>(conn: &mut AnyConnection, window: &Window) -> Result<Slice<R>> {
    let statements = R::statements();
    // One row more than the page shows: whether another page follows.
    let read = window.limit().saturating_add(1);
    let rows = match window {
        Window::Offset { offset, .. } => {
            sqlx::query_as(statements.page.as_str())
                .bind(read)
                .bind(*offset)
                .fetch_all(&mut *conn)
                .await?
        }
        Window::After { after, .. } => {
            // Stored ids count up from 1.
            sqlx::query_as(statements.page_after.as_str())
                .bind(after.as_ref().map_or(0, |p| p.id))
                .bind(read)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    Ok(Slice::cut(rows, window.limit(), count::<R>(conn).await?))
}

pub async fn count<R: Record>(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query_scalar(R::statements().count.as_str())
        .fetch_one(conn)
        .await?)
}

/// Whether another row (not `except_id`) holds `value` in the unique column.
pub async fn taken<R: Record>(
    conn: &mut AnyConnection,
    value: &str,
    except_id: i64,
) -> Result<bool> {
    let sql = R::statements()
        .taken
        .as_deref()
        .expect("taken() asked of a table declared without a unique column");
    let n: i64 = sqlx::query_scalar(sql)
        .bind(value)
        .bind(except_id)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// Inserts the row (its `id` is ignored) and returns the new id.
pub async fn insert<R: Record>(conn: &mut AnyConnection, row: &R) -> Result<i64> {
    insert_returning_id(conn, R::statements().insert.as_str(), |q| row.bind(q)).await
}

/// Writes every written column of the row with its id.
pub async fn update<R: Record>(conn: &mut AnyConnection, row: &R) -> Result<()> {
    row.bind(sqlx::query(R::statements().update.as_str()))
        .bind(row.id())
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the row and its dependent rows; false when there was no such row.
pub async fn delete<R: Record>(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let statements = R::statements();
    for dependent in statements.dependents {
        sqlx::query(*dependent).bind(id).execute(&mut *conn).await?;
    }
    let result = sqlx::query(statements.delete.as_str())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}
