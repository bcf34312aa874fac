//! The admin CRUD endpoints, written once: `GET {path}`, `GET {path}/:id`,
//! `POST {path}/create`, `PATCH {path}/:id/update` and `DELETE {path}/:id/delete` over any
//! [`AdminResource`]. Each kind's module (`admin_tags.rs`, ...) declares its record, its create
//! and update bodies and its documentation, and [`admin_api!`] generates its `#[OpenApi]` impl
//! from them (poem-openapi cannot derive a generic one).

use poem::http::Uri;
use poem_openapi::{
    payload::Json,
    types::{ParseFromJSON, ToJSON},
};

use super::{
    body::DeferredJson,
    conditional,
    envelope::{Changed, Created, Tagged, Written, changed, created, location},
    errors::ApiResult,
    params::{Listed, PageRequest},
    removal::{RemovalResult, removed},
    security::Caller,
};
use crate::{
    app::AppState,
    domain::{
        admin::{AdminResource, Context, RecordOrigin},
        paging::KeyKind,
    },
    error::Error,
};

/// The domain's view of who is calling.
fn context<'a>(state: &'a AppState, caller: &Caller) -> Context<'a> {
    Context {
        store: &state.store,
        scripts: &state.scripts,
        actor: caller.0.user_id,
        allow_private: state.config.webhooks.allow_private,
    }
}

/// What to do once a record of the kind has changed, besides answering: users drop their
/// cached tokens (see docs/architecture.md, "The token cache").
pub type AfterWrite = fn(&AppState, i64);

/// The kind's [`AfterWrite`], or nothing.
macro_rules! after_write {
    () => {
        (|_, _| {}) as $crate::api::admin::AfterWrite
    };
    ($after:expr) => {
        $after as $crate::api::admin::AfterWrite
    };
}
pub(crate) use after_write;

/// `From<$body> for $input`, one line per body: each field of the input from the body's field
/// of the same name, as it is or through the function after its `:` (`Some` for a required
/// field of a create body, `Into::into` for a `MaybeUndefined`, [`some_into`], [`map_into`]).
macro_rules! into_input {
    ($body:ty => $input:ident { $($field:ident $(: $convert:expr)?),* $(,)? }) => {
        impl From<$body> for $input {
            fn from(body: $body) -> Self {
                $input { $($field: $crate::api::admin::into_input!(@field body.$field $(, $convert)?),)* }
            }
        }
    };
    (@field $value:expr) => {
        $value
    };
    (@field $value:expr, $convert:expr) => {
        $convert($value)
    };
}
pub(crate) use into_input;

/// `file` for a script loaded from a file, else `database`.
pub fn origin(file: &Option<String>) -> &'static str {
    if file.is_some() { "file" } else { "database" }
}

