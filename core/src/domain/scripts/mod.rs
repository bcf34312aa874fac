//! The scripts the domain runs with: the Rhai runtime ([`Scripts`]) holding the set of macros,
//! custom ticket actions and automations read from script files ([`FileSet`]), and what the
//! kinds share about their file scripts: the file a script came from ([`FileScript`]), its
//! negative id ([`file_id`]), finding one and refusing to change one ([`find`],
//! [`refuse_change`]), and a list that shows the files before the database's items
//! ([`merged_page`]).
//!
//! Below the kinds' operations (`macros`, `ticket_actions`, `automations`) and the admin
//! skeleton, which all look scripts up here; the kinds' records (plain data, which the kinds
//! re-export) are its children. Reading the folder into a `FileSet` is `script_files`, which
//! calls each kind's checks and so sits above them.

pub mod action_record;
pub mod automation_record;
pub mod macro_record;

use self::{action_record::TicketAction, automation_record::Automation, macro_record::Macro};
use crate::{
    error::Error,
    store::keyset::{Slice, SortValue, Window},
    time::Timestamp,
};

/// The key prefix of custom actions from files, which no database key can have.
pub const ACTION_KEY_PREFIX: &str = "file:";

/// The script runtime with the scripts loaded from files: what the domain runs scripts with.
pub type Scripts = crate::scripting::Scripts<FileSet>;

/// The scripts loaded from files, in file-name order within each kind.
#[derive(Debug, Default)]
pub struct FileSet {
    pub macros: Vec<Macro>,
    pub actions: Vec<TicketAction>,
    pub automations: Vec<Automation>,
}

impl FileSet {
    pub fn action_by_key(&self, key: &str) -> Option<&TicketAction> {
        self.actions.iter().find(|a| a.key == key)
    }

    /// The active file automations with `trigger` (`schedule` or an event name).
    pub fn active_automations(&self, trigger: &str) -> impl Iterator<Item = &Automation> {
        self.automations
            .iter()
            .filter(move |a| a.is_active && a.trigger == trigger)
    }
}

/// A kind of script that comes from files as well as from the database: macros, custom actions
/// and automations. File scripts have negative ids ([`file_id`]).
pub trait FileBacked: Clone {
    /// The kind as a 404 names it: `Macro`, `Action`, `Automation`.
    const NAME: &'static str;
    /// The scripts of this kind in `files`.
    fn all(files: &FileSet) -> &[Self];
    fn id(&self) -> i64;
    /// The script file it comes from (`macros/x.rhai`); `None` for a database script.
    fn file(&self) -> Option<&str>;
}

/// `FileBacked` for a kind: its 404 name and its field of [`FileSet`]; each kind has `id` and
/// `file` fields.
macro_rules! file_backed {
    ($($kind:ty: $name:literal in $field:ident),* $(,)?) => {$(
        impl FileBacked for $kind {
            const NAME: &'static str = $name;
            fn all(files: &FileSet) -> &[Self] {
                &files.$field
            }
            fn id(&self) -> i64 {
                self.id
            }
            fn file(&self) -> Option<&str> {
                self.file.as_deref()
            }
        }
    )*};
}

file_backed!(
    Macro: "Macro" in macros,
    TicketAction: "Action" in actions,
    Automation: "Automation" in automations,
);

/// The file script `id` of kind `T`, or 404.
pub fn find<T: FileBacked>(scripts: &Scripts, id: i64) -> crate::error::Result<T> {
    T::all(&scripts.files())
        .iter()
        .find(|s| s.id() == id)
        .cloned()
        .ok_or_else(|| Error::not_found(T::NAME))
}

/// Before a change through the API: nothing for a database id; 403 naming the file to edit for
/// a file script, 404 for an unknown negative id.
pub fn refuse_change<T: FileBacked>(scripts: &Scripts, id: i64) -> crate::error::Result<()> {
    if id > 0 {
        return Ok(());
    }
    let script = find::<T>(scripts, id)?;
    Err(Error::ReadOnly(format!(
        "This {} comes from the script file {} and is read-only here; edit or remove that file instead.",
        T::NAME.to_lowercase(),
        script.file().unwrap_or_default()
    )))
}

/// Which file a script was read from.
#[derive(Debug, Clone)]
pub struct FileScript {
    /// [`file_id`] of the file.
    pub id: i64,
    /// The file name without `.rhai`: the action key after [`ACTION_KEY_PREFIX`].
    pub name: String,
    /// Relative to `[scripts] dir`, with `/`: `macros/close-as-duplicate.rhai`.
    pub path: String,
    /// When the file was last modified (its `created_at` and `updated_at`).
    pub modified: Timestamp,
}

/// The id of the file `{folder}/{name}.rhai`: negative, so never a database id (those count up
/// from 1), and the same on every start and every node, so the runs of a file automation are
/// remembered across restarts. It fits in 53 bits, so JavaScript clients read it exactly.
/// Renaming the file makes it another script.
pub fn file_id(folder: &str, name: &str) -> i64 {
    // FNV-1a: stable across Rust releases, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in folder.bytes().chain([b'/']).chain(name.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    -((hash >> 11) as i64) - 1
}

