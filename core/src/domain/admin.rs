//! What every admin resource (users, departments, tags, canned responses, macros, SLA
//! policies, webhooks, custom actions, automations) has in common, written once: a kind name,
//! a stored row, and page / find / create / update / delete with the same 404s. Each kind's
//! module implements [`AdminResource`] with its own rules (create, update, and a delete that
//! deactivates where the kind says so); the list, the lookups and a plain delete come from the
//! defaults here. The endpoints over it are `api::admin`.

use super::{
    Removal,
    scripts::{self, FileBacked, FileSet},
};
use crate::{
    domain::scripts::Scripts,
    error::{Error, Result},
    store::{
        Store,
        keyset::{Position, Slice, SortValue, Window},
        records::{self, Record},
    },
};

/// Whether an admin item is made active when its create body leaves `is_active` out.
pub const ACTIVE_ON_CREATE: bool = true;

/// Who makes an admin call, and what its rules may consult.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub store: &'a Store,
    pub scripts: &'a Scripts,
    /// The calling admin: the owner of a personal canned response or macro they make, and
    /// the one user who may not demote or deactivate themselves.
    pub actor: i64,
    /// `webhooks.allow_private`: whether webhook URLs may point at private addresses.
    pub allow_private: bool,
}

/// The head of an [`AdminResource`] impl, alike in every kind: its name as messages and 404s
/// give it, its row, where its records come from ([`Database`] or [`AlsoFiles`]), its create
/// and update inputs (`input` for one type for both), what a create answers (the record unless
/// `created` says otherwise), and `id` from its `id` field:
/// `admin_kind! { "Tag": row TagRow, origin Database, input TagInput }`.
macro_rules! admin_kind {
    ($kind:literal: row $row:ty, origin $origin:ty, input $input:ty) => {
        $crate::domain::admin::admin_kind! {
            $kind: row $row, origin $origin, create $input, update $input, created Self
        }
    };
    ($kind:literal: row $row:ty, origin $origin:ty, input $input:ty, created $created:ty) => {
        $crate::domain::admin::admin_kind! {
            $kind: row $row, origin $origin, create $input, update $input, created $created
        }
    };
    ($kind:literal: row $row:ty, origin $origin:ty, create $create:ty, update $update:ty) => {
        $crate::domain::admin::admin_kind! {
            $kind: row $row, origin $origin, create $create, update $update, created Self
        }
    };
    (
        $kind:literal: row $row:ty, origin $origin:ty,
        create $create:ty, update $update:ty, created $created:ty
    ) => {
        const KIND: &'static str = $kind;
        type Row = $row;
        type Origin = $origin;
        type Create = $create;
        type Update = $update;
        type Created = $created;

        fn id(&self) -> i64 {
            self.id
        }
    };
}
pub(crate) use admin_kind;

/// A kind of record admins manage.
#[allow(async_fn_in_trait)] // Called with concrete kinds only, whose futures are `Send`.
pub trait AdminResource: Sized + Clone + Send + Sync {
    /// The kind as messages name it: `Tag` (`Tag not found.`, `Tag created.`).
    const KIND: &'static str;
    /// Its row in the store, read into the record by `TryFrom` (a row that cannot be read is
    /// an error, never a default).
    type Row: Record + TryInto<Self, Error: Into<Error>>;
    /// Where its records come from: [`Database`], or [`AlsoFiles`] for the script-backed kinds.
    type Origin: RecordOrigin<Self>;
    /// What a create and an update take, unchecked.
    type Create: Send;
    type Update: Send;
    /// What a create answers: the record (a webhook adds its secret).
    type Created: Send;

    /// Its id (negative for a script file's record).
    fn id(&self) -> i64;

    /// Where it stands in the list (see [`AdminResource::page`]): by id, a file's by name.
    fn position(&self) -> Position {
        Self::Origin::position(self, self.id())
    }

    /// The record of a stored row.
    fn from_row(row: Self::Row) -> Result<Self> {
        row.try_into().map_err(Into::into)
    }

