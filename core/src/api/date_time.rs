//! A moment: RFC 3339 (`2026-11-28T10:15:00Z`), documented as `format: date-time`, so every
//! timestamp field says what it is by its type rather than by its name or a hand-written note.
//! Answers write it in UTC to the second; a request may give any offset, and anything else is
//! a 422 naming the field (bodies are read by serde, hence `Deserialize`). `TimeOrDate` is the
//! query parameter that also takes a day.

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON},
};
use serde::{Deserialize, Deserializer, de};
use serde_json::Value;

use super::scalar_type::scalar_type;

use crate::time::{self, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub Timestamp);

impl From<Timestamp> for DateTime {
    fn from(at: Timestamp) -> Self {
        DateTime(at)
    }
}

scalar_type!(
    DateTime,
    "string_date-time",
    MetaSchema::new_with_format("string", "date-time")
);

impl ToJSON for DateTime {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(time::rfc3339(self.0)))
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        time::parse_rfc3339(&text)
            .map(DateTime)
            .ok_or_else(|| de::Error::custom(NOT_RFC3339))
    }
}

const NOT_RFC3339: &str = "expected an RFC 3339 date-time, e.g. 2027-01-31T12:00:00Z";

impl ParseFromJSON for DateTime {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(text)) => time::parse_rfc3339(&text)
                .map(DateTime)
                .ok_or_else(|| ParseError::custom(NOT_RFC3339)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

/// A query parameter that is an RFC 3339 date-time or a day (`2026-11-01`); what the day
/// stands for is the endpoint's to say. The text is kept and judged by the domain, whose 422
/// names the field.
#[derive(Debug, Clone)]
pub struct TimeOrDate(pub String);

scalar_type!(
    TimeOrDate,
    "string_date-time_or_date",
    MetaSchema {
        any_of: vec![
            MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time"))),
            MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date"))),
        ],
        ..MetaSchema::new("string")
    }
);

impl ParseFromParameter for TimeOrDate {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(TimeOrDate(value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_and_read_as_rfc3339_utc() {
        let at = DateTime(1_795_860_900);
        assert_eq!(at.to_json(), Some(Value::from("2026-11-28T10:15:00Z")));
        assert_eq!(
            DateTime::parse_from_json(at.to_json()).ok(),
            Some(DateTime(1_795_860_900))
        );
        assert!(DateTime::parse_from_json(Some(Value::from("yesterday"))).is_err());
        let read = |json: &str| serde_json::from_str::<DateTime>(json).ok();
        assert_eq!(
            read("\"2026-11-28T11:15:00+01:00\""),
            Some(DateTime(1_795_860_900))
        );
        assert_eq!(read("\"2026-11-28\""), None);
        assert_eq!(read("1795860900"), None);
    }
}