/// One page of `files` followed by the database's items, as one list: files first (in the
/// order of `file_key`, their file name), then the stored ones. `db` is asked for the window of
/// its own items (by id) and answers them with its total. A keyset position in the files is
/// the file name and negative id of the last one shown; a positive id is past the files.
pub async fn merged_page<T: Clone, F, Fut>(
    files: &[T],
    file_key: impl Fn(&T) -> &str,
    window: &Window,
    db: F,
) -> crate::error::Result<Slice<T>>
where
    F: FnOnce(Window) -> Fut,
    Fut: Future<Output = crate::error::Result<Slice<T>>>,
{
    let count = files.len();
    let limit = usize::try_from(window.limit()).unwrap_or(0);
    // Where the page starts among the files, and where the stored items start.
    let (start, stored_from) = match window {
        Window::Offset { offset, .. } => {
            let offset = usize::try_from(*offset).unwrap_or(usize::MAX);
            (offset.min(count), None)
        }
        Window::After {
            after: Some(position),
            ..
        } if position.id > 0 => (count, Some(position.clone())),
        Window::After { after, .. } => {
            let start = match after.as_ref().and_then(|p| p.key.as_ref()) {
                Some(SortValue::Text(name)) => files
                    .iter()
                    .position(|f| file_key(f) > name.as_str())
                    .unwrap_or(count),
                _ => 0,
            };
            (start, None)
        }
    };
    let end = start.saturating_add(limit).min(count);
    let rest = (limit - (end - start)) as i64;
    let db_window = match window {
        Window::Offset { offset, .. } => Window::Offset {
            limit: rest,
            offset: (*offset - count as i64).max(0),
        },
        Window::After { .. } => Window::After {
            limit: rest,
            after: stored_from,
        },
    };
    let stored = db(db_window).await?;
    let mut items: Vec<T> = files[start..end].to_vec();
    items.extend(stored.items);
    Ok(Slice {
        items,
        total: count as i64 + stored.total,
        more: end < count || stored.more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keyset::Position;

    #[test]
    fn file_ids_are_negative_stable_and_distinct() {
        let id = file_id("macros", "close-as-duplicate");
        assert!((-(1 << 53)..0).contains(&id));
        assert_eq!(id, file_id("macros", "close-as-duplicate"));
        assert_ne!(id, file_id("automations", "close-as-duplicate"));
        assert_ne!(id, file_id("macros", "close-as-duplicates"));
    }

    #[tokio::test]
    async fn pages_run_through_files_then_the_database() {
        let files = ["a", "b", "c"];
        fn key<'a>(f: &'a &str) -> &'a str {
            f
        }
        // Stored ids 1..=4, shown as their number.
        let db = |window: Window| async move {
            let all = ["1", "2", "3", "4"];
            let from = match &window {
                Window::Offset { offset, .. } => *offset as usize,
                Window::After { after, .. } => after.as_ref().map_or(0, |p| p.id as usize),
            };
            let rows: Vec<&str> = all
                .iter()
                .skip(from)
                .take(window.limit() as usize + 1)
                .copied()
                .collect();
            Ok(Slice::cut(rows, window.limit(), 4))
        };
        let page = |limit, offset| {
            let window = Window::Offset { limit, offset };
            async move {
                let s = merged_page(&files, key, &window, db).await.unwrap();
                (s.items, s.total, s.more)
            }
        };
        assert_eq!(page(2, 0).await, (vec!["a", "b"], 7, true));
        assert_eq!(page(2, 2).await, (vec!["c", "1"], 7, true));
        assert_eq!(page(2, 4).await, (vec!["2", "3"], 7, true));
        assert_eq!(page(5, 5).await, (vec!["3", "4"], 7, false));
        assert_eq!(page(5, 10).await, (vec![], 7, false));
        assert_eq!(
            page(3, 0).await,
            (vec!["a", "b", "c"], 7, true),
            "the files fill it"
        );

        let after = |limit, after: Option<Position>| {
            let window = Window::After { limit, after };
            async move {
                let s = merged_page(&files, key, &window, db).await.unwrap();
                (s.items, s.more)
            }
        };
        let file = |name: &str| {
            Some(Position {
                key: Some(SortValue::Text(name.into())),
                id: -1,
            })
        };
        assert_eq!(after(2, None).await, (vec!["a", "b"], true));
        assert_eq!(after(2, file("b")).await, (vec!["c", "1"], true));
        assert_eq!(after(1, file("c")).await, (vec!["1"], true));
        assert_eq!(
            after(2, Some(Position::id(1))).await,
            (vec!["2", "3"], true)
        );
        assert_eq!(
            after(2, Some(Position::id(2))).await,
            (vec!["3", "4"], false)
        );
        assert_eq!(after(2, Some(Position::id(4))).await, (vec![], false));
    }
}