    async fn create(cx: Context<'_>, input: Self::Create) -> Result<Self::Created>;

    async fn update(cx: Context<'_>, id: i64, input: Self::Update) -> Result<Self>;

    /// Deletes the record; kinds still referenced elsewhere deactivate instead.
    async fn delete(cx: Context<'_>, id: i64) -> Result<Removal> {
        Self::Origin::refuse_change(cx.scripts, id)?;
        delete_row::<Self>(cx.store, id).await?;
        Ok(Removal::Deleted)
    }

    /// A page of every record: those from files first (by file name), then the stored ones
    /// by id; with the total.
    async fn page(cx: Context<'_>, window: &Window) -> Result<Slice<Self>> {
        let files = cx.scripts.files();
        let stored = |window| page_rows::<Self>(cx.store, window);
        let key = Self::Origin::file_key;
        scripts::merged_page(Self::Origin::list(&files), key, window, stored).await
    }

    /// The record `id`, or 404.
    async fn find(cx: Context<'_>, id: i64) -> Result<Self> {
        match Self::Origin::find(cx.scripts, id) {
            Some(from_file) => from_file,
            None => Self::from_row(row::<Self>(&mut *cx.store.conn().await?, id).await?),
        }
    }

    /// Before a change's body is judged: 404 for an unknown record, 403 for one from a file.
    async fn writable(cx: Context<'_>, id: i64) -> Result<()> {
        Self::Origin::refuse_change(cx.scripts, id)?;
        Self::find(cx, id).await.map(drop)
    }
}

/// Where the records of a kind come from (see [`AdminResource::Origin`]).
pub trait RecordOrigin<T> {
    /// Whether some records come from files.
    const FILES: bool;
    /// The records read from script files.
    fn list(files: &FileSet) -> &[T];
    /// `Some` for an id that belongs to the files (found or 404); `None` for a stored id.
    fn find(scripts: &Scripts, id: i64) -> Option<Result<T>>;
    /// 403 for a record from a file, which is changed by editing the file.
    fn refuse_change(scripts: &Scripts, id: i64) -> Result<()>;
    /// What files are listed by (their file name).
    fn file_key(item: &T) -> &str;
    /// The list position of the record `id`: by id, or a file's by its name.
    fn position(item: &T, id: i64) -> Position {
        match id {
            ..0 => Position {
                key: Some(SortValue::Text(Self::file_key(item).to_string())),
                id,
            },
            _ => Position::id(id),
        }
    }
}

/// Records only in the database.
pub struct Database;

impl<T> RecordOrigin<T> for Database {
    const FILES: bool = false;
    fn list(_: &FileSet) -> &[T] {
        &[]
    }
    fn find(_: &Scripts, _: i64) -> Option<Result<T>> {
        None
    }
    fn refuse_change(_: &Scripts, _: i64) -> Result<()> {
        Ok(())
    }
    fn file_key(_: &T) -> &str {
        ""
    }
}

/// Records in the database and, with negative ids and read-only, in script files.
pub struct AlsoFiles;

impl<T: FileBacked> RecordOrigin<T> for AlsoFiles {
    const FILES: bool = true;
    fn list(files: &FileSet) -> &[T] {
        T::all(files)
    }
    fn find(scripts: &Scripts, id: i64) -> Option<Result<T>> {
        (id < 0).then(|| scripts::find(scripts, id))
    }
    fn refuse_change(scripts: &Scripts, id: i64) -> Result<()> {
        scripts::refuse_change::<T>(scripts, id)
    }
    fn file_key(item: &T) -> &str {
        item.file().unwrap_or_default()
    }
}

/// The stored row `id` of kind `T`, or 404 (`Tag not found.`).
pub async fn row<T: AdminResource>(conn: &mut sqlx::AnyConnection, id: i64) -> Result<T::Row> {
    records::find(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(T::KIND))
}

/// A page of the stored records of kind `T`, by id, with their total.
pub async fn page_rows<T: AdminResource>(store: &Store, window: Window) -> Result<Slice<T>> {
    records::page::<T::Row>(&mut *store.conn().await?, &window)
        .await?
        .try_map(T::from_row)
}

/// Deletes the stored record `id` of kind `T` with its dependent rows, or 404.
pub async fn delete_row<T: AdminResource>(store: &Store, id: i64) -> Result<()> {
    let mut tx = store.begin().await?;
    if !records::delete::<T::Row>(&mut tx, id).await? {
        return Err(Error::not_found(T::KIND));
    }
    tx.commit().await
}

/// The error of a row that vanished inside the transaction that wrote it.
pub fn vanished<T: AdminResource>(id: i64) -> Error {
    Error::Internal(anyhow::anyhow!(
        "{} {id} vanished inside its transaction",
        T::KIND
    ))
}

/// Writes `row` and reads it back (with what the table's `SELECT` joins): the answer of an
/// update.
pub async fn update_and_read<T: AdminResource>(
    conn: &mut sqlx::AnyConnection,
    row: &T::Row,
) -> Result<T> {
    records::update(conn, row).await?;
    T::from_row(reread::<T>(conn, row.id()).await?)
}

/// The row just written, read back inside the same transaction.
pub async fn reread<T: AdminResource>(conn: &mut sqlx::AnyConnection, id: i64) -> Result<T::Row> {
    records::find(conn, id)
        .await?
        .ok_or_else(|| vanished::<T>(id))
}
