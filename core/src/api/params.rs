//! Query parameters shared by list endpoints, checked to the contract (422 naming the field).

use poem_openapi::{
    payload::Json,
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};

use super::envelope::{PageMeta, Paged, paged};
use crate::error::{Error, FieldErrors};

pub const DEFAULT_PER_PAGE: i64 = 25;
pub const MAX_PER_PAGE: i64 = 100;

/// A checked `page` / `per_page` pair.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    pub fn parse(page: Option<i64>, per_page: Option<i64>) -> Result<PageRequest, Error> {
        let mut errors = FieldErrors::new();
        let page = page.unwrap_or(1);
        if page < 1 {
            errors.add("page", "The page must be at least 1.");
        }
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            errors.add(
                "per_page",
                format!("The per page must be between 1 and {MAX_PER_PAGE}."),
            );
        }
        errors.into_result()?;
        Ok(PageRequest { page, per_page })
    }

    pub fn limit(&self) -> i64 {
        self.per_page
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// This page of `items` as the list envelope, each as its API record, with the `total`.
    pub fn paged<T, R: From<T> + ParseFromJSON + ToJSON>(
        &self,
        items: Vec<T>,
        total: i64,
    ) -> Json<Paged<R>> {
        paged(
            items.into_iter().map(R::from).collect(),
            PageMeta::new(self.page, self.per_page, total),
        )
    }
}

/// A boolean query flag: `1`, `0`, `true` or `false`; anything else is 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl Type for Flag {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        "flag".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            enum_items: vec!["1".into(), "0".into(), "true".into(), "false".into()],
            description: Some("`1`/`true` turns the filter on; `0`/`false` leaves it off."),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for Flag {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        match value {
            "1" | "true" => Ok(Flag(true)),
            "0" | "false" => Ok(Flag(false)),
            _ => Err(ParseError::custom("expected 1, 0, true or false")),
        }
    }
}
