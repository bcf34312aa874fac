//! What differs between SQLite and MySQL/MariaDB, written once. A store function learns the
//! dialect from its connection ([`Dialect::of_connection`]); nobody above the store passes it.
//!
//! The statements that differ only in a fragment are built by the macros here, at compile
//! time, from the one part they share: each call gives a `&'static str` per dialect, so the
//! statement text stays fixed (sqlx caches prepared statements by text).

use sqlx::AnyConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    MySql,
}

impl Dialect {
    pub fn of_url(url: &str) -> Dialect {
        if url.starts_with("mysql:") || url.starts_with("mariadb:") {
            Dialect::MySql
        } else {
            Dialect::Sqlite
        }
    }

    /// The dialect a connection speaks (sqlx names its drivers `MySQL` and `SQLite`).
    pub fn of_connection(conn: &AnyConnection) -> Dialect {
        if conn.backend_name() == "MySQL" {
            Dialect::MySql
        } else {
            Dialect::Sqlite
        }
    }
}

/// `INSERT` that skips a row whose unique key exists: `insert_ignore!(dialect, "INTO t (a)
/// VALUES (?)")` is `INSERT OR IGNORE INTO ...` on SQLite and `INSERT IGNORE INTO ...` on MySQL.
macro_rules! insert_ignore {
    ($dialect:expr, $rest:literal) => {
        match $dialect {
            $crate::store::Dialect::Sqlite => concat!("INSERT OR IGNORE ", $rest),
            $crate::store::Dialect::MySql => concat!("INSERT IGNORE ", $rest),
        }
    };
}

/// An `INSERT` that updates the columns `set` of the row already holding its unique `key`:
/// `ON CONFLICT (key) DO UPDATE SET c = excluded.c` on SQLite, `ON DUPLICATE KEY UPDATE
/// c = VALUES(c)` on MySQL.
macro_rules! upsert {
    ($dialect:expr, $insert:literal, key: $key:literal, set: [$first:ident $(, $column:ident)*]) => {
        match $dialect {
            $crate::store::Dialect::Sqlite => concat!(
                $insert, " ON CONFLICT (", $key, ") DO UPDATE SET ",
                stringify!($first), " = excluded.", stringify!($first)
                $(, ", ", stringify!($column), " = excluded.", stringify!($column))*
            ),
            $crate::store::Dialect::MySql => concat!(
                $insert, " ON DUPLICATE KEY UPDATE ",
                stringify!($first), " = VALUES(", stringify!($first), ")"
                $(, ", ", stringify!($column), " = VALUES(", stringify!($column), ")")*
            ),
        }
    };
}

/// An `INSERT` that adds its values of the columns `add` to the row already holding its
/// unique `key`: `c = c + excluded.c` on SQLite, `c = c + VALUES(c)` on MySQL (counters).
macro_rules! upsert_adding {
    ($dialect:expr, $insert:literal, key: $key:literal, add: [$first:ident $(, $column:ident)*]) => {
        match $dialect {
            $crate::store::Dialect::Sqlite => concat!(
                $insert, " ON CONFLICT (", $key, ") DO UPDATE SET ",
                stringify!($first), " = ", stringify!($first), " + excluded.", stringify!($first)
                $(, ", ", stringify!($column), " = ", stringify!($column), " + excluded.",
                  stringify!($column))*
            ),
            $crate::store::Dialect::MySql => concat!(
                $insert, " ON DUPLICATE KEY UPDATE ",
                stringify!($first), " = ", stringify!($first), " + VALUES(", stringify!($first), ")"
                $(, ", ", stringify!($column), " = ", stringify!($column), " + VALUES(",
                  stringify!($column), ")")*
            ),
        }
    };
}

/// A read that locks its rows for the rest of the transaction: `... FOR UPDATE` on MySQL; the
/// plain read on SQLite, whose single writer already serialises writers.
macro_rules! for_update {
    ($dialect:expr, $select:literal) => {
        match $dialect {
            $crate::store::Dialect::Sqlite => $select,
            $crate::store::Dialect::MySql => concat!($select, " FOR UPDATE"),
        }
    };
}

pub(crate) use {for_update, insert_ignore, upsert, upsert_adding};

#[cfg(test)]
mod tests {
    use super::Dialect;

    #[test]
    fn the_fragments_make_each_dialects_statement() {
        let each = |d| {
            (
                insert_ignore!(d, "INTO t (a) VALUES (?)"),
                upsert!(d, "INSERT INTO t (k, a, b) VALUES (?, ?, ?)", key: "k", set: [a, b]),
                for_update!(d, "SELECT a FROM t WHERE k = ?"),
                upsert_adding!(d, "INSERT INTO t (k, n) VALUES (?, ?)", key: "k", add: [n]),
            )
        };
        assert_eq!(
            each(Dialect::Sqlite),
            (
                "INSERT OR IGNORE INTO t (a) VALUES (?)",
                "INSERT INTO t (k, a, b) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET a = excluded.a, b = excluded.b",
                "SELECT a FROM t WHERE k = ?",
                "INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = n + excluded.n",
            )
        );
        assert_eq!(
            each(Dialect::MySql),
            (
                "INSERT IGNORE INTO t (a) VALUES (?)",
                "INSERT INTO t (k, a, b) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE a = VALUES(a), b = VALUES(b)",
                "SELECT a FROM t WHERE k = ? FOR UPDATE",
                "INSERT INTO t (k, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
            )
        );
    }
}
