//! A moment in an answer: RFC 3339 in UTC to the second (`2026-11-28T10:15:00Z`), documented
//! as `format: date-time`, so every timestamp field says what it is by its type rather than by
//! its name or a hand-written note.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

use crate::time::{self, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub Timestamp);

impl From<Timestamp> for DateTime {
    fn from(at: Timestamp) -> Self {
        DateTime(at)
    }
}

impl Type for DateTime {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
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

impl ToJSON for DateTime {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(time::rfc3339(self.0)))
    }
}

impl ParseFromJSON for DateTime {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(text)) => time::parse_rfc3339(&text)
                .map(DateTime)
                .ok_or_else(|| ParseError::custom("not an RFC 3339 date-time")),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
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
    }
}
