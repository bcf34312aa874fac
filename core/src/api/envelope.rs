//! The success envelope (contract §3): `data`, `meta` on paginated lists, `message` on writes.

use poem_openapi::{
    ApiResponse, Object,
    payload::Json,
    types::{ParseFromJSON, ToJSON},
};

/// A read: `{"data": ...}`.
#[derive(Debug, Object)]
pub struct Data<T: ParseFromJSON + ToJSON> {
    pub data: T,
}

/// A write: `{"data": ..., "message": "..."}`.
#[derive(Debug, Object)]
pub struct Written<T: ParseFromJSON + ToJSON> {
    pub data: T,
    pub message: String,
}

/// A write with nothing to return: `{"message": "Token revoked."}`.
#[derive(Debug, Object)]
pub struct Done {
    pub message: String,
}

/// A page of a list: `{"data": [...], "meta": {...}}`.
#[derive(Debug, Object)]
pub struct Paged<T: ParseFromJSON + ToJSON> {
    pub data: Vec<T>,
    pub meta: PageMeta,
}

#[derive(Debug, Clone, Object)]
pub struct PageMeta {
    /// The page shown, from 1; `null` for a page asked for by `cursor`.
    pub current_page: Option<i64>,
    /// The last page with items (1 when nothing matches); `null` for a page asked for by
    /// `cursor`.
    pub last_page: Option<i64>,
    /// Items per page.
    pub per_page: i64,
    /// How many items match. Counting a large table is costly, so a total is remembered for a
    /// moment: writes made through another server show within about 2 seconds plus one count,
    /// and where one count takes 50 ms or more (`database.slow_count_ms`; a million tickets on
    /// MariaDB take ~2 s) this server's own writes show after about one count.
    pub total: i64,
    /// Pass as `cursor` for the page after this one; `null` on the last page. Given for pages
    /// asked for by `page` too, so a client can switch to the cursor.
    pub next_cursor: Option<String>,
}

impl PageMeta {
    pub fn new(page: Option<i64>, per_page: i64, total: i64, next_cursor: Option<String>) -> Self {
        PageMeta {
            current_page: page,
            last_page: page.map(|_| ((total + per_page - 1) / per_page).max(1)),
            per_page,
            total,
            next_cursor,
        }
    }
}

/// 201 with the written envelope and the new resource's URL.
#[derive(ApiResponse)]
pub enum Created<T: ParseFromJSON + ToJSON + Send> {
    /// Created.
    #[oai(status = 201)]
    Created(
        Json<Written<T>>,
        /// The new resource's URL (a reply's: its ticket's).
        #[oai(header = "Location")]
        String,
        /// A new ticket's version; a reply's: its ticket's new version (see `GET
        /// /tickets/{reference}`).
        #[oai(header = "ETag")]
        Option<String>,
    ),
}

impl<T: ParseFromJSON + ToJSON + Send> Created<T> {
    /// The answer with the ETag of what it made (or changed).
    pub fn tagged(self, etag: String) -> Self {
        let Created::Created(body, location, _) = self;
        Created::Created(body, location, Some(etag))
    }
}

/// A read of one resource with its `ETag`, or 304 when the client's copy is current.
#[derive(ApiResponse)]
pub enum Tagged<T: ParseFromJSON + ToJSON + Send> {
    /// The resource.
    #[oai(status = 200)]
    Ok(
        Json<Data<T>>,
        /// The resource's version: send it back as `If-None-Match` to be answered 304 while it
        /// is current, or as `If-Match` to write only if it did not change since.
        #[oai(header = "ETag")]
        String,
    ),
    /// Not modified: `If-None-Match` names the current version. No body.
    #[oai(status = 304)]
    NotModified(
        /// The current version.
        #[oai(header = "ETag")]
        String,
    ),
}

impl<T: ParseFromJSON + ToJSON + Send> Tagged<T> {
    /// `resource` with `etag`, or 304 when `if_none_match` names it.
    pub fn new(resource: T, etag: String, if_none_match: Option<&str>) -> Self {
        if super::conditional::none_match(if_none_match, &etag) {
            Tagged::NotModified(etag)
        } else {
            Tagged::Ok(data(resource), etag)
        }
    }
}

/// A write's answer with the resource's new `ETag`.
#[derive(ApiResponse)]
pub enum Changed<T: ParseFromJSON + ToJSON + Send> {
    /// Done.
    #[oai(status = 200)]
    Ok(
        Json<Written<T>>,
        /// The resource's version after this write (see its `GET`).
        #[oai(header = "ETag")]
        String,
    ),
}

pub fn changed<T: ParseFromJSON + ToJSON + Send>(
    data: T,
    message: &str,
    etag: String,
) -> Changed<T> {
    Changed::Ok(written(data, message), etag)
}

/// The URL of a resource made by a POST to `posted_to`: the collection it was posted to (the
/// path without its trailing `/create`, or `/reply` for a reply, which lives on its ticket),
/// then `id`, if any.
pub fn location(posted_to: &poem::http::Uri, id: Option<&str>) -> String {
    let path = posted_to.path();
    let base = ["/create", "/reply"]
        .iter()
        .find_map(|suffix| path.strip_suffix(suffix))
        .unwrap_or(path);
    match id {
        Some(id) => format!("{base}/{id}"),
        None => base.to_string(),
    }
}

pub fn data<T: ParseFromJSON + ToJSON>(data: T) -> Json<Data<T>> {
    Json(Data { data })
}

pub fn written<T: ParseFromJSON + ToJSON>(data: T, message: &str) -> Json<Written<T>> {
    Json(Written {
        data,
        message: message.to_string(),
    })
}

pub fn created<T: ParseFromJSON + ToJSON + Send>(
    data: T,
    message: &str,
    location: String,
) -> Created<T> {
    Created::Created(written(data, message), location, None)
}

pub fn done(message: &str) -> Json<Done> {
    Json(Done {
        message: message.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_is_the_collection_then_the_id() {
        let uri = |path: &str| path.parse::<poem::http::Uri>().unwrap();
        let at = |path: &str, id| location(&uri(path), id);
        assert_eq!(at("/api/admin/tags/create", Some("7")), "/api/admin/tags/7");
        assert_eq!(
            at("/api/tickets", Some("ESC-00001")),
            "/api/tickets/ESC-00001"
        );
        assert_eq!(
            at("/api/tickets/create?x=1", Some("ESC-00002")),
            "/api/tickets/ESC-00002"
        );
        assert_eq!(
            at("/api/tickets/ESC-00003/reply", None),
            "/api/tickets/ESC-00003"
        );
    }
}