/// The record of a script-backed kind whose other fields the API shows as the domain holds
/// them: `id`, the fields listed, then `origin` and `file` (with the docs written above each)
/// and the two times; and `From` the domain value.
macro_rules! script_record {
    (
        $(#[$attr:meta])*
        $record:ident from $domain:ty {
            $($(#[doc = $doc:literal])* $field:ident: $type:ty,)*
        }
        $(#[doc = $origin_doc:literal])* origin,
        $(#[doc = $file_doc:literal])* file $(,)?
    ) => {
        #[derive(Debug, poem_openapi::Object)]
        $(#[$attr])*
        pub struct $record {
            pub id: i64,
            $($(#[doc = $doc])* pub $field: $type,)*
            $(#[doc = $origin_doc])*
            pub origin: String,
            $(#[doc = $file_doc])*
            pub file: Option<String>,
            pub created_at: $crate::api::date_time::DateTime,
            pub updated_at: $crate::api::date_time::DateTime,
        }

        impl From<$domain> for $record {
            fn from(kind: $domain) -> Self {
                $record {
                    id: kind.id,
                    $($field: kind.$field,)*
                    origin: $crate::api::admin::origin(&kind.file).into(),
                    file: kind.file,
                    created_at: $crate::api::date_time::DateTime(kind.created_at),
                    updated_at: $crate::api::date_time::DateTime(kind.updated_at),
                }
            }
        }
    };
}
pub(crate) use script_record;

/// A required value converted, as an input's optional field.
pub fn some_into<A: Into<B>, B>(value: A) -> Option<B> {
    Some(value.into())
}

/// An optional value converted.
pub fn map_into<A: Into<B>, B>(value: Option<A>) -> Option<B> {
    value.map(Into::into)
}

/// The list's cursor key: a script file's name, else the id.
fn key_kind<T: AdminResource>() -> KeyKind {
    if <T::Origin as RecordOrigin<T>>::FILES {
        KeyKind::FileNameOrId
    } else {
        KeyKind::IdOnly
    }
}

pub async fn list<T: AdminResource, R>(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    (page, per_page, cursor): (Option<i64>, Option<i64>, Option<String>),
) -> ApiResult<Listed<R>>
where
    R: From<T> + ParseFromJSON + ToJSON + Send,
{
    let request = PageRequest::parse(page, per_page, cursor, T::KIND, key_kind::<T>())?;
    let cx = context(state, caller);
    let slice = T::page(cx, &request.window).await?;
    Ok(request.paged(uri, slice, T::position))
}

/// The record as its item `GET` shows it, and its ETag (a hash of that).
async fn tagged<T: AdminResource, R>(cx: Context<'_>, id: i64) -> ApiResult<(R, String)>
where
    R: From<T> + ToJSON,
{
    let record: R = T::find(cx, id).await?.into();
    let etag = conditional::of_json(record.to_json());
    Ok((record, etag))
}

/// `Precondition failed.` unless `if_match` (when sent) names the record's current ETag.
///
/// Checked before the write, not under its lock: two writers that both read the same version
/// can both pass (see docs/sync.md).
async fn check<T: AdminResource, R>(
    cx: Context<'_>,
    id: i64,
    if_match: Option<&str>,
) -> ApiResult<()>
where
    R: From<T> + ToJSON,
{
    if if_match.is_some() {
        let (_, etag) = tagged::<T, R>(cx, id).await?;
        if !conditional::matches(if_match, &etag) {
            return Err(Error::PreconditionFailed.into());
        }
    }
    Ok(())
}

pub async fn show<T: AdminResource, R>(
    state: &AppState,
    caller: &Caller,
    id: i64,
    if_none_match: Option<&str>,
) -> ApiResult<Tagged<R>>
where
    R: From<T> + ParseFromJSON + ToJSON + Send,
{
    let (record, etag) = tagged::<T, R>(context(state, caller), id).await?;
    Ok(Tagged::new(record, etag, if_none_match))
}

pub async fn create<T: AdminResource, C>(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    body: impl Into<T::Create>,
) -> ApiResult<Created<C>>
where
    C: From<T::Created> + ParseFromJSON + ToJSON + Send,
{
    let made: C = T::create(context(state, caller), body.into()).await?.into();
    // Every admin record answers its `id`; the created one (a webhook with its secret, say)
    // need not be the listed type, so the id is read from what is answered.
    let id = made
        .to_json()
        .and_then(|json| json.get("id").map(|id| id.to_string()));
    let location = location(uri, id.as_deref());
    Ok(created(made, &format!("{} created.", T::KIND), location))
}

pub async fn update<T: AdminResource, R, B>(
    state: &AppState,
    caller: &Caller,
    (id, if_match): (i64, Option<&str>),
    body: DeferredJson<B>,
    after: AfterWrite,
) -> ApiResult<Changed<R>>
where
    R: From<T> + ParseFromJSON + ToJSON + Send,
    B: Into<T::Update>,
{
    let cx = context(state, caller);
    // An unknown id is 404, and a file script 403, before the body is judged (contract §8);
    // so is a stale `If-Match` (RFC 9110: preconditions before the content).
    T::writable(cx, id).await?;
    check::<T, R>(cx, id, if_match).await?;
    let body = body.parse()?;
    let record: R = T::update(cx, id, body.into()).await?.into();
    after(state, id);
    let etag = conditional::of_json(record.to_json());
    Ok(changed(record, &format!("{} updated.", T::KIND), etag))
}

pub async fn delete<T: AdminResource, R>(
    state: &AppState,
    caller: &Caller,
    (id, if_match): (i64, Option<&str>),
    after: AfterWrite,
) -> ApiResult<Json<Written<RemovalResult>>>
where
    R: From<T> + ToJSON,
{
    check::<T, R>(context(state, caller), id, if_match).await?;
    let removal = T::delete(context(state, caller), id).await?;
    after(state, id);
    Ok(removed(id, removal, &format!("{} deleted.", T::KIND)))
}

/// The `#[OpenApi]` impl of one admin kind: `admin_api! { ApiName for DomainType { ... } }`
/// with the record, the bodies, the path, the operation ids and each operation's doc comment
/// (its first line is the summary), followed by any endpoints of the kind's own.
macro_rules! admin_api {
    // The impl itself, with the writes to one record (update, delete) from one template.
    (
        @impl $api:ident for $kind:ty {
            tag: $tag:tt,
            path: $path:tt,
            record: $record:ty,
            created: $created:ty,
            create: $create:ty,
            after: $after:tt,
            ids: [$list_id:tt, $show_id:tt, $create_id:tt],
        }
        docs: [[$(#[doc = $list_doc:tt])*] [$(#[doc = $show_doc:tt])*] [$(#[doc = $create_doc:tt])*]],
        writes: [$({
            $write:ident $write_path:tt $write_method:tt $write_id:tt,
            docs: [$(#[doc = $write_doc:tt])*],
            if_match: $if_match:tt,
            call: ($($call:tt)*),
            body: [$($body:ty)?],
            answer: $answer:ty,
        })*],
        own: [$($own:tt)*]
    ) => {
        pub struct $api;

        #[poem_openapi::OpenApi(tag = $tag, prefix_path = $path)]
        impl $api {
            $(#[doc = $list_doc])*
            #[oai(path = "/", method = "get", operation_id = $list_id)]
            async fn list(
                &self,
                caller: $crate::api::security::Caller,
                state: poem::web::Data<&$crate::app::AppState>,
                req: &poem::Request,
                /// From 1; past the last page the list is empty. Not with `cursor`.
                page: poem_openapi::param::Query<Option<i64>>,
                /// Rows per page.
                per_page: poem_openapi::param::Query<Option<i64>>,
                /// Continues the list after the page that gave it (`meta.next_cursor`).
                cursor: poem_openapi::param::Query<Option<String>>,
            ) -> $crate::api::errors::ApiResult<$crate::api::params::Listed<$record>> {
                $crate::api::admin::list::<$kind, $record>(
                    &state,
                    &caller,
                    req.original_uri(),
                    (page.0, per_page.0, cursor.0),
                )
                .await
            }

            $(#[doc = $show_doc])*
            #[oai(path = "/:id", method = "get", operation_id = $show_id)]
            async fn show(
                &self,
                caller: $crate::api::security::Caller,
                state: poem::web::Data<&$crate::app::AppState>,
                id: poem_openapi::param::Path<i64>,
                /// An `ETag` of this record: 304 (no body) while it is current.
                #[oai(name = "If-None-Match")]
                if_none_match: poem_openapi::param::Header<Option<String>>,
            ) -> $crate::api::errors::ApiResult<$crate::api::envelope::Tagged<$record>> {
                $crate::api::admin::show::<$kind, $record>(
                    &state,
                    &caller,
                    id.0,
                    if_none_match.0.as_deref(),
                )
                .await
            }

            $(#[doc = $create_doc])*
            #[oai(path = "/create", method = "post", operation_id = $create_id)]
            async fn create(
                &self,
                caller: $crate::api::security::Caller,
                state: poem::web::Data<&$crate::app::AppState>,
                req: &poem::Request,
                body: $crate::api::body::JsonBody<$create>,
            ) -> $crate::api::errors::ApiResult<$crate::api::envelope::Created<$created>> {
                $crate::api::admin::create::<$kind, $created>(
                    &state,
                    &caller,
                    req.original_uri(),
                    body.0,
                )
                .await
            }

            $(
                $(#[doc = $write_doc])*
                #[oai(path = $write_path, method = $write_method, operation_id = $write_id)]
                async fn $write(
                    &self,
                    caller: $crate::api::security::Caller,
                    state: poem::web::Data<&$crate::app::AppState>,
                    id: poem_openapi::param::Path<i64>,
                    #[doc = $if_match]
                    #[doc = " `Precondition failed.` and nothing changes."]
                    #[oai(name = "If-Match")]
                    if_match: poem_openapi::param::Header<Option<String>>,
                    $(body: $crate::api::body::DeferredJson<$body>,)?
                ) -> $crate::api::errors::ApiResult<$answer> {
                    $($call)*(
                        &state,
                        &caller,
                        (id.0, if_match.0.as_deref()),
                        $({ let body: $crate::api::body::DeferredJson<$body> = body; body },)?
                        $after,
                    )
                    .await
                }
            )*

            $($own)*
        }
    };
    (
        $api:ident for $kind:ty {
            tag: $tag:tt,
            path: $path:tt,
            record: $record:ty,
            created: $created:ty,
            create: $create:ty,
            update: $update:ty,
            $(after_write: $after:expr,)?
            ids: [$list_id:tt, $show_id:tt, $create_id:tt, $update_id:tt, $delete_id:tt],
        }
        $(#[doc = $list_doc:tt])* list;
        $(#[doc = $show_doc:tt])* show;
        $(#[doc = $create_doc:tt])* create;
        $(#[doc = $update_doc:tt])* update;
        $(#[doc = $delete_doc:tt])* delete;
        $($own:tt)*
    ) => {
        $crate::api::admin::admin_api! {
            @impl $api for $kind {
                tag: $tag,
                path: $path,
                record: $record,
                created: $created,
                create: $create,
                after: { $crate::api::admin::after_write!($($after)?) },
                ids: [$list_id, $show_id, $create_id],
            }
            docs: [[$(#[doc = $list_doc])*] [$(#[doc = $show_doc])*] [$(#[doc = $create_doc])*]],
            writes: [
                {
                    update "/:id/update" "patch" $update_id,
                    docs: [$(#[doc = $update_doc])*],
                    if_match: " An `ETag` of this record: change it only if it is still the same; else 412",
                    call: ($crate::api::admin::update::<$kind, $record, $update>),
                    body: [$update],
                    answer: $crate::api::envelope::Changed<$record>,
                }
                {
                    delete "/:id/delete" "delete" $delete_id,
                    docs: [$(#[doc = $delete_doc])*],
                    if_match: " An `ETag` of this record: delete it only if it is still the same; else 412",
                    call: ($crate::api::admin::delete::<$kind, $record>),
                    body: [],
                    answer: poem_openapi::payload::Json<
                        $crate::api::envelope::Written<$crate::api::removal::RemovalResult>,
                    >,
                }
            ],
            own: [$($own)*]
        }
    };
}
pub(crate) use admin_api;
