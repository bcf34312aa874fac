//! `scalar_type!`: poem-openapi's `Type` for a newtype documented as one inline schema (a
//! string of a format, a number, an enum of strings). The impl is the same for each such type
//! but for its name and schema; its parsing and writing stay with the type.

/// `scalar_type!(Flag, "flag", MetaSchema::new("string"))` implements `Type` for `Flag`.
macro_rules! scalar_type {
    ($ty:ty, $name:literal, $schema:expr) => {
        impl poem_openapi::types::Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                poem_openapi::registry::MetaSchemaRef::Inline(Box::new($schema))
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
    };
}

pub(crate) use scalar_type;
