//! Query parameters shared by list endpoints, checked to the contract (422 naming the field).

use poem::http::Uri;
use poem_openapi::{
    ApiResponse,
    payload::Json,
    registry::MetaSchema,
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON},
};

use super::errors::ApiResult;
use super::{
    envelope::{PageMeta, Paged},
    scalar_type::scalar_type,
};
use crate::{
    domain::paging::{self, KeyKind, Position, Slice, Window},
    error::{Error, FieldErrors},
};

pub const DEFAULT_PER_PAGE: i64 = 25;
pub const MAX_PER_PAGE: i64 = 100;

/// A checked `page` / `per_page` / `cursor`: which rows of which list to show.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// `None` when the page is asked for by cursor.
    pub page: Option<i64>,
    pub per_page: i64,
    pub window: Window,
    /// The list and order a cursor must belong to (see `domain::paging`).
    list: String,
}

impl PageRequest {
    /// A page of the list `list` (its name and order, whose sort key is `kind`): `cursor` or
    /// `page` (not both), `per_page` 1..=`max_per_page`.
    pub fn parse(
        page: Option<i64>,
        per_page: Option<i64>,
        cursor: Option<String>,
        list: impl Into<String>,
        kind: KeyKind,
    ) -> Result<PageRequest, Error> {
        Self::parse_up_to(page, per_page, cursor, list, kind, MAX_PER_PAGE)
    }

    /// [`PageRequest::parse`] with another largest `per_page`.
    pub fn parse_up_to(
        page: Option<i64>,
        per_page: Option<i64>,
        cursor: Option<String>,
        list: impl Into<String>,
        kind: KeyKind,
        max_per_page: i64,
    ) -> Result<PageRequest, Error> {
        let list = list.into();
        let mut errors = FieldErrors::new();
        if page.is_some_and(|p| p < 1) {
            errors.add("page", "The page must be at least 1.");
        }
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=max_per_page).contains(&per_page) {
            errors.add(
                "per_page",
                format!("The per page must be between 1 and {max_per_page}."),
            );
        }
        let after = match cursor.as_deref() {
            None => None,
            Some(_) if page.is_some() => {
                errors.add("cursor", "Give either a page or a cursor, not both.");
                None
            }
            Some(text) => match paging::decode(&list, kind, text) {
                Ok(position) => Some(position),
                Err(Error::Validation(fields)) => {
                    for (field, message) in fields.iter() {
                        errors.add(field.clone(), message.clone());
                    }
                    None
                }
                Err(other) => return Err(other),
            },
        };
        errors.into_result()?;
        let window = match cursor {
            Some(_) => Window::After {
                limit: per_page,
                after,
            },
            None => {
                let page = page.unwrap_or(1);
                Window::Offset {
                    limit: per_page,
                    offset: (page - 1).saturating_mul(per_page),
                }
            }
        };
        Ok(PageRequest {
            page: cursor_free(&window).then(|| page.unwrap_or(1)),
            per_page,
            window,
            list,
        })
    }

    /// The cursor that continues the list after `position`.
    pub fn cursor(&self, position: &Position) -> String {
        paging::encode(&self.list, position)
    }

    /// This page of `slice` as the list envelope, each item converted by `convert`, with
    /// `meta.next_cursor` and the `Link` to the next page (from `uri`, the request's).
    pub fn listed<T, R: ParseFromJSON + ToJSON + Send>(
        &self,
        uri: &Uri,
        slice: Slice<T>,
        position: impl Fn(&T) -> Position,
        convert: impl FnMut(T) -> R,
    ) -> Listed<R> {
        let next = slice.next(position).map(|p| self.cursor(&p));
        let link = next.as_deref().map(|cursor| next_link(uri, cursor));
        let meta = PageMeta::new(self.page, self.per_page, slice.total, next);
        Listed::Page(
            Json(Paged {
                data: slice.items.into_iter().map(convert).collect(),
                meta,
            }),
            link,
        )
    }

    /// [`PageRequest::listed`] for items that convert with `From`.
    pub fn paged<T, R: From<T> + ParseFromJSON + ToJSON + Send>(
        &self,
        uri: &Uri,
        slice: Slice<T>,
        position: impl Fn(&T) -> Position,
    ) -> Listed<R> {
        self.listed(uri, slice, position, R::from)
    }
}

fn cursor_free(window: &Window) -> bool {
    matches!(window, Window::Offset { .. })
}

/// `<uri with cursor=...>; rel="next"`: the request's path and query, without `page` and
/// `cursor`, with the next cursor.
fn next_link(uri: &Uri, cursor: &str) -> String {
    let mut query: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            !pair.is_empty() && name != "page" && name != "cursor"
        })
        .collect();
    let cursor = format!("cursor={cursor}");
    query.push(&cursor);
    format!("<{}?{}>; rel=\"next\"", uri.path(), query.join("&"))
}

/// A page of a list, with `Link: <...>; rel="next"` when another page follows.
#[derive(ApiResponse)]
pub enum Listed<T: ParseFromJSON + ToJSON + Send> {
    #[oai(status = 200)]
    Page(
        Json<Paged<T>>,
        /// The next page (`rel="next"`), when there is one.
        #[oai(header = "Link")]
        Option<String>,
    ),
}

/// A boolean query flag: `1`, `0`, `true` or `false`; anything else is 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

scalar_type!(
    Flag,
    "flag",
    MetaSchema {
        enum_items: vec!["1".into(), "0".into(), "true".into(), "false".into()],
        description: Some("`1`/`true` turns the filter on; `0`/`false` leaves it off."),
        ..MetaSchema::new("string")
    }
);

impl ParseFromParameter for Flag {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        match value {
            "1" | "true" => Ok(Flag(true)),
            "0" | "false" => Ok(Flag(false)),
            _ => Err(ParseError::custom("expected 1, 0, true or false")),
        }
    }
}

/// The `page`, `per_page` and `cursor` a list endpoint received, unchecked.
pub type PageParams = (Option<i64>, Option<i64>, Option<String>);

/// A page of `list`, a list keyed by id alone: `fetch` reads the items of the asked-for window,
/// and the answer links to the pages around it from `uri`.
pub async fn by_id<T, R>(
    uri: &Uri,
    (page, per_page, cursor): PageParams,
    list: impl Into<String>,
    fetch: impl AsyncFnOnce(&Window) -> crate::error::Result<Slice<T>>,
    id: impl Fn(&T) -> i64,
) -> ApiResult<Listed<R>>
where
    R: From<T> + ParseFromJSON + ToJSON + Send,
{
    let request = PageRequest::parse(page, per_page, cursor, list, KeyKind::IdOnly)?;
    let items = fetch(&request.window).await?;
    Ok(request.paged(uri, items, |item| Position::id(id(item))))
}

/// A list keyed by id alone that is an `#[OpenApi]` struct of its own:
///
/// ```text
/// paged_list! { docs Api (tag = ..) name: "/path/:id" "operation.id", path id: i64 => Item,
///     list "its:name", read |state, window| fetch(&state.store, id, window), id |r: Row| r.id; }
/// ```
///
/// The endpoint takes the path parameters (bound by name for the expressions), `page`,
/// `per_page` and `cursor`, reads the window with `read`, and answers it through [`by_id`].
macro_rules! paged_list {
    (
        $(#[doc = $doc:tt])*
        $api:ident (tag = $tag:tt)
        $name:ident: $path:tt $id:tt $(, path $param:ident: $param_type:ty)* => $item:ty,
            list $list:expr, read |$state:ident, $window:ident| $read:expr,
            id |$row:ident: $row_type:ty| $row_id:expr;
    ) => {
        pub struct $api;

        #[poem_openapi::OpenApi(tag = $tag)]
        impl $api {
            $(#[doc = $doc])*
            #[oai(path = $path, method = "get", operation_id = $id)]
            #[allow(clippy::too_many_arguments)]
            async fn $name(
                &self,
                _caller: $crate::api::security::Caller,
                state: poem::web::Data<&$crate::app::AppState>,
                req: &poem::Request,
                $($param: poem_openapi::param::Path<$param_type>,)*
                page: poem_openapi::param::Query<Option<i64>>,
                per_page: poem_openapi::param::Query<Option<i64>>,
                /// Continues the list after the page that gave it (`meta.next_cursor`).
                cursor: poem_openapi::param::Query<Option<String>>,
            ) -> $crate::api::errors::ApiResult<$crate::api::params::Listed<$item>> {
                $(let $param = $param.0;)*
                let $state: &$crate::app::AppState = state.0;
                let asked = (page.0, per_page.0, cursor.0);
                let read = async |$window: &_| $read.await;
                let id = |$row: &$row_type| $row_id;
                $crate::api::params::by_id(req.original_uri(), asked, $list, read, id).await
            }
        }
    };
}
pub(crate) use paged_list;
